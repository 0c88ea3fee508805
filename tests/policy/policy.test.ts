import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { freePort, REPO, run, tempBackend } from "../support/run";
import { ok, TestProject } from "../support/stack";

// The policy pack in policy/, run the way npm test and the pull-request workflow run it:
// `pulumi preview --policy-pack policy`. Previews only: nothing is deployed.
const PACK = path.join(REPO, "policy");

describe("each policy fails a stack that breaks it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-policy-breakers-"));
  fs.cpSync(path.join(REPO, "tests/fixtures/policy-breakers"), dir, { recursive: true });
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  const backend = tempBackend();
  // Named prod: the data-volume rule applies to prod by default.
  const pulumi = (...args: string[]) => run("pulumi", [...args, "--stack", "prod", "--non-interactive"], { cwd: dir, env: backend.env });
  ok(pulumi("stack", "init"));
  ok(pulumi("config", "set", "name", `policy-${process.pid}`));
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(backend.dir, { recursive: true, force: true });
  });
  const previewBreaking = (breaks: string) => {
    ok(pulumi("config", "set", "break", breaks));
    return pulumi("preview", "--policy-pack", PACK);
  };

  it("passes the same resources with nothing broken", () => {
    const r = previewBreaking("none");
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Policies:\s+✅ hyperscaler@v0\.1\.0/);
  });

  it.each([
    ["privileged", "no-privileged-containers", /container 'policy-\d+' is privileged/],
    ["capabilities", "capabilities-dropped", /does not drop ALL capabilities[\s\S]*adds CAP_SYS_ADMIN/],
    ["role-capability", "capabilities-dropped", /container 'policy-\d+-backup-repository' adds CAP_SYS_CHROOT/],
    ["public-port", "ports-on-loopback", /publishes port 18080 on 0\.0\.0\.0: bind 127\.0\.0\.1/],
    ["latest-image", "images-pinned", /runs image 'debian:latest', which is not pinned/],
    ["untagged-image", "images-pinned", /image 'debian' is not pinned/],
    ["unprotected-volume", "data-volumes-protected", /volume 'policy-\d+-slurmctld-state' holds data but is not protected in stack 'prod'/],
    ["unprotected-accounting-volume", "data-volumes-protected", /volume 'policy-\d+-mariadb-data' holds data but is not protected in stack 'prod'/],
    ["literal-secret", "secrets-from-random", /gets APP_PASSWORD from no random resource/],
  ])("breaking %s fails the preview on %s, mandatory", (breaks, policy, message) => {
    const r = previewBreaking(breaks);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(new RegExp(`\\[mandatory\\]\\s+${policy}`));
    expect(r.output).toMatch(message);
    // The secret a rule names is never printed.
    expect(r.output).not.toContain("hunter2-hard-coded");
  });

  it("shows the violations in the preview report, which exits 1", () => {
    ok(pulumi("config", "set", "break", "privileged"));
    const r = run("npx", ["tsx", path.join(REPO, "scripts/preview-report.ts"), "--stack", "prod"], { cwd: dir, env: backend.env });
    expect(r.code, r.output).toBe(1);
    expect(r.stdout).toMatch(/\*\*Policy violations\*\*\n- ⛔ \[mandatory\] hyperscaler\/no-privileged-containers on `node`: .*privileged/);
    // What the change would do is still reported.
    expect(r.stdout).toMatch(/\*\*7 to create, 0 to update/);
    ok(pulumi("config", "set", "break", "none"));
    const clean = run("npx", ["tsx", path.join(REPO, "scripts/preview-report.ts"), "--stack", "prod"], { cwd: dir, env: backend.env });
    expect(clean.code, clean.output).toBe(0);
    expect(clean.stdout).not.toMatch(/Policy violations/);
  });

  it("allows a secret from config where the pack's config names the resource", () => {
    ok(pulumi("config", "set", "break", "literal-secret"));
    const config = path.join(dir, "policy-config-secrets.json");
    fs.writeFileSync(config, JSON.stringify({ "secrets-from-random": { configSecrets: ["node"] } }));
    const r = pulumi("preview", "--policy-pack", PACK, "--policy-pack-config", config);
    expect(r.code, r.output).toBe(0);
  });

  it("allows a public port when the pack's config says so", () => {
    ok(pulumi("config", "set", "break", "public-port"));
    const config = path.join(dir, "policy-config.json");
    fs.writeFileSync(config, JSON.stringify({ "ports-on-loopback": { allowPublicPorts: true } }));
    const r = pulumi("preview", "--policy-pack", PACK, "--policy-pack-config", config);
    expect(r.code, r.output).toBe(0);
  });
});

describe("the project's own stacks pass the pack", () => {
  const project = new TestProject();
  afterAll(() => project.remove());

  it.each(["dev", "prod"])("Pulumi.%s.yaml previews with no violation", (source) => {
    const stack = `${source}${process.pid}`;
    const config = parseYaml(fs.readFileSync(path.join(REPO, `Pulumi.${source}.yaml`), "utf8")).config;
    config["hyperscaler:clusterName"] = `pol${source}${process.pid}`;
    const gpu = config["hyperscaler:nodeGroups"].gpu;
    // No GPU or container toolkit on this host: stand-in device files.
    if (gpu) gpu.gpus = { ...gpu.gpus, access: "devices", hostDevices: Array.from({ length: gpu.gpus.count }, () => "/dev/null"), controlDevices: [] };
    config["hyperscaler:overcommit"] = { cpu: 100, memory: 10 };
    // Its web UIs' 127.0.0.1 ports (9090, 9093) belong to a dev stack running beside the tests: free ones, still published.
    const monitoring = config["hyperscaler:monitoring"];
    if (monitoring) for (const ui of ["prometheus", "alertmanager"]) monitoring[ui] = { ...monitoring[ui], port: freePort() };
    // prod refuses the published dev passphrase.
    const env = { PULUMI_CONFIG_PASSPHRASE: `policy-test-${process.pid}` };
    ok(project.pulumiWithEnv(stack, env, "stack", "init"));
    fs.appendFileSync(path.join(project.dir, `Pulumi.${stack}.yaml`), toYaml({ config }));
    const packConfig = path.join(project.dir, `policy-${stack}.json`);
    // The prod copy stands for prod: the data-volume rule applies to it (and not to dev).
    fs.writeFileSync(packConfig, JSON.stringify({ "data-volumes-protected": { protectedStacks: source === "prod" ? [stack] : ["prod"] } }));
    const r = project.pulumiWithEnv(stack, env, "preview", "--policy-pack", PACK, "--policy-pack-config", packConfig);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Policies:\s+✅ hyperscaler@v0\.1\.0/);
  });
});
