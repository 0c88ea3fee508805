import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, leakedSecrets, readTree, REPO, run } from "../support/run";
import { docker, dockerTry } from "../support/docker";

// The three provider plugins this machine has (built from providers/, or downloaded),
// driven by the real engine through every step of a resource's life the project relies
// on, with the resources and properties its components use. Each expectation is also
// upstream's documented behaviour: @pulumi/docker replaces a container on a new image,
// env or command and updates memory in place; @pulumi/command runs `update` (else
// `create`) on an input change, replaces on a trigger change and runs the stored `delete`;
// @pulumi/random replaces on any input change (keepers included); none prints a secret.
// conf<pid>: the interrupt cleanup (tests/support/interrupt-cleanup.ts) knows the name.
const name = `conf${process.pid}`;
const port = freePort();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-conformance-"));
fs.cpSync(path.join(REPO, "tests/fixtures/provider-conformance"), dir, { recursive: true });
fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
const state = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-state-"));
const log = path.join(dir, "commands.log");
const env = { PULUMI_BACKEND_URL: `file://${state}` };
const pulumi = (...args: string[]) => run("pulumi", [...args, "--stack", "conformance", "--non-interactive"], { cwd: dir, env });
const ok = (r: ReturnType<typeof run>) => { expect(r.code, r.output).toBe(0); return r; };
const set = (key: string, value: string) => ok(pulumi("config", "set", key, value));
const outputs = () => JSON.parse(ok(pulumi("stack", "output", "--json", "--show-secrets")).stdout);
const inspect = (format: string, object = `${name}-box`) => docker(["inspect", "--format", format, object]).trim();
const logLines = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
/** What a preview would do, by resource name: the engine's own plan, as JSON. */
const planned = () => {
  const steps = JSON.parse(ok(pulumi("preview", "--json")).stdout).steps as { op: string; urn: string }[];
  return Object.fromEntries(steps.filter((s) => s.op !== "same").map((s) => [s.urn.split("::").pop()!, s.op]));
};
const secrets: Record<string, string> = {};

