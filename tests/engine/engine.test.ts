import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO, readTree, run, tempBackend, tempProject } from "../support/run";

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

describe("the hyperscaler stack program", () => {
  let backend: ReturnType<typeof tempBackend>;
  let project: string;
  const pulumi = (stack: string, ...args: string[]) =>
    run("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: project, env: backend.env });
  const stackWith = (stack: string, config: string) => {
    expect(pulumi(stack, "stack", "init").code).toBe(0);
    fs.appendFileSync(path.join(project, `Pulumi.${stack}.yaml`), `config:\n${config}`);
  };

  beforeAll(() => {
    backend = tempBackend();
    project = tempProject();
  });
  afterAll(() => {
    fs.rmSync(backend.dir, { recursive: true, force: true });
    fs.rmSync(project, { recursive: true, force: true });
  });

  it("refuses a stack that requires a real passphrase when the dev default is in use", () => {
    stackWith("prodlike", "  hyperscaler:clusterName: prodlike\n  hyperscaler:requireRealPassphrase: true\n");
    const r = pulumi("prodlike", "preview");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/requires its own secrets passphrase .*export PULUMI_CONFIG_PASSPHRASE/s);
  });

  it("reports bad config by path before registering any resource", () => {
    stackWith("badcfg", "  hyperscaler:clusterName: Bad_Name\n  hyperscaler:clusterNmae: typo\n");
    const r = pulumi("badcfg", "up", "--yes", "--skip-preview");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/hyperscaler:clusterName: must be a lowercase DNS label .*given: "Bad_Name"/);
    expect(r.output).toMatch(/unknown key 'clusterNmae'/);
    const resources = JSON.parse(pulumi("badcfg", "stack", "export").stdout).deployment.resources ?? [];
    expect(resources.filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });

  it("deploys the dev stack's manifest with no secret in it", () => {
    stackWith("devlike", "  hyperscaler:clusterName: devlike\n");
    const r = pulumi("devlike", "up", "--yes", "--skip-preview");
    expect(r.code, r.output).toBe(0);
    const out = JSON.parse(pulumi("devlike", "stack", "output", "manifest", "--json").stdout);
    expect(out).toEqual({ cluster: "devlike", baseImage: "hyperscaler/debian-base:bookworm", protect: false });
    expect(pulumi("devlike", "destroy", "--yes").code).toBe(0);
  });
});
