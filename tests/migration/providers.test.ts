import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { docker, dockerTry } from "../support/docker";
import { REPO, run, tempBackend } from "../support/run";
import { jobState as slurmJobState } from "../support/slurm";
import { ok, removeLabelled, SHARED_CPUS } from "../support/stack";
import { checkoutOf, DEBIAN_12_COMMIT, debian12Base } from "../support/previous";
import { waitFor } from "../support/wait";

// A stack deployed by the last commit before the move to the real providers (its
// resources are dynamic-provider resources) is moved by scripts/migrate-to-providers.ts,
// the procedure docs/operations/maintenance.md gives, with a job running and a row in
// PostgreSQL: the row, SLURM's state (the job) and the volumes survive the move.
const PRE_PROVIDERS_COMMIT = "e5cd77942da87280b83e807d6be7865c54aec9ae";
const stack = `mv${process.pid}`;
const cluster = stack;
const backend = tempBackend();
const checkout = (name: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hyperscaler-${name}-`));
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  return dir;
};
// The old code as that commit had it; today's code as a project beside it, on the same backend.
if (run("git", ["-C", REPO, "cat-file", "-e", `${PRE_PROVIDERS_COMMIT}^{commit}`]).code !== 0) {
  throw new Error(`tests/migration needs commit ${PRE_PROVIDERS_COMMIT} (the last one before the providers): clone the whole history, or run git fetch --unshallow`);
}
const before = checkout("before");
execFileSync("sh", ["-c", `git -C "${REPO}" archive ${PRE_PROVIDERS_COMMIT} Pulumi.yaml package.json tsconfig.json components stacks images scripts | tar -x -C "${before}"`]);
// The move is made with the last code on Debian 12, whose images (SLURM 22.05) the stack
// runs; today's code would meet SLURM 22.05's state, which its preflight refuses.
const after = checkoutOf(DEBIAN_12_COMMIT, "after");
debian12Base(after);
const pulumiIn = (dir: string, ...args: string[]) => run("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: dir, env: backend.env });
const ctl = (...cmd: string[]) => docker(["exec", `${cluster}-controller`, ...cmd]);
const jobState = (id: string) => slurmJobState(ctl, id);
const psql = (sql: string) => docker(["exec", `${cluster}-postgres`, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", "appdb", "-c", sql]).trim();
// A marker file in each kept volume, read through the container that mounts it.
const MARKED = [["controller", "/var/spool/slurmctld"], ["postgres", "/var/lib/postgresql/data"], ["postgres", "/backups"]];
const markers = () => MARKED.map(([c, dir]) => dockerTry(["exec", `${cluster}-${c}`, "cat", `${dir}/.migration-marker`]).stdout.trim());

afterAll(() => {
  pulumiIn(after, "state", "unprotect", "--all", "--yes");
  pulumiIn(after, "destroy", "--yes");
  removeLabelled(cluster);
  for (const dir of [before, after, backend.dir]) fs.rmSync(dir, { recursive: true, force: true });
});

describe("moving a stack made before the providers", () => {
  let job = "";
  const marks = MARKED.map((_, i) => `${process.pid}-${Date.now()}-${i}`);

  it("deploys with the previous commit's dynamic providers, a job running and a row written", async () => {
    ok(pulumiIn(before, "stack", "init"));
    fs.appendFileSync(path.join(before, `Pulumi.${stack}.yaml`), `config:\n  hyperscaler:clusterName: ${cluster}\n  hyperscaler:protect: true\n` +
      `  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n      memoryMiB: 256\n${SHARED_CPUS}  hyperscaler:postgres:\n    roles:\n      app:\n        database: appdb\n`);
    ok(pulumiIn(before, "up", "--yes"));
    const state = JSON.parse(ok(pulumiIn(before, "stack", "export")).stdout).deployment.resources as { type: string }[];
    expect(state.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource").length).toBeGreaterThan(10);
    psql("CREATE TABLE moved (note text); INSERT INTO moved VALUES ('written before the move')");
    job = ctl("sbatch", "--parsable", "--wrap", "sleep 600").trim();
    await waitFor(`job ${job} to run`, () => jobState(job) === "RUNNING");
    MARKED.forEach(([c, dir], i) => docker(["exec", `${cluster}-${c}`, "sh", "-c", `echo ${marks[i]} > ${dir}/.migration-marker`]));
    // The new code's project uses the same stack file (its secrets' salt) and backend.
    fs.copyFileSync(path.join(before, `Pulumi.${stack}.yaml`), path.join(after, `Pulumi.${stack}.yaml`));
  });

  it("prints the plan and changes nothing without --yes", () => {
    const ids = docker(["ps", "-q", "--filter", `label=hyperscaler.cluster=${cluster}`]);
    const r = ok(run("npx", ["tsx", "scripts/migrate-to-providers.ts", "--stack", stack], { cwd: after, env: backend.env }));
    expect(r.stdout).toMatch(/dynamic-provider resources to move/);
    expect(r.stdout).toMatch(new RegExp(`adopt as they are: .*${cluster}-postgres-data`));
    expect(r.stdout).toMatch(/dry run: nothing changed/);
    expect(docker(["ps", "-q", "--filter", `label=hyperscaler.cluster=${cluster}`])).toBe(ids);
  });

  it("moves it: no dynamic resource left, volumes adopted not re-created, the row and the job still there", async () => {
    const r = run("npx", ["tsx", "scripts/migrate-to-providers.ts", "--stack", stack, "--yes"], { cwd: after, env: backend.env });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/= +docker:index:Volume +\S+-postgres-data +import/);
    const state = JSON.parse(ok(pulumiIn(after, "stack", "export")).stdout).deployment.resources as { type: string; urn: string; protect?: boolean }[];
    expect(state.filter((x) => x.type === "pulumi-nodejs:dynamic:Resource")).toEqual([]);
    expect(state.find((x) => x.urn.endsWith(`::${cluster}-postgres-data`))).toMatchObject({ type: "docker:index/volume:Volume", protect: true });
    expect(markers()).toEqual(marks);
    expect(psql("SELECT note FROM moved")).toBe("written before the move");
    // SLURM's state came through on its volume: the job is known, requeued when its node went.
    expect(ctl("scontrol", "show", "job", job)).toMatch(/Restarts=1/);
    expect(jobState(job)).toMatch(/PENDING|RUNNING/);
    ctl("scancel", job);
    ok(pulumiIn(after, "preview", "--expect-no-changes"));
    expect(ctl("srun", "-N1", "hostname").trim()).toBe("cpu001");
  });
  it("is refused by today's code before anything changes: SLURM 22.05's state and PostgreSQL 15's data are named, with the guide", () => {
    const today = checkout("today");
    try {
      for (const entry of ["Pulumi.yaml", "package.json", "tsconfig.json", "components", "stacks", "images", "scripts", "providers"]) {
        fs.symlinkSync(path.join(REPO, entry), path.join(today, entry));
      }
      fs.copyFileSync(path.join(after, `Pulumi.${stack}.yaml`), path.join(today, `Pulumi.${stack}.yaml`));
      const ids = docker(["ps", "-q", "--filter", `label=hyperscaler.cluster=${cluster}`]);
      const r = pulumiIn(today, "up", "--yes");
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(new RegExp(`volume ${cluster}-slurmctld-state: slurmctld state of an older SLURM .*nothing was changed; move it with docs/operations/maintenance\\.md#upgrade-a-stack-from-debian-12`));
      expect(r.output).toMatch(new RegExp(`volume ${cluster}-postgres-data: a PostgreSQL 15 data directory, which PostgreSQL 17 cannot open`));
      expect(docker(["ps", "-q", "--filter", `label=hyperscaler.cluster=${cluster}`])).toBe(ids);
      expect(markers()).toEqual(marks);
      expect(psql("SELECT note FROM moved")).toBe("written before the move");
    } finally {
      fs.rmSync(today, { recursive: true, force: true });
    }
  });
});
