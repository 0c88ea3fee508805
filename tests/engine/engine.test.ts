import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO, readTree, run } from "../support/run";
import { dockerTry } from "../support/docker";

const pinned = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
const providerVersion = (name: string) => JSON.parse(fs.readFileSync(path.join(REPO, `node_modules/@pulumi/${name}/package.json`), "utf8")).pulumi.version;

describe("the locally built Pulumi engine", () => {
  it("CLI and language host report the version pinned in package.json", () => {
    expect(run("pulumi", ["version"]).stdout.trim()).toBe(`v${pinned}`);
    const host = run("pulumi-language-nodejs", ["-version"]);
    expect(host.code, host.output).toBe(0);
    expect(host.stdout.trim()).toBe(`v${pinned}`);
    // The CLI runs the host beside it: the same folder holds the real CLI.
    const beside = path.join(path.dirname(run("which", ["pulumi-language-nodejs"]).stdout.trim()), "pulumi");
    expect(run(beside, ["version"]).stdout.trim()).toBe(`v${pinned}`);
  });

  it("has the three provider plugins at exactly the versions the npm packages ask for", () => {
    const ls = run("pulumi", ["plugin", "ls", "--json"]);
    expect(ls.code, ls.output).toBe(0);
    const plugins = (JSON.parse(ls.stdout) as { name: string; kind: string; version: string }[])
      .filter((p) => p.kind === "resource").map((p) => `${p.name} ${p.version}`);
    expect(plugins).toEqual(expect.arrayContaining(["command", "random", "docker"].map((n) => `${n} ${providerVersion(n)}`)));
    expect(["command 1.2.1", "random 4.21.1", "docker 5.0.0"].every((p) => plugins.includes(p))).toBe(true);
  });

  it("is configured never to download a plugin", () => {
    expect(process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION).toBe("true");
  });
});

// A throwaway copy of a fixture with the repo's node_modules linked in, so @pulumi/* resolve
// (ts-node does not compile programs that live under node_modules).
function fixtureCopy(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hyperscaler-${name}-`));
  fs.cpSync(path.join(REPO, "tests/fixtures", name), dir, { recursive: true });
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

describe("a program on the three real providers, run by the real engine on a file backend", () => {
  const secret = `pw-${Date.now()}-not-in-state`;
  const name = `hyperscaler-smoke-${process.pid}`;
  const project = fixtureCopy("engine-smoke");
  const policyPack = fixtureCopy("policy-smoke");
  const state = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-state-"));
  // Automatic plugin downloads on, but every HTTP(S) request goes to a closed loopback port:
  // a plugin the engine did not find locally would fail the run instead of being fetched.
  const env = { PULUMI_BACKEND_URL: `file://${state}`, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "false",
    HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9", NO_PROXY: "" };
  const pulumi = (...args: string[]) => run("pulumi", [...args, "--stack", "smoke", "--non-interactive"], { cwd: project, env });

  beforeAll(() => {
    expect(run("pulumi", ["stack", "init", "smoke"], { cwd: project, env }).code).toBe(0);
    for (const [k, v] of [["name", name], ["image", process.env.HYPERSCALER_BASE_IMAGE!]]) expect(pulumi("config", "set", k, v).code).toBe(0);
    expect(pulumi("config", "set", "--secret", "password", secret).code).toBe(0);
  });

  afterAll(() => {
    pulumi("destroy", "--yes");
    dockerTry(["rm", "-f", name]);
    dockerTry(["network", "rm", name]);
    for (const dir of [project, policyPack, state]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates one resource of each provider, then previews no changes, downloading nothing", () => {
    const up = pulumi("up", "--yes", "--skip-preview");
    expect(up.code, up.output).toBe(0);
    expect(up.output).toMatch(/\+ 7 created/); // stack, component, password, bytes, network, container, command
    expect(up.output).not.toMatch(/download|plugin install/i);
    const preview = pulumi("preview", "--expect-no-changes");
    expect(preview.code, preview.output).toBe(0);
  });

  it("the command fed the secret on stdin ran inside the container the docker provider made", () => {
    const out = JSON.parse(pulumi("stack", "output", "--json", "--show-secrets").stdout);
    expect(dockerTry(["inspect", "--format", "{{.State.Running}} {{.Id}}", name]).stdout.trim()).toBe(`true ${out.containerId}`);
    expect(out.keyDigest).toBe(createHash("sha256").update(out.keyValue).digest("hex"));
    expect(out.keyValue).toHaveLength(32);
  });

  it("keeps secrets encrypted in state, history and output", () => {
    const out = JSON.parse(pulumi("stack", "output", "--json", "--show-secrets").stdout);
    expect(JSON.parse(pulumi("stack", "output", "--json").stdout)).toMatchObject({ greeting: "hello", password: "[secret]", keyValue: "[secret]" });
    const tree = readTree(state);
    expect(tree).toContain("ciphertext");
    for (const s of [secret, out.keyValue, Buffer.from(out.keyValue).toString("base64")]) expect(tree).not.toContain(s);
  });

  it("shows why no key is a RandomBytes: random 4.21.1 makes its value the resource ID, in clear in state", () => {
    const out = JSON.parse(pulumi("stack", "output", "--json").stdout);
    expect(Buffer.from(out.probeId, "base64").toString("hex")).toBe(out.probeHex);
    expect(readTree(state)).toContain(`"id":"${out.probeId}"`);
    expect(fs.readFileSync(path.join(project, "Pulumi.smoke.yaml"), "utf8")).not.toContain(secret);
  });

  it("runs a Node.js policy pack: a mandatory violation fails the preview, a compliant program passes", () => {
    const pass = pulumi("preview", "--policy-pack", policyPack);
    expect(pass.code, pass.output).toBe(0);
    expect(pass.output).toMatch(/policy-smoke/);
    expect(pulumi("config", "set", "keyLength", "16").code).toBe(0);
    const fail = pulumi("preview", "--policy-pack", policyPack);
    expect(fail.code, fail.output).not.toBe(0);
    expect(fail.output).toMatch(/mandatory/);
    expect(fail.output).toMatch(/random-password-min-length/);
    expect(fail.output).toMatch(/RandomPassword of 16 characters: use 32 or more/);
    expect(pulumi("config", "rm", "keyLength").code).toBe(0);
  });

  it("destroys everything it created, the container and network included", () => {
    const r = pulumi("destroy", "--yes");
    expect(r.code, r.output).toBe(0);
    expect(JSON.parse(pulumi("stack", "export").stdout).deployment.resources ?? []).toEqual([]);
    expect(dockerTry(["inspect", name]).code).not.toBe(0);
    expect(dockerTry(["network", "inspect", name]).code).not.toBe(0);
  });
});
