import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as path from "node:path";
import { freePort, leakedSecrets, readTree, REPO, run } from "../support/run";
import { ok, removeLabelled, TestProject, SHARED_CPUS } from "../support/stack";
import { buildOfficialPostgresStandIn, docker, dockerTry } from "../support/docker";
import { waitFor } from "../support/wait";

// The platform's PostgreSQL through the real engine: logins from stack outputs, loopback
// publishing, password rotation by config with a session open, and the DR drill script.
const stack = `pg${process.pid}`;
const container = `${stack}-postgres`;
const port = freePort();
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
const appLogin = () => project.output(stack, "postgresLogins", true).app as { host: string; database: string; user: string; password: string };
const repositoryKey = () => docker(["exec", container, "sed", "-n", "s/^repo1-cipher-pass=//p", "/etc/pgbackrest/pgbackrest.conf"]).trim();
const asApp = (password: string, sql: string) =>
  dockerTry(["exec", "-e", `PGPASSWORD=${password}`, container, "psql", "-X", "-At", "-h", "postgres", "-U", "app", "-d", "appdb", "-c", sql]);

beforeAll(() => {
  project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n      memoryMiB: 256\n` + SHARED_CPUS +
    `  hyperscaler:postgres:\n    publishPort: ${port}\n    roles:\n      app:\n        database: appdb\n    backup:\n      intervalMin: 30\n      retain: 5\n`);
});
const webapp = `${stack}-webapp`;
const asWebapp = (sql: string) =>
  dockerTry(["exec", "-e", "PGPASSFILE=/run/app/pgpass", webapp, "psql", "-X", "-w", "-At", "-h", "postgres", "-U", "app", "-d", "appdb", "-c", sql]);
afterAll(() => {
  pulumi("destroy", "--yes");
  dockerTry(["rm", "-f", webapp]);
  removeLabelled(stack); // what a failed test left: a restore's kept volume
  project.remove();
});

describe("PostgreSQL in the stack", () => {
  it("deploys a server an application logs in to with the password from the stack's secret output", () => {
    ok(pulumi("up", "--yes"));
    const login = appLogin();
    expect(login).toMatchObject({ host: "postgres", database: "appdb", user: "app" });
    expect(asApp(login.password, "SELECT current_user").stdout.trim()).toBe("app");
    expect(ok(pulumi("stack", "output", "postgresLogins")).stdout).toMatch(/\[secret\]/);
    const m = project.output(stack, "manifest");
    expect(m.postgres).toEqual({ container, databases: ["appdb"], backup: { intervalMin: 30, retain: 5, beforeReplace: false }, passwordEpochs: { app: 0, postgres: 0 }, pitrKeyEpoch: 0 });
  });

  it("publishes on 127.0.0.1 only, and keeps passwords out of state, history and the container's config", () => {
    const bindings = JSON.parse(docker(["inspect", "--format", "{{json .HostConfig.PortBindings}}", container]));
    expect(bindings).toEqual({ "5432/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
    // Every secret the stack holds: the superuser's password (only inside the server), each role's, the MUNGE key,
    // the backup repository's key.
    const secrets = {
      superuser: docker(["exec", container, "cat", "/run/hyperscaler/superuser-password"]), app: appLogin().password,
      pitrKey: repositoryKey(),
      mungeKey: Buffer.from(docker(["exec", `${stack}-controller`, "base64", "-w0", "/etc/munge/munge.key"]), "base64"),
    };
    expect(secrets.superuser.length).toBe(32);
    expect(secrets.pitrKey).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(leakedSecrets(readTree(project.backend.dir) + docker(["inspect", container]) + ok(pulumi("preview", "--diff")).output, secrets)).toEqual([]);
  });

  it("refuses an application whose container is not running, before changing anything", () => {
    const resources = project.resourceCount(stack);
    const app = { container: webapp, role: "app", file: "/run/app/pgpass", owner: "nobody" };
    for (const [key, value] of Object.entries(app)) project.setConfig(stack, `postgres.applications.webapp.${key}`, value);
    const r = pulumi("up", "--yes");
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(`hyperscaler:postgres.applications.webapp.container: container '${webapp}' is not on the Docker host; start it first`);
    expect(project.resourceCount(stack)).toBe(resources);
  });

  it("writes the role's password into a running application's container, where libpq reads it", () => {
    docker(["run", "-d", "--name", webapp, "--network", `${stack}-net`, "--entrypoint", "sleep", `hyperscaler/postgres:${stack}`, "infinity"]);
    ok(pulumi("up", "--yes"));
    expect(docker(["exec", webapp, "stat", "-c", "%a %U", "/run/app/pgpass"]).trim()).toBe("600 nobody");
    expect(asWebapp("SELECT current_user").stdout.trim()).toBe("app");
  });

  it("rotates the application password by config: a session open across it finishes, the old password stops working", async () => {
    const old = appLogin().password;
    docker(["exec", "-d", "-e", `PGPASSWORD=${old}`, container, "sh", "-c",
      "psql -X -At -h postgres -U app -d appdb -c 'SELECT pg_sleep(4)' -c 'SELECT 42' >/tmp/session.out 2>&1"]);
    await waitFor("the session to connect", () => /pg_sleep/.test(asApp(old, "SELECT query FROM pg_stat_activity WHERE usename = 'app'").stdout));
    project.setConfig(stack, "rotation.postgresPasswordEpochs.app", "1");
    const preview = ok(pulumi("preview", "--diff"));
    expect(preview.output).toMatch(/epoch\s*:\s*"0" => "1"/);
    expect(preview.output).not.toContain(old);
    ok(pulumi("up", "--yes"));
    const fresh = appLogin().password;
    expect(fresh).not.toBe(old);
    // The application got it in the same update, with no restart: its next connection works.
    expect(asWebapp("SELECT current_user").stdout.trim()).toBe("app");
    expect(docker(["exec", webapp, "cat", "/run/app/pgpass"])).toBe(`*:*:appdb:app:${fresh}\n`);
    expect(asApp(fresh, "SELECT 1").stdout.trim()).toBe("1");
    const rejected = asApp(old, "SELECT 1");
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toMatch(/password authentication failed/);
    await waitFor("the open session to finish", () => /^42$/m.test(dockerTry(["exec", container, "cat", "/tmp/session.out"]).stdout), 15);
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("gives a re-created application container the password again on the next up", () => {
    docker(["rm", "-f", webapp]);
    docker(["run", "-d", "--name", webapp, "--network", `${stack}-net`, "--entrypoint", "sleep", `hyperscaler/postgres:${stack}`, "infinity"]);
    expect(asWebapp("SELECT 1").code).not.toBe(0);
    expect(ok(pulumi("preview")).output).toMatch(new RegExp(`\\+-\\s+command:local:Command\\s+${stack}-postgres-webapp-password-file\\s+replace`));
    ok(pulumi("up", "--yes"));
    expect(asWebapp("SELECT current_user").stdout.trim()).toBe("app");
  });

  it("takes a verified backup of every database before the server's container is replaced, when the config asks", () => {
    asApp(appLogin().password, "CREATE TABLE IF NOT EXISTS before_replace (n int); INSERT INTO before_replace VALUES (42)");
    project.setConfig(stack, "postgres.backup.beforeReplace", "true");
    ok(pulumi("up", "--yes"));
    const records = () => docker(["exec", container, "sh", "-c", "ls /backups/appdb-*.dump.json 2>/dev/null || true"]).trim().split("\n").filter(Boolean);
    const before = records();
    const oldId = docker(["inspect", "--format", "{{.Id}}", container]).trim();
    // A new published port replaces the container: the preview says so, and the backup runs first.
    project.setConfig(stack, "postgres.publishPort", String(port + 1));
    expect(ok(pulumi("preview")).output).toMatch(new RegExp(`\\+-\\s+docker:index:Container\\s+${container}\\s+replace`));
    const started = Math.floor(Date.now() / 1000);
    ok(pulumi("up", "--yes"));
    expect(docker(["inspect", "--format", "{{.Id}}", container]).trim()).not.toBe(oldId);
    const added = records().filter((r) => !before.includes(r));
    expect(added).toHaveLength(1);
    const record = JSON.parse(docker(["exec", container, "cat", added[0]]));
    // Taken by this update (not an older one), and of a server with data in it.
    expect(record.epoch).toBeGreaterThanOrEqual(started);
    expect(record.tables).toBeGreaterThanOrEqual(1);
    // The backup came from the old server; the data lives on in the volume.
    expect(asApp(appLogin().password, "SELECT n FROM before_replace").stdout.trim()).toBe("42");
  });

  it("archives WAL continuously and restores to just before a mistaken DELETE, keeping the data as it was; a time outside the window is refused", async () => {
    const pitr = (...args: string[]) => run("bash", [path.join(REPO, "scripts/pg-pitr.sh"), ...args, "--stack", stack], { cwd: project.dir, env: project.backend.env });
    const password = appLogin().password;
    const sql = (q: string) => { const r = asApp(password, q); expect(r.code, r.output).toBe(0); return r.stdout.trim(); };
    expect(docker(["exec", container, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-c", "SHOW archive_timeout"]).trim()).toBe("1min");
    const metrics = docker(["exec", container, "cat", "/backups/metrics/pitr.prom"]);
    expect(metrics).toMatch(/^hyperscaler_pgbackrest_repository_up 1$/m);
    expect(metrics).toMatch(/^hyperscaler_pgbackrest_backup_last_success_timestamp_seconds\{type="full"\} \d+$/m);
    sql("CREATE TABLE ledger (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
    // A writer commits a row every 50 ms, one transaction each, across the mistake.
    const writer = `${stack}-writer`;
    docker(["exec", "-d", "-e", `PGPASSWORD=${password}`, container, "sh", "-c",
      `i=0; while [ ! -e /tmp/${writer}.stop ]; do i=$((i+1)); psql -X -q -h postgres -U app -d appdb -c "INSERT INTO ledger (id) VALUES ($i)"; sleep 0.05; done`]);
    await waitFor("the writer's first rows", () => Number(sql("SELECT count(*) FROM ledger")) >= 40, 30);
    const committed = sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM ledger").split(",");
    const mistakeAt = sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC'");
    sql("DELETE FROM ledger WHERE id % 2 = 0");
    await new Promise((r) => setTimeout(r, 1000));
    docker(["exec", container, "touch", `/tmp/${writer}.stop`]);
    const volumes = () => docker(["volume", "ls", "-q", "--filter", `label=hyperscaler.cluster=${stack}`]).trim().split("\n").filter((v) => v.includes("-postgres-before-"));
    expect(volumes()).toEqual([]);

    // Outside the window: refused, naming the window, nothing changed.
    const before = sql("SELECT count(*) FROM ledger");
    for (const when of ["2000-01-01 00:00:00 UTC", "2099-01-01 00:00:00 UTC"]) {
      const refused = pitr("restore", "--to", when);
      expect(refused.code, refused.output).toBe(65);
      expect(refused.stderr).toMatch(/refused, nothing changed: .* a restore can reach \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to \d{4}-/);
    }
    expect(sql("SELECT count(*) FROM ledger")).toBe(before);
    expect(volumes()).toEqual([]);

    const r = pitr("restore", "--to", mistakeAt);
    expect(r.code, r.output).toBe(0);
    expect(leakedSecrets(r.output, { pitrKey: repositoryKey() })).toEqual([]);
    console.log(r.stdout.split("\n").filter((l) => /recovery stopping|restored/.test(l)).join("\n"));
    expect(r.stdout).toMatch(/recovery stopping before commit of transaction \d+, time /);
    // Every row committed before the mistake is back (the deleted ones too); nothing after it.
    const restored = sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM ledger").split(",");
    expect(restored.slice(0, committed.length)).toEqual(committed);
    expect(Number(sql(`SELECT count(*) FROM ledger WHERE at >= '${mistakeAt}'`))).toBe(0);
    expect(Number(sql(`SELECT max(id) FROM ledger`))).toBe(restored.length);
    // The data as it was (the mistake in it) is kept in its own volume until dropped.
    const kept = volumes();
    expect(kept).toHaveLength(1);
    expect(r.stdout).toContain(`docker volume rm ${kept[0]}`);
    // Archiving carries on from the new timeline: a new row reaches the repository.
    sql(`INSERT INTO ledger (id) VALUES (${restored.length + 1000})`);
    const window = pitr("window");
    expect(window.code, window.output).toBe(0);
    expect(window.stdout).toMatch(/^window: .* UTC to .* UTC$/m);
    docker(["volume", "rm", kept[0]]);
  });

  it("refuses a restore the repository's key cannot read, with nothing changed", () => {
    const conf = "/etc/pgbackrest/pgbackrest.conf";
    const good = docker(["exec", container, "cat", conf]);
    docker(["exec", container, "sed", "-i", "s/^repo1-cipher-pass=.*/repo1-cipher-pass=not-the-key/", conf]);
    try {
      const r = run("bash", [path.join(REPO, "scripts/pg-pitr.sh"), "restore", "--to", new Date().toISOString(), "--stack", stack], { cwd: project.dir, env: project.backend.env });
      expect(r.code, r.output).toBe(65);
      expect(r.stderr).toMatch(/refused, nothing changed: .*the key does not read the repository/);
      expect(r.output).not.toContain("not-the-key");
    } finally {
      docker(["exec", "-i", container, "sh", "-c", `cat > ${conf}`], good);
    }
    expect(dockerTry(["inspect", "--format", "{{.State.Running}}", container]).stdout.trim()).toBe("true");
  });

  it("keeps serving and keeps its WAL while the repository is gone, says so in its metrics, and ships the WAL when it is back", async () => {
    const repository = "/backups/pgbackrest/key0";
    const metric = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(docker(["exec", container, "cat", "/backups/metrics/pitr.prom"]))?.[1]);
    const superuser = (q: string) => docker(["exec", container, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-c", q]).trim();
    docker(["exec", container, "mv", repository, `${repository}.away`]);
    try {
      const password = appLogin().password;
      expect(asApp(password, "CREATE TABLE while_away (n int); INSERT INTO while_away SELECT generate_series(1, 100)").code).toBe(0);
      superuser("SELECT pg_switch_wal()");
      // The image's loop publishes every 30 s: what the archiving alerts read.
      await waitFor("the metrics to show the repository gone and archiving failing", () =>
        metric("hyperscaler_pgbackrest_repository_up") === 0 && metric("hyperscaler_postgres_wal_archive_failures_total") > 0 &&
        metric("hyperscaler_postgres_wal_archive_last_failure_timestamp_seconds") > metric("hyperscaler_postgres_wal_archive_last_success_timestamp_seconds"), 90);
      expect(metric("hyperscaler_postgres_wal_archive_pending_files")).toBeGreaterThan(0);
      expect(asApp(password, "SELECT count(*) FROM while_away").stdout.trim()).toBe("100");
    } finally {
      docker(["exec", container, "mv", `${repository}.away`, repository]);
    }
    await waitFor("the waiting WAL to reach the repository", () =>
      superuser("SELECT last_archived_time > last_failed_time FROM pg_stat_archiver") === "t" &&
      docker(["exec", container, "sh", "-c", "ls /var/lib/postgresql/data/pg_wal/archive_status | grep -c ready || true"]).trim() === "0", 90);
  });

  it("survives the disaster-recovery drill: database and volume destroyed, rebuilt by up, every WAL file shipped replayed (RPO under a minute)", () => {
    const r = run("bash", [path.join(REPO, "scripts/pg-dr-drill.sh"), "--stack", stack, "--size-mb", "8"], { cwd: project.dir, env: project.backend.env });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/drill: data identical after restore \(8192 [0-9a-f]{32}\)/);
    const rpo = /drill: RTO [\d.]+ s .*; RPO ([\d.]+) s \(the newest row back/.exec(r.stdout);
    expect(rpo, r.stdout).not.toBeNull();
    // Writes went on up to the loss; what came back is within one archive_timeout (60 s) of it.
    expect(Number(rpo![1])).toBeLessThanOrEqual(60);
    console.log(r.stdout.split("\n").filter((l) => /backup .* s for|RTO|rebuild/.test(l)).join("\n"));
    expect(asApp(appLogin().password, "SELECT 1").stdout.trim()).toBe("1");
  });

  it("takes the volumes with it on destroy when the stack is not protected", () => {
    dockerTry(["rm", "-f", webapp]); // it holds an endpoint on the cluster network
    ok(pulumi("destroy", "--yes"));
    for (const v of [`${stack}-postgres-data`, `${stack}-postgres-backups`]) expect(dockerTry(["volume", "inspect", v]).code).not.toBe(0);
  });
});

// postgres.image: the official image in place of Debian's package. It cannot be pulled
// here, so its stand-in (same layout) is tagged with an official-looking name no real
// release has, for this test only.
describe("PostgreSQL on the official image (config postgres.image)", () => {
  const official = "postgres:17.999-trixie";
  const ostack = `pgo${process.pid}`;
  beforeAll(() => {
    docker(["tag", buildOfficialPostgresStandIn(), official]);
    project.init(ostack, `  hyperscaler:clusterName: ${ostack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n      memoryMiB: 256\n` + SHARED_CPUS +
      `  hyperscaler:postgres:\n    image: ${official}\n    roles:\n      app:\n        database: appdb\n`);
  });
  afterAll(() => {
    project.pulumi(ostack, "destroy", "--yes");
    dockerTry(["image", "rm", official]);
  });

  it("builds the project's tools onto it: logins, a verified backup and the uid of the official image", () => {
    ok(project.pulumi(ostack, "up", "--yes"));
    const pg = `${ostack}-postgres`;
    expect(docker(["exec", pg, "id", "-u", "postgres"]).trim()).toBe("999");
    const app = project.output(ostack, "postgresLogins", true).app;
    expect(docker(["exec", "-i", pg, "hyperscaler-pg-login", "app", "appdb"], `${app.password}\n`)).toMatch(/^login ok: app on appdb/);
    expect(docker(["exec", pg, "hyperscaler-pg-backup", "appdb"])).toMatch(/backup appdb-.*verified/);
    ok(project.pulumi(ostack, "preview", "--expect-no-changes"));
  });
});
