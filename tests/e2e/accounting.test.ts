import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, leakedSecrets, run } from "../support/run";
import { dashboardsDrawn } from "../support/browser";
import { ok, SHARED_CPUS, TEST_MONITORING, TestProject } from "../support/stack";
import { docker, dockerTry } from "../support/docker";
import { endJob, jobState, RUNS_UNTIL_ENDED } from "../support/slurm";
import { waitFor } from "../support/wait";
import { runProcedure } from "../support/runbook";

// SLURM accounting deployed by the real engine: slurmdbd and MariaDB, the declared QOS,
// accounts and users applied by sacctmgr as a diff (drift made by hand shows on refresh),
// job records through slurmdbd outages, scaling and rotations, verified backups and a
// restore drill, and what Prometheus sees.
const stack = `acct${process.pid}`;
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
const ctl = (...cmd: string[]) => docker(["exec", `${stack}-controller`, ...cmd]);
const onDb = (...cmd: string[]) => docker(["exec", `${stack}-mariadb`, ...cmd]);
const sacctmgr = (...args: string[]) => ctl("sacctmgr", "-i", "-n", "-P", ...args);
const outputs: string[] = [];
const record = <T extends { output: string }>(r: T) => { outputs.push(r.output); return r; };
const up = () => record(ok(pulumi("up", "--yes", "--skip-preview")));
/** A guide's procedure, run as written against this stack. */
const procedure = (id: string) => { const out = runProcedure(id, { cwd: project.dir, env: { ...project.backend.env, STACK: stack } }); outputs.push(out); return out; };
const submit = (...args: string[]) => ctl("sbatch", "--parsable", "-o", "/dev/null", ...args).trim();
/** sacct's record of each job: id -> "account state" (none while slurmdbd does not answer). */
const recorded = (): Record<string, string> => Object.fromEntries(dockerTry(["exec", `${stack}-controller`, "sacct", "-a", "-X", "-n", "-P", "-S", "now-1days", "-o", "JobID,Account,State"])
  .stdout.trim().split("\n").filter(Boolean).map((l) => l.split("|")).map(([id, account, state]) => [id, `${account} ${state}`]));
const associations = () => sacctmgr("show", "assoc", "format=Account,User,Share,QOS,DefaultQOS").trim().split("\n").sort();
const metric = (name: string) => new RegExp(`^${name} (\\S+)$`, "m").exec(ctl("hyperscaler-slurm-metrics"))?.[1];
const ended = (id: string) => !/PENDING|RUNNING|COMPLETING|CONFIGURING/.test(jobState(ctl, id) ?? "");

const dashboardsPort = freePort();

beforeAll(() => {
  project.init(stack, [
    `  hyperscaler:clusterName: ${stack}`,
    "  hyperscaler:nodeGroups:",
    "    cpu:",
    "      count: 2",
    "      memoryMiB: 256",
    TEST_MONITORING,
    "    dashboards:",
    `      port: ${dashboardsPort}`,
    "  hyperscaler:accounting:",
    "    priority:",
    "      calcPeriodMin: 1",
    "    qos:",
    "      short:",
    "        maxJobsPerUser: 1",
    "        priority: 10",
    "    accounts:",
    "      physics:",
    "        fairshare: 3",
    "        qos: [normal, short]",
    "      chemistry:",
    "        fairshare: 1",
    "        qos: [normal, short]",
    "    users:",
    "      root:",
    "        accounts: [physics, chemistry]",
    SHARED_CPUS,
  ].join("\n"));
});
afterAll(() => {
  project.destroy(stack);
});

