import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { buildOfficialPostgresStandIn, buildRoleImage, docker, dockerTry } from "../support/docker";
import { waitFor } from "../support/wait";
import { DAEMON_CAPABILITIES } from "../../components/docker/container";

// The PostgreSQL image's scripts against a real server: initialisation without the
// password in env or argv, roles, backups verified by restore, refusals, password rotation.
const name = `hspg${process.pid}`;
const volume = `${name}-data`;
const superPassword = randomBytes(18).toString("base64url");
let appPassword = randomBytes(18).toString("base64url");
const exec = (...cmd: string[]) => docker(["exec", name, ...cmd]);
const execTry = (...cmd: string[]) => dockerTry(["exec", name, ...cmd]);
const asApp = (sql: string, password = appPassword) =>
  dockerTry(["exec", "-e", `PGPASSWORD=${password}`, name, "psql", "-X", "-At", "-h", "127.0.0.1", "-U", "app", "-d", "appdb", "-c", sql]);
const rowsAndChecksum = () => asApp("SELECT count(*) || ' ' || md5(string_agg(s, ',' ORDER BY i)) FROM t").stdout.trim();

// Both ways the image is made: Debian's postgresql-17 on the base image, and the same tools
// layered on the official image (config postgres.image), here its stand-in.
describe.each([
  ["on the base image", () => buildRoleImage("postgres", "hyperscaler/postgres:test")],
  ["on the official image's layout", () => buildRoleImage("postgres", "hyperscaler/postgres:test-official", buildOfficialPostgresStandIn())],
])("the PostgreSQL image %s", (_how, build) => {
  beforeAll(() => {
    const image = build();
    docker(["run", "-d", "--name", name, "--cap-drop", "ALL", ...DAEMON_CAPABILITIES.flatMap((c) => ["--cap-add", c]),
      "--security-opt", "no-new-privileges", "-e", `HYPERSCALER_CLUSTER=${name}`, "-v", `${volume}:/var/lib/postgresql/data`, image]);
    docker(["exec", "-i", name, "hyperscaler-install", "/run/hyperscaler/superuser-password", "0400", "root:root"], superPassword);
    docker(["exec", "-i", name, "hyperscaler-pg-set-password", "app", "appdb"], appPassword);
    expect(asApp("CREATE TABLE t (i int PRIMARY KEY, s text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g").code).toBe(0);
  });
  afterAll(() => {
    dockerTry(["rm", "-f", name]);
    dockerTry(["volume", "rm", volume]);
  });

  it("keeps passwords out of the environment, the process list and the server log", () => {
    const inspect = docker(["inspect", name]);
    const logs = docker(["logs", name]) + exec("sh", "-c", "cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\\0' ' '");
    for (const secret of [superPassword, appPassword]) {
      expect(inspect).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });

  it("backs up, verifies by restoring into a scratch database, and records time, size and checksum", () => {
    expect(exec("hyperscaler-pg-backup", "appdb", "2")).toMatch(/backup appdb-\d{8}T\d{6}Z\.dump: \d+ bytes, sha256 [0-9a-f]{64}, 1 tables, verified/);
    const record = JSON.parse(exec("sh", "-c", "cat $(ls /backups/appdb-*.dump.json | tail -1)"));
    expect(record).toMatchObject({ database: "appdb", cluster: name, tables: 1 });
    const actual = exec("sh", "-c", `sha256sum /backups/${record.file} | cut -d' ' -f1`).trim();
    expect(actual).toBe(record.sha256);
    expect(exec("cat", "/backups/metrics/backup-appdb.prom")).toMatch(new RegExp(`hyperscaler_postgres_backup_last_success_timestamp_seconds\\{database="appdb"\\} ${record.epoch}`));
  });

  it("restores the newest backup over later damage, keeping the damaged database aside", () => {
    const before = rowsAndChecksum();
    expect(before).toMatch(/^20000 /);
    expect(asApp("DELETE FROM t WHERE i > 100").code).toBe(0);
    expect(exec("hyperscaler-pg-restore", "appdb")).toMatch(/restored appdb-.*\.dump into appdb; the previous appdb is kept as appdb_before_/);
    expect(rowsAndChecksum()).toBe(before);
  });

  it("lets no other role connect to an application's database, also after a restore", () => {
    const otherPassword = randomBytes(18).toString("base64url");
    docker(["exec", "-i", name, "hyperscaler-pg-set-password", "other", "otherdb"], otherPassword);
    const intoAppdb = dockerTry(["exec", "-e", `PGPASSWORD=${otherPassword}`, name, "psql", "-X", "-At", "-h", "127.0.0.1", "-U", "other", "-d", "appdb", "-c", "SELECT 1"]);
    expect(intoAppdb.stderr).toMatch(/permission denied for database "appdb"/);
    expect(asApp("SELECT current_database()").stdout.trim()).toBe("appdb");
  });

  it("checks a login the way an application makes it, the password on stdin only", () => {
    expect(docker(["exec", "-i", name, "hyperscaler-pg-login", "app", "appdb"], `${appPassword}\n`)).toMatch(/^login ok: app on appdb \(17\./);
    const wrong = dockerTry(["exec", "-i", name, "hyperscaler-pg-login", "app", "appdb"], "not-the-password\n");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed for user "app"/);
  });

  it("keeps only the newest RETAIN backups", async () => {
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 1100)); // backups are named by the second
      exec("hyperscaler-pg-backup", "appdb", "2");
    }
    expect(exec("sh", "-c", "ls /backups/appdb-*.dump | wc -l").trim()).toBe("2");
  });

  it.each([
    ["a missing file", "nope.dump", {}, /no backup file \/backups\/nope\.dump/],
    ["a corrupt file", "corrupt", {}, /is corrupt: its sha256 differs/],
    ["a backup of another cluster", "newest", { HYPERSCALER_CLUSTER: "elsewhere" }, /is from cluster 'hspg\d+', this is 'elsewhere'/],
  ])("refuses %s, changing nothing", (_what, which, env: Record<string, string>, message) => {
    const before = rowsAndChecksum();
    let target = which;
    if (which === "corrupt") {
      target = "appdb-29990101T000000Z.dump";
      exec("sh", "-c", `f=$(ls /backups/appdb-*.dump | tail -1); cp "$f" /backups/${target}; cp "$f.json" /backups/${target}.json; ` +
        `printf XX | dd of=/backups/${target} bs=1 seek=2000 conv=notrunc 2>/dev/null`);
    }
    const r = dockerTry(["exec", ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]), name, "hyperscaler-pg-restore", "appdb", target]);
    exec("sh", "-c", "rm -f /backups/appdb-2999*");
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/refused, nothing changed/);
    expect(r.stderr).toMatch(message);
    expect(rowsAndChecksum()).toBe(before);
  });

  it("refuses a corrupt newest backup and names the newest good one, which then restores", () => {
    const good = exec("sh", "-c", "ls /backups/appdb-*.dump | sort | tail -1").trim().replace("/backups/", "");
    const bad = "appdb-29990101T000000Z.dump";
    exec("sh", "-c", `cp /backups/${good} /backups/${bad}; cp /backups/${good}.json /backups/${bad}.json; ` +
      `printf XX | dd of=/backups/${bad} bs=1 seek=2000 conv=notrunc 2>/dev/null`);
    try {
      const before = rowsAndChecksum();
      const r = dockerTry(["exec", name, "hyperscaler-pg-restore", "appdb", "newest"]);
      expect(r.code).toBe(65);
      expect(r.stderr).toMatch(new RegExp(`${bad} is corrupt`));
      expect(r.stderr).toContain(`the newest good backup of appdb is ${good}: hyperscaler-pg-restore appdb ${good}`);
      expect(rowsAndChecksum()).toBe(before);
      expect(exec("hyperscaler-pg-restore", "appdb", good, "--into", "appdb_check")).toMatch(new RegExp(`restored ${good} into appdb_check`));
    } finally {
      exec("sh", "-c", "rm -f /backups/appdb-2999*");
      execTry("runuser", "-u", "postgres", "--", "dropdb", "--if-exists", "appdb_check");
    }
  });

  it("rotates a password in the running server: a session open before keeps working, the old password stops", async () => {
    const old = appPassword;
    appPassword = randomBytes(18).toString("base64url");
    // A client connected before the rotation stays connected (passwords are checked at login).
    docker(["exec", "-d", "-e", `PGPASSWORD=${old}`, name, "sh", "-c",
      "psql -X -At -h 127.0.0.1 -U app -d appdb -c 'SELECT pg_sleep(3)' -c 'SELECT 42' >/tmp/session.out 2>&1"]);
    await waitFor("the session to connect", () => /pg_sleep/.test(asApp("SELECT query FROM pg_stat_activity WHERE usename = 'app'", old).stdout));
    docker(["exec", "-i", name, "hyperscaler-pg-set-password", "app", "appdb"], appPassword);
    await waitFor("the session to finish", () => /^42$/m.test(execTry("cat", "/tmp/session.out").stdout), 10);
    expect(asApp("SELECT 1").stdout.trim()).toBe("1");
    const rejected = asApp("SELECT 1", old);
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toMatch(/password authentication failed for user "app"/);
    expect(docker(["logs", name])).not.toContain(appPassword);
  });
});

