import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../support/docker";
import { checkoutOf, DEBIAN_12_COMMIT, debian12Base } from "../support/previous";
import { run, tempBackend, tempProject } from "../support/run";
import { runProcedure } from "../support/runbook";
import { jobState as slurmJobState } from "../support/slurm";
import { ok, removeLabelled, SHARED_CPUS } from "../support/stack";
import { waitFor } from "../support/wait";

// A stack deployed by the last Debian 12 commit (SLURM 22.05, PostgreSQL 15, MariaDB
// 10.11), with a row in PostgreSQL, an account with a QOS and finished jobs in sacct, is
// moved onto this release by docs/operations/maintenance.md's procedure as written, then
// rolled back by the same guide onto its old data.
const stack = `dbn${process.pid}`;
const cluster = stack;
const backend = tempBackend();
const old = checkoutOf(DEBIAN_12_COMMIT, "debian12");
const today = tempProject();
const pulumiIn = (dir: string, ...args: string[]) => run("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: dir, env: backend.env });
const ctl = (...cmd: string[]) => docker(["exec", `${cluster}-controller`, ...cmd]);
const jobState = (id: string) => slurmJobState(ctl, id);
const psql = (sql: string) => docker(["exec", `${cluster}-postgres`, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", "appdb", "-c", sql]).trim();
const sacct = () => ctl("sacct", "-a", "-X", "-n", "-P", "-S", "now-1days", "-o", "JobID,Account,QOS,State");
const associations = () => ctl("sacctmgr", "-n", "-P", "show", "assoc", "format=Account,User,QOS").trim().split("\n").sort();
const guide = (id: string, env: NodeJS.ProcessEnv = {}) => runProcedure(id, { cwd: today, env: { ...backend.env, STACK: stack, ...env } });
/** Runs a job as the account with the QOS and returns its id once it completed. */
async function finishedJob(): Promise<string> {
  const id = ctl("sbatch", "--parsable", "-A", "physics", "--qos", "short", "-o", "/dev/null", "--wrap", "hostname").trim();
  await waitFor(`job ${id} to complete`, () => jobState(id) === "COMPLETED", 120);
  await waitFor(`job ${id} in sacct`, () => new RegExp(`^${id}\\|physics\\|short\\|COMPLETED$`, "m").test(sacct()), 120);
  return id;
}

beforeAll(() => {
  debian12Base(old);
  ok(pulumiIn(old, "stack", "init"));
  fs.appendFileSync(path.join(old, `Pulumi.${stack}.yaml`), [
    "config:",
    `  hyperscaler:clusterName: ${cluster}`,
    "  hyperscaler:nodeGroups:",
    "    cpu:",
    "      count: 2",
    "      memoryMiB: 256",
    "  hyperscaler:postgres:",
    "    roles:",
    "      app:",
    "        database: appdb",
    "  hyperscaler:accounting:",
    "    qos:",
    "      short:",
    "        priority: 10",
    "    accounts:",
    "      physics:",
    "        qos: [normal, short]",
    "    users:",
    "      root:",
    "        accounts: [physics]",
    SHARED_CPUS,
  ].join("\n"));
  fs.copyFileSync(path.join(old, `Pulumi.${stack}.yaml`), path.join(today, `Pulumi.${stack}.yaml`));
});
afterAll(() => {
  pulumiIn(today, "state", "unprotect", "--all", "--yes");
  pulumiIn(today, "destroy", "--yes");
  removeLabelled(cluster);
  for (const dir of [old, today, backend.dir]) fs.rmSync(dir, { recursive: true, force: true });
});

describe("upgrading a running stack from Debian 12 to Debian 13", () => {
  let oldJob = "";

  it("deploys with the Debian 12 release: a row, an account with a QOS, a finished job in sacct", async () => {
    ok(pulumiIn(old, "up", "--yes", "--skip-preview"));
    expect(ctl("scontrol", "version").trim()).toMatch(/^slurm-wlm 22\.05/);
    psql("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('written on PostgreSQL 15')");
    oldJob = await finishedJob();
  });

  it("is refused by this release's preview, naming the volumes and the guide, with nothing changed", () => {
    const r = pulumiIn(today, "preview");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(new RegExp(`volume ${cluster}-slurmctld-state: slurmctld state of an older SLURM`));
    expect(r.output).toMatch(new RegExp(`volume ${cluster}-mariadb-data: MariaDB 10\\.11\\S* data holding SLURM 22\\.05's accounting database`));
    expect(r.output).toMatch(/move it with docs\/operations\/maintenance\.md#upgrade-a-stack-from-debian-12/);
  });

  it("upgrades by the guide: the row, the associations, the old job records in the export; a new job runs and is in sacct", async () => {
    guide("upgrade-debian13");
    expect(ctl("scontrol", "version").trim()).toMatch(/^slurm-wlm 24\.11/);
    expect(psql("SELECT note FROM kept")).toBe("written on PostgreSQL 15");
    expect(psql("SHOW server_version")).toMatch(/^17\./);
    expect(associations()).toEqual(expect.arrayContaining(["physics|root|normal,short", "physics||normal,short"]));
    const exported = docker(["exec", `${cluster}-mariadb`, "sh", "-c", "gzip -dc /backups/slurm-22.05-jobs.psv.gz"]);
    expect(exported.split("\n")[0]).toMatch(/^Account\|/);
    expect(exported).toMatch(new RegExp(`^physics\\|.*\\|${oldJob}\\|`, "m"));
    const newJob = await finishedJob();
    expect(newJob).not.toBe("");
    ok(pulumiIn(today, "preview", "--expect-no-changes"));
    // The old data is kept aside until the operator confirms.
    expect(docker(["volume", "ls", "-q", "--filter", `label=hyperscaler.cluster=${cluster}`]).split("\n"))
      .toEqual(expect.arrayContaining([`${cluster}-slurmctld-state-debian12`, `${cluster}-postgres-data-debian12`, `${cluster}-mariadb-data-debian12`]));
  });

  it("rolls back by the guide onto the old data: SLURM 22.05, its accounting records, the row as it was", async () => {
    psql("INSERT INTO kept VALUES ('written on PostgreSQL 17')");
    guide("rollback-debian13", { DEBIAN12: old });
    expect(ctl("scontrol", "version").trim()).toMatch(/^slurm-wlm 22\.05/);
    expect(psql("SELECT note FROM kept ORDER BY 1")).toBe("written on PostgreSQL 15");
    expect(sacct()).toMatch(new RegExp(`^${oldJob}\\|physics\\|short\\|COMPLETED$`, "m"));
    await waitFor("the nodes resumed after the rollback", () => ctl("sinfo", "-h", "-N", "-o", "%N %t").trim().split("\n").every((l) => /idle|mix|alloc/.test(l)), 120);
    expect(ctl("srun", "-N2", "hostname").trim().split("\n").sort()).toEqual(["cpu001", "cpu002"]);
  });
});
