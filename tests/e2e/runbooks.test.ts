import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../support/run";
import { ok, removeLabelled, TestProject, SHARED_CPUS } from "../support/stack";
import { docker, dockerTry } from "../support/docker";
import { MAIN_PROCEDURES, runProcedure } from "../support/runbook";
import { nodeNames, nodeState } from "../support/slurm";

// The operations guides' procedures, run exactly as written (the blocks tagged
// runbook=<id>, after the shell preparation tagged runbook=session) against a throwaway
// stack shaped like dev, each checked against the guide's own expected output
// (expect=<id>) and against the cluster itself. A guide that drifts from the code fails here.
const stack = `rb${process.pid}`;
const project = new TestProject();
const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-runbook-backups-"));
const ctl = (...cmd: string[]) => docker(["exec", `${stack}-controller`, ...cmd]);
const computeNodes = () => nodeNames(ctl);
const manifest = () => project.output(stack, "manifest");
const psql = (sql: string) => docker(["exec", "-u", "postgres", `${stack}-postgres`, "psql", "-X", "-At", "-d", "appdb", "-c", sql]).trim();
const ran: string[] = [];

function procedure(id: string, env: NodeJS.ProcessEnv = {}): string {
  const output = runProcedure(id, { cwd: project.dir, env: { ...project.backend.env, STACK: stack, HYPERSCALER_OPERATOR: "runbook", BACKUP_DIR: backupDir, ...env } });
  ran.push(id);
  return output;
}

