// How stacks/start.js gets the program ready to run fast: one esbuild bundle of the
// TypeScript program, made again only when a source changed, and the SDK's heavy imports
// deferred. Plain JavaScript: it runs before anything could compile TypeScript.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

/** Modules @pulumi/pulumi loads at once but uses only to serialize a function (dynamic providers) or list its packages: about 0.6 s here. */
const LAZY_IN_SDK = new Set(["@npmcli/arborist", "typescript"]);

/**
 * Has @pulumi/pulumi's requires of LAZY_IN_SDK return a stand-in that loads the module at
 * its first use. A module that is not installed is left to the SDK's own fallback.
 */
function deferSdkImports() {
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    if (!LAZY_IN_SDK.has(request) || !/[\\/]@pulumi[\\/]pulumi[\\/]/.test(parent?.filename ?? "")) return load.apply(this, arguments);
    try {
      Module._resolveFilename(request, parent, isMain);
    } catch {
      return load.apply(this, arguments);
    }
    let loaded;
    const real = () => (loaded ??= load.call(Module, request, parent, isMain));
    return new Proxy({}, {
      // `__esModule` keeps TypeScript's import helpers from copying it (which would load it) at once.
      get: (_, key) => (key === "__esModule" ? true : Reflect.get(real(), key)),
      has: (_, key) => Reflect.has(real(), key),
      ownKeys: () => Reflect.ownKeys(real()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(real(), key);
        return d && { ...d, configurable: true };
      },
    });
  };
}

const sha256 = (data) => crypto.createHash("sha256").update(data).digest("hex");
const esbuildVersion = () => require("esbuild/package.json").version;

/** `dir`/index.js if it was bundled by this esbuild from sources that are all unchanged. */
function freshBundle(dir) {
  let record;
  try {
    record = JSON.parse(fs.readFileSync(path.join(dir, "sources.json"), "utf8"));
  } catch {
    return undefined;
  }
  if (record.esbuild !== esbuildVersion()) return undefined;
  for (const [file, hash] of Object.entries(record.sources)) {
    let text;
    try {
      text = fs.readFileSync(path.join(dir, file));
    } catch {
      return undefined;
    }
    if (sha256(text) !== hash) return undefined;
  }
  return path.join(dir, "index.js");
}

/**
 * Bundles `entry` into `dir`/index.js (packages stay in node_modules; a source map inline)
 * and records each source's hash. Written under a new name and renamed: programs starting
 * side by side never read half a file.
 */
function bundle(entry, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const tmp = (name) => path.join(dir, `${name}.${process.pid}.tmp`);
  const result = require("esbuild").buildSync({
    entryPoints: [entry], outfile: tmp("index.js"), bundle: true, platform: "node", target: "node20", format: "cjs",
    packages: "external", sourcemap: "inline", metafile: true, logLevel: "silent",
  });
  // The tsconfig files esbuild read settings from count as sources too (the entry's folder's, and the project's it extends).
  const configs = [path.dirname(entry), path.dirname(path.dirname(entry))].map((d) => path.join(d, "tsconfig.json")).filter((f) => fs.existsSync(f));
  const sources = Object.fromEntries([...Object.keys(result.metafile.inputs).map((input) => path.resolve(input)), ...configs].map((source) => {
    const file = path.relative(dir, source);
    return [file, sha256(fs.readFileSync(source))];
  }));
  fs.renameSync(tmp("index.js"), path.join(dir, "index.js"));
  fs.writeFileSync(tmp("sources.json"), JSON.stringify({ esbuild: esbuildVersion(), sources }, null, 1));
  fs.renameSync(tmp("sources.json"), path.join(dir, "sources.json"));
  return path.join(dir, "index.js");
}

/** The program as one current bundle in `dir`: the one there if its sources are unchanged, else a new one. */
function programBundle(entry, dir) {
  return freshBundle(dir) ?? bundle(entry, dir);
}

module.exports = { deferSdkImports, programBundle };