describe("SLURM accounting (slurmdbd, MariaDB)", () => {
  it("deploys slurmdbd, MariaDB and the declared QOS, accounts and users; a refreshed preview after finds nothing to change", () => {
    up();
    expect(associations()).toEqual([
      "chemistry|root|1|normal,short|normal", "chemistry||1|normal,short|normal",
      "physics|root|1|normal,short|normal", "physics||3|normal,short|normal",
      "root|root|1|normal|", "root||1|normal|",
    ].sort());
    expect(sacctmgr("show", "qos", "short", "format=Name,Priority,MaxJobsPU").trim()).toBe("short|10|1");
    expect(sacctmgr("show", "user", "root", "format=User,DefaultAccount,AdminLevel").trim()).toBe("root|root|Administrator");
    record(ok(pulumi("preview", "--refresh", "--expect-no-changes")));
  });

  it("orders two queued jobs by fair share: the account with more shares and less use goes first", async () => {
    // Use in chemistry (1 share), none in physics (3 shares): the cluster's first jobs.
    ctl("srun", "-A", "chemistry", "-n1", "sleep", "3");
    await waitFor("chemistry's use in sshare", () => Number(ctl("sshare", "-n", "-P", "-A", "chemistry", "-u", "root", "-o", "RawUsage").trim().split("\n").pop()) > 0);
    const blocker = submit("-n2", "--wrap", "sleep 300");
    await waitFor("the blocker to run", () => jobState(ctl, blocker) === "RUNNING");
    // chemistry's job is older: only fair share can put physics's ahead.
    const chemistry = submit("-A", "chemistry", "-n2", "--wrap", "sleep 60");
    const physics = submit("-A", "physics", "-n2", "--wrap", "sleep 60");
    try {
      const priority = (id: string) => Number(ctl("squeue", "-h", "-j", id, "-o", "%Q").trim());
      // Fair share is recalculated every PriorityCalcPeriod (1 min here): wait past one.
      await waitFor("priorities computed", () => priority(physics) > priority(chemistry), 90);
      ctl("scancel", blocker);
      await waitFor("the physics job to start", () => jobState(ctl, physics) === "RUNNING");
      expect(jobState(ctl, chemistry)).toBe("PENDING");
    } finally {
      ctl("scancel", blocker, chemistry, physics);
    }
  }, 420_000);

  it("records each job under the account it ran in: sacct and sreport show them (and accounting.md's report procedure)", async () => {
    // sreport counts jobs that ran for some time: a job of no elapsed time is left out.
    const physics = submit("-A", "physics", "--wrap", "sleep 2");
    const chemistry = submit("-A", "chemistry", "--wrap", "sleep 2");
    await waitFor("both jobs in sacct, completed", () => recorded()[physics] === "physics COMPLETED" && recorded()[chemistry] === "chemistry COMPLETED");
    // sreport reports whole hours that have ended: these two jobs are moved two hours back
    // in the job table (times only), so that a window of ended hours holds them.
    onDb("mariadb", "slurm_acct_db", "-e", `UPDATE ${stack}_job_table SET time_submit = time_submit - 7200, time_eligible = time_eligible - 7200, ` +
      `time_start = time_start - 7200, time_end = time_end - 7200 WHERE id_job IN (${physics}, ${chemistry})`);
    const report = ctl("sreport", "-n", "-P", "job", "SizesByAccount", "start=now-1days", "end=now", "FlatView", "PrintJobCount");
    const jobs = (account: string) => Number(new RegExp(`^${stack}\\|${account}\\|(\\d+)\\|`, "m").exec(report)?.[1] ?? 0);
    expect(jobs("physics"), report).toBeGreaterThanOrEqual(1);
    expect(jobs("chemistry"), report).toBeGreaterThanOrEqual(1);
    procedure("accounting-report");
  });

  it("holds a job back at its QOS limit (one running job per user in QOS short)", async () => {
    const first = submit("--qos=short", "-A", "physics", "--wrap", "sleep 60");
    const second = submit("--qos=short", "-A", "physics", "--wrap", "true");
    try {
      await waitFor("the first job to run", () => jobState(ctl, first) === "RUNNING");
      await waitFor("the second job held by the QOS", () => /Reason=QOSMaxJobsPerUserLimit/.test(ctl("scontrol", "show", "job", second)), 30);
    } finally {
      ctl("scancel", first, second);
    }
  });

  it("loses no record while slurmdbd is stopped: slurmctld queues them and they arrive", async () => {
    docker(["stop", `${stack}-slurmdbd`]);
    const started = Date.now();
    const jobs = [1, 2, 3, 4, 5].map((i) => submit("-A", i % 2 ? "physics" : "chemistry", "--wrap", "true"));
    try {
      await waitFor("the jobs to end", () => jobs.every(ended));
      await waitFor("slurm_dbd_up 0 and records queued", () => metric("slurm_dbd_up") === "0" && Number(metric("slurm_dbd_agent_queue_size")) > 0);
      // Down for 20 s at least: several of slurmctld's retries find it gone.
      await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - started))));
    } finally {
      docker(["start", `${stack}-slurmdbd`]);
    }
    await waitFor("the queued records delivered", () => metric("slurm_dbd_up") === "1" && metric("slurm_dbd_agent_queue_size") === "0", 120);
    await waitFor("every job in sacct, completed", () => jobs.every((id) => / COMPLETED$/.test(recorded()[id] ?? "")), 60);
  }, 420_000);

  it("shows a change made by hand with sacctmgr as drift on refresh, and up puts the declared settings back", () => {
    sacctmgr("modify", "qos", "where", "name=short", "set", "MaxJobsPerUser=5");
    sacctmgr("delete", "user", "root", "account=chemistry");
    // The drift watch names each change made by hand, and changes none of them.
    const node = (n: string, ...cmd: string[]) => docker(["exec", `${stack}-${n}`, ...cmd]);
    node("cpu001", "sh", "-c", "cp -p /etc/munge/munge.key /root/munge.key && printf x >>/etc/munge/munge.key");
    ctl("scontrol", "update", "nodename=cpu002", "state=drain", "reason=disk check");
    docker(["stop", `${stack}-prometheus`]);
    const watch = run("bash", ["scripts/drift-watch.sh", "--stack", stack], { cwd: project.dir, env: project.backend.env });
    // Untouched by the watch: what was changed by hand is still so.
    const keyHeld = node("cpu001", "sha256sum", "/etc/munge/munge.key");
    const untouched = [ctl("sinfo", "-h", "-n", "cpu002", "-o", "%T").trim(), docker(["inspect", "--format", "{{.State.Status}}", `${stack}-prometheus`]).trim()];
    node("cpu001", "sh", "-c", "cp -p /root/munge.key /etc/munge/munge.key");
    ctl("scontrol", "update", "nodename=cpu002", "state=resume");
    docker(["start", `${stack}-prometheus`]);
    expect(watch.code, watch.output).toBe(2);
    expect(watch.stdout).toMatch(/`[\w-]+-accounting-qos-short` \(.*Qos\) differs from the stack: .*maxJobsPerUser/i);
    expect(watch.stdout).toMatch(/`[\w-]+-accounting-user-root` \(.*User\) differs from the stack: /);
    expect(watch.stdout).toContain(`${stack}-prometheus is exited, not running`);
    expect(watch.stdout).toMatch(/cpu002 is (drained|draining)\S* by hand \(reason: disk check\)/);
    expect(watch.stdout).toContain(`${stack}-cpu001 holds key sha256:${keyHeld.slice(0, 16)}, not the stack's`);
    expect(untouched).toEqual([expect.stringMatching(/^drain/), "exited"]);
    expect(sacctmgr("show", "qos", "short", "format=MaxJobsPU").trim()).toBe("5");
    const drift = record(ok(pulumi("refresh", "--preview-only", "--diff"))).stdout;
    expect(drift).toMatch(/~ MaxJobsPerUser\s*: "1" => "5"/);
    expect(drift).toMatch(/~ Accounts\s*: "chemistry,physics,root" => "physics,root"/);
    record(ok(pulumi("up", "--yes", "--refresh", "--skip-preview")));
    expect(sacctmgr("show", "qos", "short", "format=MaxJobsPU").trim()).toBe("1");
    expect(associations()).toContain("chemistry|root|1|normal,short|normal");
    record(ok(pulumi("preview", "--refresh", "--expect-no-changes")));
    const clean = run("bash", ["scripts/drift-watch.sh", "--stack", stack], { cwd: project.dir, env: project.backend.env });
    expect(clean.code, clean.output).toBe(0);
    expect(clean.stdout).toContain("**No drift**");
  });

  it("applies added, changed and removed accounts and QOS as a diff, named in the preview report", () => {
    project.setConfig(stack, "accounting.qos.short.maxJobsPerUser", "2");
    project.setConfig(stack, "accounting.accounts.biology.parent", "physics");
    project.setConfig(stack, "accounting.accounts.biology.fairshare", "2");
    project.setConfig(stack, "accounting.users.root.accounts[1]", "biology");
    ok(pulumi("config", "rm", "--path", "hyperscaler:accounting.accounts.chemistry"));
    // accounting.md's procedure adds one more account, reports the preview and applies it all.
    const report = procedure("accounting-change");
    for (const action of ["sacctmgr: add account biology", "sacctmgr: add account astronomy", "sacctmgr: change QOS short", "sacctmgr: change user root", "sacctmgr: remove account chemistry"]) {
      expect(report).toContain(action);
    }
    expect(report).toContain("removes account chemistry from the accounting database");
    expect(associations()).toEqual([
      "astronomy||2|normal|normal", "biology|root|1|normal|normal", "biology||2|normal|normal",
      "physics|root|1|normal,short|normal", "physics||3|normal,short|normal",
      "root|root|1|normal|", "root||1|normal|",
    ].sort());
    expect(sacctmgr("show", "assoc", "account=biology", "user=", "format=ParentName").trim()).toBe("physics");
    expect(sacctmgr("show", "qos", "short", "format=MaxJobsPU").trim()).toBe("2");
    // The records of the removed account's jobs stay.
    expect(Object.values(recorded())).toContain("chemistry COMPLETED");
  });

  it("keeps every job's record across a scale-up, a scale-down and a password and MUNGE key rotation, with a job running through them", async () => {
    const confHash = () => docker(["exec", `${stack}-slurmdbd`, "sha256sum", "/etc/slurm/slurmdbd.conf"]).split(" ")[0];
    const before = confHash();
    const long = submit("-A", "physics", "--wrap", RUNS_UNTIL_ENDED);
    await waitFor("the long job to run", () => jobState(ctl, long) === "RUNNING");
    const jobs = [long];
    project.setConfig(stack, "nodeGroups.cpu.count", "3");
    up();
    jobs.push(submit("-A", "biology", "-w", "cpu003", "--wrap", "true"));
    project.setConfig(stack, "nodeGroups.cpu.count", "2");
    project.setConfig(stack, "rotation.mungeKeyEpoch", "1");
    // security.md's procedure sets the password epoch to 1, reports the preview and applies it all.
    procedure("rotate-accounting-password");
    expect(confHash()).not.toBe(before);
    jobs.push(submit("-A", "physics", "--wrap", "true"));
    expect(jobState(ctl, long)).toBe("RUNNING");
    endJob(ctl, long, "batch");
    await waitFor("every job to end", () => jobs.every(ended), 180);
    await waitFor("every job in sacct, completed", () => jobs.every((id) => / COMPLETED$/.test(recorded()[id] ?? "")), 60);
  }, 420_000);

  it("backs up the accounting database verified by a test restore, and a restore drill brings lost records back", async () => {
    expect(procedure("accounting-backup")).toMatch(/^backup slurm_acct_db-\d{8}T\d{6}Z\.sql\.gz: \d+ bytes, sha256 [0-9a-f]{64}, \d+ tables, verified in \d+s$/m);
    const jobs = Object.keys(recorded());
    // The disaster: the job table is gone.
    onDb("mariadb", "-e", `DROP TABLE slurm_acct_db.${stack}_job_table`);
    expect(recorded()).toEqual({});
    // The drill, as backup-recovery.md writes it: slurmdbd stopped, restore, slurmdbd started, sacct.
    try {
      procedure("accounting-restore");
    } finally {
      docker(["start", `${stack}-slurmdbd`]);
    }
    await waitFor("the records back in sacct", () => jobs.every((id) => recorded()[id]), 60);
  });

  it("publishes slurmdbd's and MariaDB's health and the backup to Prometheus, with their alert rules loaded", async () => {
    const query = (q: string) => JSON.parse(docker(["exec", `${stack}-prometheus`, "curl", "-fsS", "--get", "--data-urlencode", `query=${q}`,
      "http://127.0.0.1:9090/api/v1/query"])).data.result as { value: [number, string] }[];
    for (const [q, want] of [["slurm_dbd_up", "1"], ["slurm_dbd_agent_queue_size", "0"], ["mysql_up", "1"],
      ['up{job="node",node="slurmdbd"}', "1"], ['up{job="node",node="mariadb"}', "1"]]) {
      await waitFor(`${q} = ${want}`, () => query(q)[0]?.value[1] === want, 60);
    }
    await waitFor("the backup's time", () => query('hyperscaler_mariadb_backup_last_success_timestamp_seconds{database="slurm_acct_db"}').length === 1, 60);
    const rules = JSON.parse(docker(["exec", `${stack}-prometheus`, "curl", "-fsS", "http://127.0.0.1:9090/api/v1/rules"])).data.groups
      .flatMap((g: { rules: { name: string }[] }) => g.rules.map((r) => r.name));
    expect(rules).toEqual(expect.arrayContaining(["SlurmdbdDown", "SlurmdbdAgentQueueHigh", "MariadbDown", "MariadbBackupTooOld", "MariadbBackupMissing"]));
  });

  it("opens the accounting dashboard in a headless browser: slurmdbd, its agent queue and MariaDB drawn from the running cluster", async () => {
    const drawn = await dashboardsDrawn(dashboardsPort, stack, ["accounting"]);
    expect(drawn.accounting.find((p) => p.title === "slurmdbd up")!.value).toBe("1");
  });

  it("never shows the database password: not in state, outputs or any command's output", () => {
    const password = /^StoragePass=(.+)$/m.exec(docker(["exec", `${stack}-slurmdbd`, "cat", "/etc/slurm/slurmdbd.conf"]))![1];
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    const state = ok(pulumi("stack", "export")).stdout;
    expect(leakedSecrets([state, ...outputs].join("\n"), { password })).toEqual([]);
    expect(docker(["inspect", `${stack}-slurmdbd`, `${stack}-mariadb`])).not.toContain(password);
  });
});
