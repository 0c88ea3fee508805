import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leakedSecrets, readTree, REPO, run } from "../support/run";
import { ok, TestProject, SHARED_CPUS } from "../support/stack";
import { docker } from "../support/docker";
import { jobState, nodeNames } from "../support/slurm";
import { waitFor } from "../support/wait";

// What CI, reviewers and auditors see, on a real stack: the preview report names what
// SLURM must do and the jobs a change touches; scripts/up.sh records who and why; the
// audit report reads it back from stack history; no secret appears in any of it.
const stack = `cc${process.pid}`;
const project = new TestProject();
const ctl = (...cmd: string[]) => docker(["exec", `${stack}-controller`, ...cmd]);
const tsx = (script: string, ...args: string[]) =>
  run(path.join(REPO, "node_modules/.bin/tsx"), [path.join(REPO, "scripts", script), ...args], { cwd: project.dir, env: project.backend.env });
const up = (reason: string) =>
  ok(run("bash", [path.join(REPO, "scripts/up.sh"), "--stack", stack, "--reason", reason, "--yes", "--non-interactive"],
    { cwd: project.dir, env: { ...project.backend.env, HYPERSCALER_OPERATOR: "alice" } }));
const report = () => tsx("preview-report.ts", "--stack", stack);
const outputs: string[] = [];
const git = (...args: string[]) => ok(run("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { cwd: project.dir }));
/** What a rollback could change: the stack's history, its config file, the checkout, the containers. */
const everythingRollbackCouldChange = () => ({
  history: ok(project.pulumi(stack, "stack", "history", "--json")).stdout,
  stackFile: fs.readFileSync(path.join(project.dir, `Pulumi.${stack}.yaml`), "utf8"),
  checkout: git("status", "--porcelain").stdout + git("rev-parse", "HEAD").stdout + git("worktree", "list").stdout,
  containers: docker(["ps", "-a", "--filter", `label=hyperscaler.cluster=${stack}`, "--format", "{{.Names}} {{.ID}} {{.State}}"]).split("\n").sort(),
});
/** A stack output, or undefined when the program that ran last did not export it. */
const outputOf = (name: string) => JSON.parse(ok(project.pulumi(stack, "stack", "output", "--json")).stdout)[name];

beforeAll(() => {
  // A git checkout, so that each update records the commit it ran from (rollback uses it).
  // The program is a copy of its own, so that a commit can change it (the rest stays linked).
  fs.rmSync(path.join(project.dir, "stacks"));
  fs.cpSync(path.join(REPO, "stacks"), path.join(project.dir, "stacks"), { recursive: true });
  git("init", "-q"); git("add", "-A"); git("commit", "-qm", "program");
  project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 2\n      memoryMiB: 256\n` + SHARED_CPUS);
  up("initial deploy");
});
afterAll(() => {
  project.pulumi(stack, "destroy", "--yes");
  project.remove();
});

describe("change control", () => {
  it("reports a scale-up: the added node, what SLURM does, nothing risky", () => {
    project.setConfig(stack, "nodeGroups.cpu.count", "3");
    const r = ok(report());
    outputs.push(r.stdout);
    expect(r.stdout).toMatch(/\*\*2 to create, 1 to update, 0 to replace, 0 to delete\*\*/);
    expect(r.stdout).toContain("cpu003 joins SLURM as a dynamic node (no daemon restarts) and runs a job step");
    expect(r.stdout).toContain("run a job step across every compute node");
    expect(r.stdout).not.toContain("Risky");
    up("more capacity for the course");
  });

  it("fails a report whose engine does not answer, with the preflight's error that names the fix", () => {
    const r = run(path.join(REPO, "node_modules/.bin/tsx"), [path.join(REPO, "scripts/preview-report.ts"), "--stack", stack],
      { cwd: project.dir, env: { ...project.backend.env, DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pulumi preview failed \(exit 1\):\n[\s\S]*the Docker engine did not answer \(.*unix:\/\/\/nonexistent\/docker\.sock.*\); run scripts\/setup\.sh/);
  });

  it("reports a MUNGE rotation as risky, with munged restarted on every node", () => {
    project.setConfig(stack, "rotation.mungeKeyEpoch", "1");
    const r = ok(report());
    outputs.push(r.stdout);
    const actions = r.stdout.split("**What SLURM must do**")[1].split("\n\n")[0];
    expect(actions.trim().split("\n")).toEqual([
      "- pause scheduling while the key is swapped (UP partitions set DOWN: new jobs wait in the queue, running jobs carry on)",
      "- install the new MUNGE key and restart munged on cpu[001-003],controller (running jobs carry on)",
      "- resume scheduling on the partitions it paused",
      "- run a job step across every compute node to prove the result",
    ]);
    expect(r.stdout).toContain("⚠️ rotates the MUNGE key (secret)");
    up("quarterly key rotation");
  });

  it("reports a scale-in with the running job it touches", async () => {
    const job = ctl("sbatch", "--parsable", "-J", "training", "-w", "cpu003", "--wrap", "sleep 25").trim();
    await waitFor("job to start", () => jobState(ctl, job) === "RUNNING");
    project.setConfig(stack, "nodeGroups.cpu.count", "2");
    const r = ok(report());
    outputs.push(r.stdout);
    expect(r.stdout).toContain("drain cpu003, wait for its jobs, delete it from SLURM, then remove its container");
    expect(r.stdout).toContain("⚠️ removes compute node cpu003");
    expect(r.stdout).toMatch(new RegExp(`job ${job} \\(root, training\\) on cpu003`));
    up("course over");
    expect(jobState(ctl, job)).toBe("COMPLETED");
  });

  it("audits every update: who, why, changes, node counts, key epochs and fingerprints", () => {
    const md = ok(tsx("audit.ts", "--stack", stack)).stdout;
    const records = JSON.parse(ok(tsx("audit.ts", "--stack", stack, "--json")).stdout);
    outputs.push(md, JSON.stringify(records));
    expect(records.map((r: { why: string }) => r.why)).toEqual(["initial deploy", "more capacity for the course", "quarterly key rotation", "course over"]);
    expect(records.every((r: { who: string }) => r.who.startsWith("alice@"))).toBe(true);
    expect(records.map((r: { computeNodes: number }) => r.computeNodes)).toEqual([2, 3, 3, 2]);
    expect(records.map((r: { mungeKeyEpoch: number }) => r.mungeKeyEpoch)).toEqual([0, 0, 1, 1]);
    const fp = records.map((r: { mungeKeyFingerprint: string }) => r.mungeKeyFingerprint);
    expect(fp[0]).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(fp[1]).toBe(fp[0]);
    expect(fp[2]).not.toBe(fp[1]);
    expect(records[1].configChanges).toEqual([expect.stringMatching(/^hyperscaler:nodeGroups: .*"count":2.* -> .*"count":3/)]);
    expect(records[1].resourceChanges).toMatchObject({ create: 2, update: 1 });
    expect(md).toMatch(/\| 3 \| .* \| alice@.* \| quarterly key rotation \| update \| succeeded \|/);
  });

  it("rolls back a scale-up: previews exactly the inverse change, applies it with the program of that version, and records it", () => {
    // A new program (one more output) with the new config: the rollback must run version 4's program, which lacks it.
    const program = path.join(project.dir, "stacks/index.ts");
    const source = fs.readFileSync(program, "utf8");
    expect(source).toContain("  return {\n");
    fs.writeFileSync(program, source.replace("  return {\n", '  return {\n    programMark: "v2",\n'));
    git("commit", "-qam", "program v2");
    project.setConfig(stack, "nodeGroups.cpu.count", "3");
    up("more capacity again");
    expect(outputOf("programMark")).toBe("v2");
    const r = tsx("rollback.ts", "--stack", stack, "--to", "4", "--yes");
    outputs.push(r.output);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/Rollback of .* to version 4 .*alice@.*: course over\), program at [0-9a-f]{12}/);
    expect(r.stdout).toContain("**0 to create, 1 to update, 0 to replace, 2 to delete**");
    expect(r.stdout).toContain("drain cpu003, wait for its jobs, delete it from SLURM, then remove its container");
    expect(nodeNames(ctl)).toEqual(["cpu001", "cpu002"]);
    expect(ok(project.pulumi(stack, "config", "get", "--path", "hyperscaler:nodeGroups.cpu.count")).stdout.trim()).toBe("2");
    ok(project.pulumi(stack, "preview", "--expect-no-changes"));
    const last = JSON.parse(ok(tsx("audit.ts", "--stack", stack, "--json")).stdout).pop();
    expect([last.why, last.computeNodes]).toEqual(["rollback to version 4", 2]);
    // The program of version 4 ran (checked out at its commit), not today's.
    expect(outputOf("programMark")).toBeUndefined();
  });

  it("refuses a version that does not exist, changing nothing", () => {
    const before = everythingRollbackCouldChange();
    const r = tsx("rollback.ts", "--stack", stack, "--to", "99", "--yes");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/has no version 99 \(it has 1-6/);
    expect(everythingRollbackCouldChange()).toEqual(before);
  });

  it("refuses a version whose commit is no longer in the repository, changing nothing", () => {
    git("commit", "-q", "--allow-empty", "-m", "an experiment");
    const lost = git("rev-parse", "HEAD").stdout.trim();
    up("experiment");
    git("reset", "-q", "--hard", "HEAD~1");
    git("reflog", "expire", "--expire=now", "--all");
    git("gc", "-q", "--prune=now");
    const before = everythingRollbackCouldChange();
    const r = tsx("rollback.ts", "--stack", stack, "--to", "7", "--yes");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`version 7 ran from commit ${lost}, which is not in this repository`);
    expect(everythingRollbackCouldChange()).toEqual(before);
  });

  it("leaves no secret in state, history, reports or the audit", () => {
    const key = Buffer.from(docker(["exec", `${stack}-controller`, "base64", "-w0", "/etc/munge/munge.key"]).trim(), "base64");
    expect(key.length).toBe(1024);
    const everything = readTree(project.backend.dir) + outputs.join("\n");
    expect(leakedSecrets(everything, { mungeKey: key })).toEqual([]);
  });
});
