import { afterAll, describe, expect, it } from "vitest";
import { docker } from "../tests/support/docker";
import { ok, SHARED_CPUS, TestProject } from "../tests/support/stack";
import { median, report, RUNS } from "./report";

// Accounting at size: BENCH_RECORDS (10,000) job records in slurmdbd, made by SLURM itself
// (jobs submitted under two accounts while one job holds the node, then cancelled: each
// leaves its record, as any job does, without the half hour 10,000 real runs take on this
// machine), then how long sacct takes to list them, and slurmdbd's and MariaDB's memory.
const stack = `acctb${process.pid}`;
const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
/** Jobs held at once: under slurmctld's MaxJobCount (10,000), with room for the rest. */
const BATCH = 2000;
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
const ctl = (script: string) => docker(["exec", `${stack}-controller`, "sh", "-c", script]);

/** Resident memory of a container's processes named `daemon`, in MiB. */
const rssMiB = (container: string, daemon: string) =>
  Number(docker(["exec", container, "sh", "-c", `ps -o rss= -C ${daemon} | awk '{ s += $1 } END { print s }'`]).trim()) / 1024;

afterAll(() => {
  project.destroy(stack);
});

describe("accounting at size", () => {
  it(`lists ${RECORDS} job records with sacct, and what slurmdbd and MariaDB hold in memory`, () => {
    project.init(stack, [
      `  hyperscaler:clusterName: ${stack}`,
      "  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n      memoryMiB: 256",
      // MinJobAge 30 s: cancelled jobs leave slurmctld's memory soon, so batches fit under MaxJobCount.
      "  hyperscaler:slurm:\n    tuning: throughput",
      "  hyperscaler:accounting:\n    accounts:\n      physics: {}\n      chemistry: {}\n    users:\n      root:\n        accounts: [physics, chemistry]",
      SHARED_CPUS,
    ].join("\n"));
    ok(pulumi("up", "--yes", "--skip-preview"));
    // Eligible jobs waiting for the node (a held job has no eligible time, and sacct's
    // time window leaves it out).
    const blocker = ctl("sbatch --parsable -J acctblock --exclusive -o /dev/null --wrap 'sleep 3600'").trim();
    ctl(`while [ "$(squeue -h -j ${blocker} -o %T)" != RUNNING ]; do sleep 0.5; done`);
    const t0 = performance.now();
    try {
      for (let made = 0; made < RECORDS; made += BATCH) {
        const n = Math.min(BATCH, RECORDS - made);
        ctl(`i=0; while [ $i -lt ${n} ]; do sbatch --quiet -A $([ $((i % 2)) = 0 ] && echo physics || echo chemistry) -J acctbench -o /dev/null --wrap true || exit 1; i=$((i+1)); done
          scancel --name acctbench
          while [ -n "$(squeue -h -n acctbench -o %i | head -1)" ]; do sleep 1; done`);
      }
    } finally {
      // Else removing the node would wait for it (scale-in drains first).
      ctl(`scancel ${blocker}`);
    }
    // Every record reached slurmdbd.
    ctl("while [ \"$(sdiag | awk -F: '/^DBD Agent queue size/ { print $2 + 0 }')\" != 0 ]; do sleep 1; done");
    report("accounting, records made", (performance.now() - t0) / 1000, "s", `${RECORDS} jobs submitted, cancelled while waiting, recorded`);
    const list = "sacct -a -X -n -P -S now-7days -E now -o JobID,User,Account,State";
    expect(Number(ctl(`${list},JobName | grep -c '|acctbench$'`).trim()), "records sacct lists").toBe(RECORDS);
    const time = (cmd: string) => median(Array.from({ length: RUNS }, () =>
      Number(ctl(`s=$(date +%s.%N); ${cmd} >/dev/null; e=$(date +%s.%N); awk "BEGIN { print $e - $s }"`).trim())));
    report("accounting, sacct over every record", time(list), "s", `${RECORDS} records (+ the cluster's own), median of ${RUNS}`);
    report("accounting, sacct of one account", time(`${list} -A physics`), "s", `${RECORDS / 2} records`);
    report("accounting, sacct of one job", time("sacct -a -X -n -P -j 100 -o JobID,State"), "s");
    report("accounting, slurmdbd memory", rssMiB(`${stack}-slurmdbd`, "slurmdbd"), "MiB", "resident, after the listings");
    report("accounting, MariaDB memory", rssMiB(`${stack}-mariadb`, "mariadbd"), "MiB", "resident (buffer pool 256 MiB)");
    const size = docker(["exec", `${stack}-mariadb`, "mariadb", "-N", "-e",
      "SELECT round(sum(data_length + index_length) / 1048576, 1) FROM information_schema.tables WHERE table_schema = 'slurm_acct_db'"]).trim();
    report("accounting, database size", Number(size), "MiB", `${RECORDS} job records`);
  });
});
