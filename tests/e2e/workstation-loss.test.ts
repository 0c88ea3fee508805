import { describe, expect, it } from "vitest";
import { Lab, withLab } from "../support/lab";
import { ok, SHARED_CPUS, TEST_ACCOUNTING, TestProject } from "../support/stack";
import { run } from "../support/run";
import { runProcedure } from "../support/runbook";

// The drill of issue 34: the controller's workstation (controller, PostgreSQL, accounting)
// is lost for good while a writer commits a row every 0.2 s; the backups went to a
// repository on another workstation (this machine's engine, which also builds the images
// and runs the node). The guide's procedure moves the platform to a spare workstation and
// restores PostgreSQL, accounting and slurmctld's state from the repository.
describe("the controller's workstation lost: the platform back on another from the backup repository", () => {
  const stack = `wl${process.pid}`;
  const project = new TestProject();
  let lab: Lab;
  const pulumi = (...args: string[]) => project.pulumiWithEnv(stack, lab.env, ...args);
  const on = (ws: number, container: string, ...cmd: string[]) => lab.docker(ws, "exec", `${stack}-${container}`, ...cmd);
  const sql = (ws: number, query: string) => on(ws, "postgres", "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", "appdb", "-c", query).trim();
  const WAL_DELAY_SEC = 30;
  // HYPERSCALER_DRILL_MB: that much data written before the writer (the guide's figures: 1024).
  const DRILL_MB = Number(process.env.HYPERSCALER_DRILL_MB ?? 0);

  withLab(`l${process.pid}`, 2, project, stack, (made) => { lab = made; });

  it("loses workstation near while rows are written; restores every row committed up to 60 s before the loss, the accounting records and the queue on a spare workstation", () => {
    project.init(stack, [
      ...lab.stackConfig(stack, [[0, "main"], [1, "near"], [2, "spare"]]),
      "  hyperscaler:buildWorkstation: main",
      "  hyperscaler:controller:",
      "    workstation: near",
      "  hyperscaler:backupRepository:",
      "    workstation: main",
      "    address: 10.77.0.20",
      "  hyperscaler:nodeGroups:",
      "    cpu:",
      "      count: 1",
      "      memoryMiB: 256",
      "      workstation: main",
      "  hyperscaler:postgres:",
      "    pitr:",
      `      walMaxDelaySec: ${WAL_DELAY_SEC}`,
      "    roles:",
      "      app:",
      "        database: appdb",
      ...TEST_ACCOUNTING,
      "",
    ].join("\n") + SHARED_CPUS);
    ok(pulumi("up", "--yes", "--skip-preview"));

    // What must come back: a finished job's accounting record (in a verified dump), a held
    // job in slurmctld's queue, both shipped; and the rows of a writer that runs to the loss.
    on(1, "controller", "srun", "-N1", "--job-name=before-loss", "hostname");
    const held = on(1, "controller", "sbatch", "--parsable", "--hold", "--job-name=held-before-loss", "--wrap", "sleep 600").trim();
    // slurmdbd has the record before the dump is taken.
    on(1, "controller", "sh", "-c", "for i in $(seq 60); do sacct -a -X -n -P -o JobName,State | grep -q '^before-loss|COMPLETED$' && exit 0; sleep 1; done; exit 1");
    on(1, "mariadb", "hyperscaler-mariadb-backup", "slurm_acct_db");
    if (DRILL_MB > 0) {
      // Rows of ~1 KiB of hex, which compress like real data, after the deploy's full backup: all of it WAL to replay.
      sql(1, `CREATE TABLE bulk AS SELECT g AS id, (SELECT string_agg(encode(sha512((g || '/' || k)::text::bytea), 'hex'), '') FROM generate_series(1, 8) k) AS payload FROM generate_series(1, ${DRILL_MB * 1024}) g`);
    }
    const bulk = DRILL_MB > 0 ? sql(1, "SELECT count(*) || ' ' || md5(string_agg(md5(payload), '' ORDER BY id)) || ' ' || pg_database_size('appdb') FROM bulk") : "";
    sql(1, "CREATE TABLE beat (at timestamptz PRIMARY KEY DEFAULT clock_timestamp())");
    lab.docker(1, "exec", "-d", `${stack}-postgres`, "sh", "-c",
      "while :; do runuser -u postgres -- psql -X -q -d appdb -c 'INSERT INTO beat DEFAULT VALUES'; sleep 0.2; done");
    // slurmctld saves its state a few seconds after a change: ship once the held job is in it.
    on(1, "backup-shipper", "sh", "-c", "for i in $(seq 60); do grep -q held-before-loss /ship/slurmctld-state/job_state && exit 0; sleep 1; done; exit 1");
    on(1, "backup-shipper", "hyperscaler-backup-ship", "now");
    // The writer runs past one WAL delay, so rows older than it at the loss must be back.
    run("sleep", [String(WAL_DELAY_SEC + 20)]);

    const lostAt = Date.now() / 1000;
    lab.lose(1);
    const output = runProcedure("workstation-lost", {
      cwd: project.dir,
      env: { ...project.backend.env, ...lab.env, STACK: stack, LOST_WS: "near", NEW_WS: "spare", DOCKER_HOST: lab.host(2) },
    });
    const rto = Date.now() / 1000 - lostAt;

    const [newest, count, gap] = sql(2, "SELECT extract(epoch FROM max(at)), count(*), extract(epoch FROM max(gap)) FROM (SELECT at, at - lag(at) OVER (ORDER BY at) AS gap FROM beat) b").split("|").map(Number);
    const rpo = lostAt - newest;
    console.log(`drill: workstation lost -> platform back in ${rto.toFixed(1)} s (RTO); newest row back ${rpo.toFixed(1)} s before the loss (RPO; walMaxDelaySec ${WAL_DELAY_SEC}); ${count} rows${bulk && `; bulk rows, checksum, database bytes before: ${bulk}`}`);
    if (bulk) expect(sql(2, "SELECT count(*) || ' ' || md5(string_agg(md5(payload), '' ORDER BY id)) FROM bulk")).toBe(bulk.split(" ").slice(0, 2).join(" "));
    console.log(output.split("\n").filter((l) => /^(platform-restore|pg-pitr): |^forgot |^\s*Duration: /.test(l)).join("\n"));
    expect(rpo).toBeLessThanOrEqual(60);
    // No hole: every row up to the newest is there (the writer commits one every 0.2 s).
    expect(gap).toBeLessThan(5);
    expect(on(2, "controller", "sacct", "-a", "-X", "-n", "-P", "-o", "JobName,State")).toMatch(/^before-loss\|COMPLETED$/m);
    expect(on(2, "controller", "squeue", "-h", "-j", held, "-o", "%j %T")).toMatch(/^held-before-loss PENDING$/m);
    expect(on(2, "controller", "srun", "-N1", "-w", "cpu001", "hostname").trim()).toBe("cpu001");
  }, 1_500_000);
});
