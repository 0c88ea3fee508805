// What Pulumi runs (Pulumi.yaml: `main`, with `typescript: false`): the program in
// stacks/index.ts, bundled by esbuild (stacks/bundle.js), with the SDK's heavy imports
// deferred. Against ts-node, this takes about 0.8 s off every preview and update
// (bench/engine.bench.ts). Type checking stays `npm test`'s job (tsc --noEmit), as before.
"use strict";
const path = require("node:path");
const { deferSdkImports, programBundle } = require("./bundle");

deferSdkImports();
let program;
try {
  // Two levels below the project root, like components/images/: the program's
  // `__dirname`-relative paths (the images' build context) hold in the bundle.
  program = programBundle(path.join(__dirname, "index.ts"), path.join(__dirname, ".bundle"));
} catch (e) {
  // esbuild's message names the file, line and what it could not read; Pulumi prints a RunError without a stack.
  const { RunError } = require("@pulumi/pulumi/errors");
  throw new RunError(`the program (stacks/index.ts) did not build: ${e.message}`);
}
if (process.env.HYPERSCALER_STACK_TRACES) process.setSourceMapsEnabled(true);
module.exports = require(program);
