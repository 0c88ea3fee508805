import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, run } from "../support/run";
import { ok, pulumiInBackground, SHARED_CPUS, TestProject } from "../support/stack";
import { docker, dockerTry } from "../support/docker";
import { jobState as slurmJobState } from "../support/slurm";
import { waitFor } from "../support/wait";

// Faults on a real stack, each ending with nothing silently lost, as SLURM's own records
// show: the controller killed mid-job, two `pulumi up` at once, the Docker engine stopped
// in the middle of an update. (A compute node removed or killed mid-job:
// tests/e2e/cluster.test.ts; the newest backup corrupt and the backup volume full:
// tests/live/postgres.test.ts.)
const stack = `flt${process.pid}`;
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
const ctl = (...cmd: string[]) => docker(["exec", `${stack}-controller`, ...cmd]);
const jobState = (id: string) => slurmJobState(ctl, id);
const hostnames = (n: number) => ctl("srun", `-N${n}`, "hostname").trim().split("\n").sort();
const engineAnswers = () => dockerTry(["info"]).code === 0;

/** `pulumi up` in the background, so that a fault can strike while it runs. */
const upInBackground = () => pulumiInBackground(["up", "--yes", "--skip-preview", "--stack", stack], project.dir, project.backend.env);
/** Starts the Docker engine the way setup does, when it is not answering. */
const startEngine = () => { if (!engineAnswers()) ok(run("bash", ["scripts/setup.sh", "docker"], { cwd: REPO })); };

beforeAll(() => {
  project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 2\n      memoryMiB: 256\n` + SHARED_CPUS);
  ok(pulumi("up", "--yes", "--skip-preview"));
});
afterAll(() => {
  startEngine(); // whatever happened, leave an engine that answers
  pulumi("destroy", "--yes");
  const left = docker(["ps", "-aq", "--filter", `label=hyperscaler.cluster=${stack}`]).trim().split("\n").filter(Boolean);
  if (left.length) dockerTry(["rm", "-f", ...left]);
  dockerTry(["volume", "rm", `${stack}-slurmctld-state`]);
  dockerTry(["network", "rm", `${stack}-net`]);
  project.remove();
});

describe("faults on a running cluster", () => {
  it("controller killed mid-job: the job runs on and completes, recorded as such", async () => {
    const saved = () => Number(ctl("sh", "-c", "stat -c %Y /var/spool/slurmctld/job_state 2>/dev/null || echo 0").trim());
    const id = ctl("sbatch", "--parsable", "-w", "cpu001", "--wrap", "sleep 20").trim();
    await waitFor(`job ${id} to start`, () => jobState(id) === "RUNNING");
    // slurmctld saves its state a few seconds after a change; a SIGKILL before that loses
    // what came since (SLURM has no synchronous save): kill it once the job is on disk.
    // A later change (a held job) makes sure a save follows the job's start.
    const started = Math.floor(Date.now() / 1000);
    await new Promise((r) => setTimeout(r, 1100));
    const held = ctl("sbatch", "--parsable", "--hold", "--wrap", "true").trim();
    await waitFor("slurmctld to save the running job", () => saved() > started, 60);
    docker(["kill", `${stack}-controller`]);
    ok(pulumi("refresh", "--yes"));
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(jobState(id)).toMatch(/RUNNING|COMPLETED/);
    await waitFor(`job ${id} to end`, () => jobState(id) !== "RUNNING", 60);
    expect(jobState(id)).toBe("COMPLETED");
    expect(ctl("scontrol", "show", "job", id)).toMatch(/ExitCode=0:0/);
    expect(hostnames(2)).toEqual(["cpu001", "cpu002"]);
    ctl("scancel", held);
  });

  it("two `pulumi up` at once: the second is refused by the stack's lock, the first completes", async () => {
    project.setConfig(stack, "nodeGroups.cpu.count", "3");
    const first = upInBackground();
    // The file backend writes its lock when the update starts.
    await waitFor("the first update to take the lock", () => run("sh", ["-c", `ls ${project.backend.dir}/.pulumi/locks/*/*/${stack}/ 2>/dev/null`]).stdout.trim() !== "", 30);
    const second = pulumi("up", "--yes", "--skip-preview");
    expect(second.code).not.toBe(0);
    expect(second.output).toMatch(/the stack is currently locked/);
    const done = await first;
    expect(done.code, done.output).toBe(0);
    expect(hostnames(3)).toEqual(["cpu001", "cpu002", "cpu003"]);
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("Docker engine stopped during `pulumi up`: the update fails, and the next one converges", async () => {
    const job = ctl("sbatch", "--parsable", "-w", "cpu001", "--wrap", "sleep 600").trim();
    await waitFor(`job ${job} to start`, () => jobState(job) === "RUNNING");
    project.setConfig(stack, "nodeGroups.cpu.count", "4");
    const update = upInBackground();
    await waitFor("the new node's container", () => dockerTry(["inspect", `${stack}-cpu004`]).code === 0, 60);
    run("sh", ["-c", "kill $(pidof dockerd)"]);
    await waitFor("the engine to stop", () => run("pidof", ["dockerd"]).code !== 0, 120);
    const failed = await update;
    expect(failed.code).not.toBe(0);
    startEngine();
    // State is whole: it exports, and the engine has nothing half-done to clear.
    const exported = JSON.parse(ok(pulumi("stack", "export")).stdout);
    expect(exported.deployment.pending_operations ?? []).toEqual([]);
    ok(pulumi("refresh", "--yes"));
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(hostnames(4)).toEqual(["cpu001", "cpu002", "cpu003", "cpu004"]);
    ok(pulumi("preview", "--expect-no-changes"));
    // The engine's stop restarted every container: the job that ran on cpu001 was requeued, not left running on nothing.
    expect(ctl("scontrol", "show", "job", job)).toMatch(/Restarts=[1-9]/);
    ctl("scancel", job);
  });
});