describe("a data volume moving between the two images", () => {
  const vol = `${name}-handover`;
  afterAll(() => {
    dockerTry(["rm", "-f", `${name}-a`, `${name}-b`]);
    dockerTry(["volume", "rm", vol]);
  });

  it("is handed to the other image's postgres user (another uid), data intact", () => {
    const start = (container: string, image: string) => {
      docker(["run", "-d", "--name", container, "--cap-drop", "ALL", ...DAEMON_CAPABILITIES.flatMap((c) => ["--cap-add", c]),
        "-e", `HYPERSCALER_CLUSTER=${name}`, "-v", `${vol}:/var/lib/postgresql/data`, image]);
      docker(["exec", "-i", container, "hyperscaler-install", "/run/hyperscaler/superuser-password", "0400", "root:root"], superPassword);
    };
    const debian = buildRoleImage("postgres", "hyperscaler/postgres:test");
    const official = buildRoleImage("postgres", "hyperscaler/postgres:test-official", buildOfficialPostgresStandIn());
    const uid = (image: string) => docker(["run", "--rm", "--entrypoint", "id", image, "-u", "postgres"]).trim();
    expect(uid(official)).toBe("999");
    expect(uid(debian)).not.toBe("999");
    start(`${name}-a`, debian);
    docker(["exec", "-i", `${name}-a`, "hyperscaler-pg-set-password", "app", "appdb"], appPassword);
    docker(["exec", "-u", "postgres", `${name}-a`, "psql", "-X", "-q", "-d", "appdb", "-c", "CREATE TABLE kept AS SELECT 7 AS n"]);
    docker(["rm", "-f", `${name}-a`]);
    start(`${name}-b`, official);
    const read = () => dockerTry(["exec", "-u", "postgres", `${name}-b`, "psql", "-X", "-At", "-d", "appdb", "-c", "SELECT n FROM kept"]);
    return waitFor("the server on the handed-over volume", () => read().stdout.trim() === "7", 60);
  });
});

