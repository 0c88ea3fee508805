import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO, run } from "../support/run";

// stacks/start.js is what Pulumi runs: the program bundled by esbuild (stacks/bundle.js),
// the SDK's heavy imports deferred. Every e2e test runs the real program through it; these
// check what those cannot see: when it bundles, and what loads when.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- bundle.js is plain CommonJS, loaded as Pulumi loads it
const { programBundle } = require(path.join(REPO, "stacks/bundle.js")) as {
  programBundle: (entry: string, dir: string) => string;
};

function miniProgram(): { entry: string; dir: string; part: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-start-"));
  fs.mkdirSync(path.join(root, "stacks"));
  fs.mkdirSync(path.join(root, "components"));
  const part = path.join(root, "components/part.ts");
  fs.writeFileSync(part, `export const answer: number = 41;\n`);
  fs.writeFileSync(path.join(root, "tsconfig.json"), `{ "compilerOptions": { "strict": true } }\n`);
  const entry = path.join(root, "stacks/index.ts");
  fs.writeFileSync(entry, `import * as path from "node:path";\nimport { answer } from "../components/part";\nexport = () => ({ answer, images: path.resolve(__dirname, "../../images") });\n`);
  return { entry, dir: path.join(root, "stacks/.bundle"), part };
}

const runBundle = (file: string) => JSON.parse(run("node", ["-e", `console.log(JSON.stringify(require(${JSON.stringify(file)})()))`]).stdout);

describe("the program's start (stacks/start.js)", () => {
  it("bundles the program, and again only when one of its sources changed", () => {
    const { entry, dir, part } = miniProgram();
    const file = programBundle(entry, dir);
    const root = path.dirname(path.dirname(entry));
    // `export =` is the module's export; __dirname-relative paths resolve as from components/<x>/.
    expect(runBundle(file)).toEqual({ answer: 41, images: path.join(root, "images") });
    const made = fs.statSync(file).mtimeMs;
    expect(programBundle(entry, dir)).toBe(file);
    expect(fs.statSync(file).mtimeMs).toBe(made);
    fs.writeFileSync(part, `export const answer: number = 42;\n`);
    programBundle(entry, dir);
    expect(runBundle(file).answer).toBe(42);
    // esbuild reads settings from the project's tsconfig.json: a change there bundles again too.
    const remade = fs.statSync(file).mtimeMs;
    fs.writeFileSync(path.join(root, "tsconfig.json"), `{ "compilerOptions": { "strict": false } }\n`);
    programBundle(entry, dir);
    expect(fs.statSync(file).mtimeMs).toBeGreaterThan(remade);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("names the file and line of a source that does not parse", () => {
    const { entry, dir, part } = miniProgram();
    fs.writeFileSync(part, `export const answer: number = ;\n`);
    expect(() => programBundle(entry, dir)).toThrow(/components\/part\.ts:1:/);
    fs.rmSync(path.dirname(path.dirname(entry)), { recursive: true, force: true });
  });

  it("loads @pulumi/pulumi without TypeScript and npm's arborist, which load when a function is serialized", () => {
    const probe = `
      require(${JSON.stringify(path.join(REPO, "stacks/bundle.js"))}).deferSdkImports();
      const loaded = (m) => Object.keys(require.cache).some((k) => k.includes("/node_modules/" + m + "/"));
      const pulumi = require("@pulumi/pulumi");
      const atStart = { typescript: loaded("typescript"), arborist: loaded("@npmcli/arborist") };
      pulumi.runtime.serializeFunction(() => 6 * 7).then((f) => console.log(JSON.stringify({ atStart, serialized: f.text.includes("6 * 7"), typescript: loaded("typescript") })));`;
    const r = run("node", ["-e", probe], { cwd: REPO });
    expect(r.code, r.output).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ atStart: { typescript: false, arborist: false }, serialized: true, typescript: true });
  });

  it("reaches the SDK's debuggablePromise through its module, so that the program can switch the leak report's wrapping off (stacks/index.ts)", () => {
    const probe = `
      const debuggable = require("@pulumi/pulumi/runtime/debuggable");
      let calls = 0;
      debuggable.debuggablePromise = (p) => { calls++; return p; };
      const pulumi = require("@pulumi/pulumi");
      pulumi.runtime.setMocks({ newResource: (a) => ({ id: "x", state: a.inputs }), call: () => ({}) }, "p", "s", false);
      const thing = new pulumi.CustomResource("test:index:Thing", "t", { size: 1, out: undefined });
      thing.urn.apply(() => setTimeout(() => console.log(calls), 100));`;
    const r = run("node", ["-e", probe], { cwd: REPO });
    expect(r.code, r.output).toBe(0);
    // Four per output property (value, known, secret, dependencies), and more for the registration.
    expect(Number(r.stdout.trim())).toBeGreaterThanOrEqual(4 * 2);
  });
});
