import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as path from "node:path";
import { freePort, leakedSecrets, readTree, REPO, run } from "../support/run";
import { ok, TestProject, SHARED_CPUS } from "../support/stack";
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
    expect(m.postgres).toEqual({ container, databases: ["appdb"], backup: { intervalMin: 30, retain: 5, beforeReplace: false }, passwordEpochs: { app: 0, postgres: 0 } });
  });

  it("publishes on 127.0.0.1 only, and keeps passwords out of state, history and the container's config", () => {
    const bindings = JSON.parse(docker(["inspect", "--format", "{{json .HostConfig.PortBindings}}", container]));
    expect(bindings).toEqual({ "5432/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
    // Every secret the stack holds: the superuser's password (only inside the server), each role's, the MUNGE key.
    const secrets = {
      superuser: docker(["exec", container, "cat", "/run/hyperscaler/superuser-password"]), app: appLogin().password,
      mungeKey: Buffer.from(docker(["exec", `${stack}-controller`, "base64", "-w0", "/etc/munge/munge.key"]), "base64"),
    };
    expect(secrets.superuser.length).toBe(32);
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

  it("survives the disaster-recovery drill: database and volume destroyed, rebuilt by up, restored identical", () => {
    const r = run("bash", [path.join(REPO, "scripts/pg-dr-drill.sh"), "--stack", stack, "--size-mb", "8"], { cwd: project.dir, env: project.backend.env });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/drill: data identical after restore \(8192 [0-9a-f]{32}\)/);
    expect(r.stdout).toMatch(/drill: RTO [\d.]+ s .*RPO up to 30 min/);
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
