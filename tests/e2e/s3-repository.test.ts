import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { leakedSecrets, readTree, REPO, run } from "../support/run";
import { runProcedure } from "../support/runbook";
import { ok, removeLabelled, TestProject, SHARED_CPUS } from "../support/stack";
import { docker } from "../support/docker";
import { S3Server, startS3Server } from "../support/s3";

// hyperscaler:backupRepository.s3 through the real engine: an S3-compatible server over
// HTTPS with its own CA (s3rver, on the Docker bridge's gateway, where the containers reach
// it), a one-engine stack whose pgBackRest repository and file backups go to the bucket,
// set up by the guide's procedure (backup-recovery.md, "Keep the backups in an S3 bucket").
const stack = `s3r${process.pid}`;
const container = `${stack}-postgres`;
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
const psql = (sql: string) => docker(["exec", container, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", "appdb", "-c", sql]).trim();
const pitr = (...args: string[]) => run("bash", [path.join(REPO, "scripts/pg-pitr.sh"), ...args, "--stack", stack], { cwd: project.dir, env: project.backend.env });
let server: S3Server;
const setS3 = (key: string, value: string, secret = false) =>
  ok(pulumi("config", "set", secret ? "--secret" : "--plaintext", "--path", `hyperscaler:backupRepository.s3.${key}`, value));

beforeAll(async () => {
  const gateway = docker(["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"]).trim();
  server = await startS3Server("hpc-backups", gateway);
  project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n      memoryMiB: 256\n` + SHARED_CPUS +
    "  hyperscaler:postgres:\n    roles:\n      app:\n        database: appdb\n    pitr:\n      walMaxDelaySec: 30\n");
}, 60_000);
afterAll(() => {
  project.destroy(stack);
  server?.stop();
});

describe("backups in an S3-compatible bucket", () => {
  it("refuses a key pair in plain text, and an endpoint that does not answer, before anything is made", () => {
    for (const [key, value] of [["endpoint", server.endpoint], ["bucket", server.bucket], ["uriStyle", "path"], ["caFile", server.caFile]]) setS3(key, value);
    setS3("accessKeyId", server.keys.accessKeyId);
    setS3("secretAccessKey", server.keys.secretAccessKey);
    const plain = pulumi("preview");
    expect(plain.code, plain.output).not.toBe(0);
    expect(plain.output).toMatch(/hyperscaler:backupRepository\.s3\.secretAccessKey: is in plain text .* pulumi config set --secret --path/);
    expect(leakedSecrets(plain.output, server.keys)).toEqual([]);
    setS3("accessKeyId", server.keys.accessKeyId, true);
    setS3("secretAccessKey", server.keys.secretAccessKey, true);
    expect(fs.readFileSync(path.join(project.dir, `Pulumi.${stack}.yaml`), "utf8")).not.toContain(server.keys.secretAccessKey);
    setS3("endpoint", server.endpoint.replace(/:\d+$/, ":9"));
    const closed = pulumi("preview");
    expect(closed.code, closed.output).not.toBe(0);
    expect(closed.output).toMatch(/hyperscaler:backupRepository\.s3\.endpoint: https:\/\/[\d.]+:9\/hpc-backups does not answer \(ECONNREFUSED\)/);
    expect(project.resourceCount(stack)).toBe(0);
    ok(pulumi("config", "rm", "hyperscaler:backupRepository"));
  });

  it("deploys by the guide's procedure, PostgreSQL's backups and WAL, and the file backups, in the bucket under the stack's folder", () => {
    runProcedure("backups-to-s3", { cwd: project.dir, env: { ...project.backend.env, STACK: stack,
      S3_ENDPOINT: server.endpoint, S3_BUCKET: server.bucket, S3_CA_FILE: server.caFile,
      S3_ACCESS_KEY_ID: server.keys.accessKeyId, S3_SECRET_ACCESS_KEY: server.keys.secretAccessKey } });
    const info = JSON.parse(docker(["exec", container, "runuser", "-u", "postgres", "--", "pgbackrest", `--stanza=${stack}`, "info", "--output=json"]))[0];
    expect(info.status.message).toBe("ok");
    expect(info.backup.map((b: { type: string }) => b.type)).toContain("full");
    expect(server.objects(`${stack}/postgres/key0/backup/${stack}/`)).toContainEqual(expect.stringMatching(/backup\.info$/));
    expect(server.objects(`${stack}/postgres/key0/archive/${stack}/`).length).toBeGreaterThan(0);
    // The shipper's copies of slurmctld's state: a round now, its snapshot in the bucket.
    const shipper = `${stack}-backup-shipper`;
    expect(docker(["exec", shipper, "hyperscaler-backup-ship", "now"])).toMatch(/^shipped slurmctld-state: /m);
    expect(docker(["exec", shipper, "hyperscaler-backup-ship", "snapshots"])).toMatch(/slurmctld-state/);
    expect(server.objects(`${stack}/files/snapshots/`).length).toBeGreaterThan(0);
    expect(docker(["exec", shipper, "cat", "/var/lib/hyperscaler/metrics/ship.prom"])).toMatch(/^hyperscaler_backup_ship_repository_up 1$/m);
    expect(docker(["exec", container, "cat", "/backups/metrics/pitr.prom"])).toMatch(/^hyperscaler_pgbackrest_repository_up 1$/m);
  });

  it("restores to just before a mistaken DELETE from the bucket, keeping what was written before it", () => {
    psql("CREATE TABLE ledger (id int PRIMARY KEY); INSERT INTO ledger SELECT generate_series(1, 500)");
    const mistakeAt = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC'");
    psql("DELETE FROM ledger WHERE id > 100");
    const r = pitr("restore", "--to", mistakeAt);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/recovery stopping before commit of transaction \d+, time /);
    expect(psql("SELECT count(*) FROM ledger")).toBe("500");
    const kept = /docker volume rm (\S+)/.exec(r.stdout)?.[1];
    expect(kept, r.stdout).toBeDefined();
    docker(["volume", "rm", kept!]);
  });

  it("brings PostgreSQL and slurmctld's state back from the bucket after the engine lost every container and volume of the stack", () => {
    // What must come back: rows committed and shipped, and a held job in slurmctld's state.
    psql("CREATE TABLE survivor (id int PRIMARY KEY); INSERT INTO survivor SELECT generate_series(1, 1000)");
    ok(pitr("window")); // ships the WAL written so far
    const held = docker(["exec", `${stack}-controller`, "sbatch", "--parsable", "--hold", "--job-name=held-before-loss", "--wrap", "sleep 600"]).trim();
    // slurmctld saves its state a few seconds after a change: ship once the held job is in it.
    docker(["exec", `${stack}-backup-shipper`, "sh", "-c", "for i in $(seq 60); do grep -q held-before-loss /ship/slurmctld-state/job_state && exit 0; sleep 1; done; exit 1"]);
    docker(["exec", `${stack}-backup-shipper`, "hyperscaler-backup-ship", "now"]);
    // The workstation's disk replaced: nothing of the stack left on its engine.
    removeLabelled(stack);
    // As the guide says (backup-recovery.md, "The controller's workstation lost", one workstation).
    ok(run("bash", [path.join(REPO, "scripts/up.sh"), "--stack", stack, "--reason", "disk replaced", "--refresh", "--yes", "--skip-preview", "--non-interactive"],
      { cwd: project.dir, env: project.backend.env }));
    expect(psql("SELECT to_regclass('survivor') IS NULL")).toBe("t");
    const r = run("bash", [path.join(REPO, "scripts/platform-restore.sh"), "--stack", stack], { cwd: project.dir, env: project.backend.env });
    expect(r.code, r.output).toBe(0);
    console.log(r.stdout.split("\n").filter((l) => /restored in|done in/.test(l)).join("\n"));
    expect(psql("SELECT count(*) FROM survivor")).toBe("1000");
    expect(docker(["exec", `${stack}-controller`, "squeue", "-h", "-j", held, "-o", "%j %T"])).toMatch(/^held-before-loss PENDING$/m);
    expect(leakedSecrets(r.output, server.keys)).toEqual([]);
  });

  it("keeps the key pair out of state, history, the preview, the containers' config and their logs", () => {
    const containers = docker(["ps", "-aq", "--filter", `label=hyperscaler.cluster=${stack}`]).trim().split("\n");
    const logs = containers.map((id) => run("docker", ["logs", id]).output).join("\n");
    const text = readTree(project.backend.dir) + docker(["inspect", ...containers]) + logs + ok(pulumi("preview", "--diff")).output +
      ok(pulumi("stack", "history", "--json")).output;
    expect(leakedSecrets(text, { ...server.keys, resticPassword: docker(["exec", `${stack}-backup-shipper`, "cat", "/etc/hyperscaler/restic-password"]) })).toEqual([]);
  });
});
