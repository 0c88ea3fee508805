import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO, readTree, run, tempBackend } from "../support/run";

const pinned = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];

describe("the locally built Pulumi engine", () => {
  it("reports the version pinned in package.json", () => {
    const r = run("pulumi", ["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`v${pinned}`);
  });

  it("is configured never to download a plugin", () => {
    expect(process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION).toBe("true");
    expect(run("which", ["pulumi-language-nodejs"]).code).toBe(0);
  });
});

describe("a program run by the real engine on a file backend", () => {
  const secret = `pw-${Date.now()}-not-in-state`;
  let project: string;
  let backend: ReturnType<typeof tempBackend>;
  const pulumi = (...args: string[]) => run("pulumi", [...args, "--stack", "smoke", "--non-interactive"], { cwd: project, env: backend.env });

  beforeAll(() => {
    // A copy of the fixture with the repo's node_modules linked in, so @pulumi/pulumi resolves
    // (ts-node does not compile programs that live under node_modules).
    project = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-smoke-"));
    fs.cpSync(path.join(REPO, "tests/fixtures/engine-smoke"), project, { recursive: true });
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(project, "node_modules"));
    backend = tempBackend();
    expect(run("pulumi", ["stack", "init", "smoke"], { cwd: project, env: backend.env }).code).toBe(0);
    expect(pulumi("config", "set", "--secret", "password", secret).code).toBe(0);
  });

  afterAll(() => {
    pulumi("destroy", "--yes");
    fs.rmSync(project, { recursive: true, force: true });
    fs.rmSync(backend.dir, { recursive: true, force: true });
  });

  it("deploys, then previews no changes", () => {
    const up = pulumi("up", "--yes", "--skip-preview");
    expect(up.code, up.output).toBe(0);
    expect(up.output).toMatch(/\+ 3 created/); // stack, component, dynamic resource
    const preview = pulumi("preview", "--expect-no-changes");
    expect(preview.code, preview.output).toBe(0);
  });

  it("keeps secrets encrypted in state, history and output", () => {
    const out = JSON.parse(pulumi("stack", "output", "--json").stdout);
    expect(out).toEqual({ greeting: "hello", password: "[secret]" });
    const state = readTree(backend.dir);
    expect(state).toContain("ciphertext");
    expect(state).not.toContain(secret);
    expect(fs.readFileSync(path.join(project, "Pulumi.smoke.yaml"), "utf8")).not.toContain(secret);
  });

  it("destroys everything it created", () => {
    const r = pulumi("destroy", "--yes");
    expect(r.code, r.output).toBe(0);
    const resources = JSON.parse(pulumi("stack", "export").stdout).deployment.resources ?? [];
    expect(resources).toEqual([]);
  });
});