describe("a full backup volume", () => {
  const full = `${name}-full`;
  const vol = `${full}-data`;
  const fx = (...cmd: string[]) => docker(["exec", full, ...cmd]);
  afterAll(() => {
    dockerTry(["rm", "-f", full]);
    dockerTry(["volume", "rm", vol]);
  });

  it("fails the backup loudly, leaves no part behind, and keeps the older backups and their metrics", async () => {
    // /backups on a small tmpfs, so that it can be filled without touching the host's disk.
    docker(["run", "-d", "--name", full, "--cap-drop", "ALL", ...DAEMON_CAPABILITIES.flatMap((c) => ["--cap-add", c]),
      "-e", `HYPERSCALER_CLUSTER=${full}`, "-v", `${vol}:/var/lib/postgresql/data`,
      "--mount", "type=tmpfs,destination=/backups,tmpfs-size=16m,tmpfs-mode=1777", buildRoleImage("postgres", "hyperscaler/postgres:test")]);
    docker(["exec", "-i", full, "hyperscaler-install", "/run/hyperscaler/superuser-password", "0400", "root:root"], superPassword);
    docker(["exec", "-i", full, "hyperscaler-pg-set-password", "app", "appdb"], appPassword);
    fx("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-d", "appdb", "-c",
      "CREATE TABLE t AS SELECT g AS i, md5(g::text) AS s FROM generate_series(1, 20000) g");
    const good = /backup (appdb-\S+\.dump):/.exec(fx("hyperscaler-pg-backup", "appdb"))![1];
    const metrics = fx("cat", "/backups/metrics/backup-appdb.prom");
    fx("sh", "-c", "dd if=/dev/zero of=/backups/filler bs=64k 2>/dev/null || true");
    await new Promise((r) => setTimeout(r, 1100)); // backups are named by the second
    const failed = dockerTry(["exec", full, "hyperscaler-pg-backup", "appdb"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/hyperscaler-pg-backup: appdb backup FAILED, nothing recorded, older backups untouched: .*No space left on device/);
    expect(failed.stderr).toMatch(/\/backups: 100% used/);
    expect(fx("ls", "/backups").trim().split("\n").sort()).toEqual([good, `${good}.json`, "filler", "metrics"].sort());
    expect(fx("cat", "/backups/metrics/backup-appdb.prom")).toBe(metrics); // its age grows: PostgresBackupTooOld fires
    const record = JSON.parse(fx("cat", `/backups/${good}.json`));
    expect(fx("sh", "-c", `sha256sum /backups/${good} | cut -d' ' -f1`).trim()).toBe(record.sha256);
    expect(fx("hyperscaler-pg-restore", "appdb", good, "--into", "appdb_check")).toMatch(new RegExp(`restored ${good} into appdb_check`));
  });
});