describe("the provider plugins, as the project uses them", () => {
  beforeAll(() => {
    ok(run("pulumi", ["stack", "init", "conformance"], { cwd: dir, env }));
    set("name", name);
    set("log", log);
    set("image", process.env.HYPERSCALER_BASE_IMAGE!);
    set("port", String(port));
  });

  afterAll(() => {
    pulumi("destroy", "--yes");
    dockerTry(["rm", "-f", `${name}-box`]);
    dockerTry(["network", "rm", `${name}-net`]);
    dockerTry(["volume", "rm", `${name}-data`, `${name}-adopted`]);
    for (const id of new Set(dockerTry(["images", "-q", "--filter", `label=conformance=${name}`]).stdout.split(/\s+/).filter(Boolean))) dockerTry(["rmi", "-f", id]);
    for (const d of [dir, state]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("creates each resource, then previews no change", () => {
    const up = ok(pulumi("up", "--yes", "--skip-preview"));
    expect(up.output).toMatch(/\+ 10 created/); // stack, provider, two passwords, image, network, volume, container, two commands
    ok(pulumi("preview", "--expect-no-changes"));
    const out = outputs();
    secrets.password = out.passwordValue;
    expect(out.passwordValue).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(out.keyValue).toMatch(/^[A-Za-z0-9]{1024}$/);
    secrets.key = out.keyValue;
    expect(inspect("{{.State.Running}} {{.Id}} {{.HostConfig.Memory}} {{.Config.Image}}")).toBe(`true ${out.containerId} ${64 * 1024 * 1024} ${out.imageId}`);
    expect(inspect("{{json .HostConfig.CapDrop}} {{json .HostConfig.CapAdd}} {{json .HostConfig.PortBindings}}"))
      .toBe(`["ALL"] ["CAP_CHOWN"] {"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":"${port}"}]}`);
    expect(docker(["exec", `${name}-box`, "sh", "-c", "cat /stamp; echo $APP_PASSWORD; mountpoint -q /data && echo mounted"]).trim().split("\n"))
      .toEqual(["1", out.passwordValue, "mounted"]);
    expect(inspect("{{index .Labels \"conformance\"}}", `${name}-data`)).toBe(name);
    expect(inspect("{{.Driver}}", `${name}-net`)).toBe("bridge");
    expect(out.echoed).toEqual({ stdout: "out", stderr: "err" });
    expect(logLines()).toEqual([expect.stringMatching(new RegExp(`^create [0-9a-f]{16} ${out.containerId.slice(0, 12)}$`))]);
  });

  it("updates a container's memory in place: the same container, the new limit", () => {
    const before = outputs().containerId;
    set("memoryMiB", "96");
    expect(planned()).toEqual({ box: "update" });
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(inspect("{{.Id}} {{.HostConfig.Memory}}")).toBe(`${before} ${96 * 1024 * 1024}`);
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("runs a command's update, with the previous output in its environment, when its stdin changes", () => {
    const before = JSON.parse(ok(pulumi("stack", "export")).stdout).deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::deliver")).id;
    set("extra", "more");
    expect(planned()).toEqual({ deliver: "update" });
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(logLines()[1]).toMatch(/^update [0-9a-f]{16} previous=$/);
    expect(logLines()[1].split(" ")[1]).not.toBe(logLines()[0].split(" ")[1]);
    expect(outputs().deliveredStdout).toBe("updated");
    const after = JSON.parse(ok(pulumi("stack", "export")).stdout).deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::deliver")).id;
    expect(after).toBe(before);
  });

  it("replaces a command when a trigger changes: create runs, then the old delete with its output", () => {
    set("trigger", "2");
    expect(planned()).toEqual({ deliver: "replace" });
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(logLines().slice(2)).toEqual([expect.stringMatching(/^create /), "delete updated"]);
  });

  it("replaces the password when a keeper changes, and the container that gets it", () => {
    const before = outputs();
    set("epoch", "2");
    expect(planned()).toMatchObject({ password: "replace", box: "replace", deliver: "update" });
    ok(pulumi("up", "--yes", "--skip-preview"));
    const after = outputs();
    secrets.rotated = after.passwordValue;
    expect(after.passwordValue).not.toBe(before.passwordValue);
    expect(after.containerId).not.toBe(before.containerId);
    expect(docker(["exec", `${name}-box`, "printenv", "APP_PASSWORD"]).trim()).toBe(after.passwordValue);
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("rebuilds the image when its trigger changes, and replaces the container on it", () => {
    const before = outputs();
    set("stamp", "2");
    expect(planned()).toMatchObject({ image: "replace", box: "replace" });
    ok(pulumi("up", "--yes", "--skip-preview"));
    const after = outputs();
    expect(after.imageId).not.toBe(before.imageId);
    expect(docker(["exec", `${name}-box`, "cat", "/stamp"]).trim()).toBe("2");
  });

  it("shows a change made by hand on refresh, and the next up puts it back", () => {
    docker(["update", "--memory", "128m", "--memory-swap", "128m", `${name}-box`]);
    const refresh = ok(pulumi("refresh", "--yes", "--skip-preview", "--diff"));
    expect(refresh.output).toMatch(/~ 1 updated/);
    expect(planned()).toEqual({ box: "update" });
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(inspect("{{.HostConfig.Memory}}")).toBe(String(96 * 1024 * 1024));
  });

  it("forgets a container removed by hand on refresh, and the next up makes it again", () => {
    docker(["rm", "-f", `${name}-box`]);
    ok(pulumi("refresh", "--yes", "--skip-preview"));
    expect(planned()).toMatchObject({ box: "create" });
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(inspect("{{.State.Running}}")).toBe("true");
  });

  it("imports a volume that exists, as the components adopt volumes, and leaves it as it was", () => {
    docker(["volume", "create", "--label", `conformance=${name}`, `${name}-adopted`]);
    docker(["run", "--rm", "-v", `${name}-adopted:/v`, process.env.HYPERSCALER_BASE_IMAGE!, "sh", "-c", "echo kept > /v/file"]);
    set("adopt", "true");
    const up = ok(pulumi("up", "--yes", "--skip-preview"));
    expect(up.output).toMatch(/= 1 imported/);
    ok(pulumi("preview", "--expect-no-changes"));
    expect(docker(["run", "--rm", "-v", `${name}-adopted:/v`, process.env.HYPERSCALER_BASE_IMAGE!, "cat", "/v/file"]).trim()).toBe("kept");
  });

  it("keeps every secret out of state, history, config and what the commands printed", () => {
    const text = readTree(state) + fs.readFileSync(path.join(dir, "Pulumi.conformance.yaml"), "utf8") + fs.readFileSync(log, "utf8");
    expect(Object.keys(secrets)).toEqual(["password", "key", "rotated"]);
    expect(leakedSecrets(text, secrets)).toEqual([]);
    expect(JSON.parse(ok(pulumi("stack", "output", "--json")).stdout)).toMatchObject({ passwordValue: "[secret]", deliveredStdout: "[secret]" });
  });

  it("says which command failed and what it printed, with the secret it was given masked", () => {
    set("fail", "on purpose");
    set("trigger", "3");
    const up = pulumi("up", "--yes", "--skip-preview");
    expect(up.code).not.toBe(0);
    expect(up.output).toMatch(/exit status 3: running "\[ -z \\"\$FAIL\\" \][^]*refused: on purpose\s+\[secret\]/);
    expect(leakedSecrets(up.output, secrets)).toEqual([]);
    ok(pulumi("config", "rm", "fail"));
    ok(pulumi("up", "--yes", "--skip-preview"));
  });

  it("deletes everything, running the command's delete, and leaves no container, network or volume behind", () => {
    ok(pulumi("destroy", "--yes", "--skip-preview"));
    expect(JSON.parse(ok(pulumi("stack", "export")).stdout).deployment.resources ?? []).toEqual([]);
    expect(logLines().pop()).toMatch(/^delete\b/);
    for (const object of [`${name}-box`, `${name}-net`, `${name}-data`]) expect(dockerTry(["inspect", object]).code).not.toBe(0);
  });
});