beforeAll(() => {
  // A git checkout, as a real one: each update records its commit, and rollback uses it.
  const git = (...args: string[]) => ok(run("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { cwd: project.dir }));
  git("init", "-q"); git("add", "-A"); git("commit", "-qm", "program");
  project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 2\n      memoryMiB: 256\n` + SHARED_CPUS +
    "  hyperscaler:postgres:\n    roles:\n      app:\n        database: appdb\n    backup:\n      intervalMin: 60\n      retain: 5\n");
});
afterAll(() => {
  project.pulumi(stack, "destroy", "--yes");
  removeLabelled(stack); // containers a procedure left, a restore's kept volumes
  project.remove();
  fs.rmSync(backupDir, { recursive: true, force: true });
});

describe("the guides' procedures, as written", () => {
  it("deployment: deploys and validates", () => {
    procedure("deploy");
    expect(computeNodes()).toEqual(["cpu001", "cpu002"]);
    procedure("validate");
  });

  it("backup-recovery: exports the state and config; security: the audit records the deploy", () => {
    procedure("config-backup");
    const files = fs.readdirSync(backupDir);
    const state = JSON.parse(fs.readFileSync(path.join(backupDir, files.find((f) => f.endsWith(".json"))!), "utf8"));
    expect(state.deployment.resources.length).toBeGreaterThan(30);
    expect(files).toContain(`Pulumi.${stack}.yaml`);
    procedure("audit");
  });

  it("scaling: adds a node and removes it again; deployment: rolls the removal back", () => {
    procedure("scale-up");
    expect(computeNodes()).toEqual(["cpu001", "cpu002", "cpu003"]);
    procedure("scale-down");
    expect(computeNodes()).toEqual(["cpu001", "cpu002"]);
    procedure("rollback");
    expect(computeNodes()).toEqual(["cpu001", "cpu002", "cpu003"]);
    ok(project.pulumi(stack, "preview", "--expect-no-changes"));
  });

  it("maintenance: replaces a node, which comes back idle", () => {
    const before = docker(["inspect", "--format", "{{.Id}}", `${stack}-cpu002`]).trim();
    procedure("replace-node");
    expect(docker(["inspect", "--format", "{{.Id}}", `${stack}-cpu002`]).trim()).not.toBe(before);
    expect(nodeState(ctl, "cpu002")).toBe("idle");
  });

  it("security: rotates the MUNGE key and the application's database password", () => {
    const fingerprint = manifest().mungeKey.fingerprint;
    const hosts = ["controller", ...manifest().computeNodes.map((n: { name: string }) => n.name)];
    const oldCredential = docker(["exec", `${stack}-${hosts[1]}`, "munge", "-n", "-t", "600"]).trim();
    procedure("rotate-munge");
    const m = manifest();
    expect(m.mungeKey).toMatchObject({ epoch: 1 });
    expect(m.mungeKey.fingerprint).not.toBe(fingerprint);
    // Every node holds the key the manifest names, its munged runs with it, and the old key's credentials are refused.
    for (const h of hosts) {
      expect(`sha256:${docker(["exec", `${stack}-${h}`, "sha256sum", "/etc/munge/munge.key"]).slice(0, 16)}`, h).toBe(m.mungeKey.fingerprint);
      expect(dockerTry(["exec", "-i", `${stack}-${h}`, "unmunge"], oldCredential).code, `old credential on ${h}`).not.toBe(0);
    }
    const fresh = docker(["exec", `${stack}-${hosts[1]}`, "munge", "-n"]).trim();
    expect(dockerTry(["exec", "-i", `${stack}-controller`, "unmunge"], fresh).code).toBe(0);
    const password = project.output(stack, "postgresLogins", true).app.password;
    procedure("rotate-db-password");
    const rotated = project.output(stack, "postgresLogins", true).app.password;
    expect(rotated).not.toBe(password);
    // The server took it: the new password logs in, the old one no longer does.
    const login = (pw: string) => dockerTry(["exec", "-e", `PGPASSWORD=${pw}`, `${stack}-postgres`, "psql", "-X", "-At", "-h", "postgres", "-U", "app", "-d", "appdb", "-c", "SELECT 1"]).code;
    expect([login(rotated), login(password)]).toEqual([0, 2]);
  });

  it("backup-recovery: backs up, and a restore brings back data lost after the backup", () => {
    psql("CREATE TABLE runbook (i int PRIMARY KEY); INSERT INTO runbook SELECT generate_series(1, 1000)");
    procedure("backup");
    psql("DELETE FROM runbook WHERE i > 10");
    procedure("restore");
    expect(psql("SELECT count(*) FROM runbook")).toBe("1000");
  });

  it("backup-recovery: restores to just before a mistake, then rotates the backup repository's key and restores from before the rotation", () => {
    psql("CREATE TABLE pitr (i int PRIMARY KEY); INSERT INTO pitr SELECT generate_series(1, 500)");
    const beforeMistake = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC'");
    psql("DELETE FROM pitr WHERE i > 100");
    procedure("restore-to-time", { BEFORE_MISTAKE: beforeMistake });
    expect(psql("SELECT count(*) FROM pitr")).toBe("500");
    for (const v of docker(["volume", "ls", "-q", "--filter", `label=hyperscaler.cluster=${stack}`]).split("\n").filter((n) => n.includes("-postgres-before-"))) docker(["volume", "rm", v]);

    const beforeRotation = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC'");
    psql("DELETE FROM pitr WHERE i > 400");
    procedure("rotate-pitr-key");
    const repositories = docker(["exec", `${stack}-postgres`, "ls", "/backups/pgbackrest"]).trim().split("\n");
    expect(repositories).toEqual(["key0", "key1"]);
    // A moment before the rotation is in the previous repository, read with the previous key.
    procedure("restore-to-time", { BEFORE_MISTAKE: beforeRotation });
    expect(psql("SELECT count(*) FROM pitr")).toBe("500");
  });

  it("maintenance: the daily health check passes on a cluster with a backup history", () => {
    procedure("health-check");
  });

  it("performance-tuning: enables the throughput profile by reconfigure", () => {
    const controller = docker(["inspect", "--format", "{{.Id}}", `${stack}-controller`]).trim();
    procedure("tuning");
    expect(docker(["inspect", "--format", "{{.Id}}", `${stack}-controller`]).trim()).toBe(controller);
  });

  it("ran every main procedure the issue names", () => {
    expect(MAIN_PROCEDURES.filter((id) => !ran.includes(id))).toEqual([]);
  });
});
