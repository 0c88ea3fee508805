import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Lab, withLab } from "../support/lab";
import { ok, TEST_ACCOUNTING, TEST_MONITORING, TestProject } from "../support/stack";
import { freePort, leakedSecrets, readTree, REPO, run } from "../support/run";
import { docker, dockerTry } from "../support/docker";
import { endJob, jobState as slurmJobState, nodeNames, nodeState, RUNS_UNTIL_ENDED } from "../support/slurm";
import { waitFor } from "../support/wait";
import { runProcedure } from "../support/runbook";

// A cluster across three workstations: this machine's engine (the controller, monitoring
// and one node) and two more, each a Docker engine in its own network namespace reached
// over SSH (tests/support/workstations.sh), on one bridge that stands for the LAN. The
// cluster's macvlan networks put every container on that LAN at its own address. The
// third workstation is added, brought back and removed through the scaling guide's
// procedures, run as written.
describe("a cluster on several workstations (Docker engines over SSH)", () => {
  const stack = `ws${process.pid}`;
  const project = new TestProject();
  let lab: Lab;
  const pulumi = (...args: string[]) => project.pulumiWithEnv(stack, lab.env, ...args);
  const ctl = (...cmd: string[]) => docker(["exec", `${stack}-controller`, ...cmd]);
  const jobState = (id: string) => slurmJobState(ctl, id);
  const submit = (...args: string[]) => ctl("sbatch", "--parsable", "-o", "/dev/null", ...args).trim();
  const names = (i: number) => lab.docker(i, "ps", "-a", "--format", "{{.Names}}").trim().split("\n").filter(Boolean).sort();
  const ALL = ["cpu001", "edge001", "edge002", "far001"];
  const FAR = { WS: "far", WS_INTERFACE: "lan0", WS_ADDRESSES: "10.77.0.128/27", GROUP: "far" };
  const BACKUPS = { BACKUP_WS: "near", BACKUP_ADDRESS: "10.77.0.20" };
  const procedure = (id: string) => runProcedure(id, { cwd: project.dir, env: { ...project.backend.env, ...lab.env, STACK: stack, ...FAR, ...BACKUPS, WS_HOST: lab.host(2) } });
  const prometheus = (api: string) => JSON.parse(docker(["exec", `${stack}-prometheus`, "hyperscaler-prometheus-api", `/api/v1/${api}`]));
  const query = (promql: string) => prometheus(`query?query=${encodeURIComponent(promql)}`).data.result as { metric: Record<string, string>; value: [number, string] }[];
  const manifest = () => JSON.parse(ok(pulumi("stack", "output", "manifest", "--json")).stdout);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-ws-"));
  /** The log store's front on the LAN, where the other engines send; the store answers LogsQL on the controller's workstation. */
  const LOGS_FRONT = "10.77.0.30";
  const logsPort = freePort();
  const dashboardsPort = freePort();
  /** An instant query as a dashboard panel sends it: through the dashboard server's proxy to Prometheus (TLS, login). */
  const panelQuery = (promql: string) => JSON.parse(ok(run("curl", ["-fsS", "-G",
    `http://127.0.0.1:${dashboardsPort}/proxy/projects/${stack}/datasources/prometheus/api/v1/query`, "--data-urlencode", `query=${promql}`])).stdout).data.result as { metric: Record<string, string> }[];
  const logs = (logsql: string): Record<string, string>[] => ok(run("curl", ["-fsS", `http://127.0.0.1:${logsPort}/select/logsql/query`, "--data-urlencode", `query=${logsql}`]))
    .stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  /** Logs in to PostgreSQL as an application does (TCP, TLS checked against the CA), from its container. */
  const pgLogin = (password: string) => docker(["exec", "-i", `${stack}-postgres`, "hyperscaler-pg-login", "app", "appdb"], `${password}\n`);
  const mariadb = (sql: string) => docker(["exec", `${stack}-mariadb`, "mariadb", "-N", "-B", "-e", sql]).trim();
  const storagePassword = () => /^StoragePass=(\S+)$/m.exec(docker(["exec", `${stack}-slurmdbd`, "cat", "/etc/slurm/slurmdbd.conf"]))![1];
  const served = (server: string, port: number, protocol: string) => docker(["exec", `${stack}-${server}`, "sh", "-c",
    `openssl s_client -starttls ${protocol} -connect 127.0.0.1:${port} </dev/null 2>/dev/null | openssl x509 -noout -serial`]).trim();

  withLab(`w${process.pid}`, 2, project, stack, (made) => { lab = made; });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const config = (nearInterface = "lan0") => [
    ...lab.stackConfig(stack, [[0, "main"], [1, "near", nearInterface]]),
    "  hyperscaler:controller:",
    "    workstation: main",
    "  hyperscaler:nodeGroups:",
    "    cpu:",
    "      count: 1",
    "    edge:",
    "      count: 2",
    "      workstation: near",
    "  hyperscaler:slurm:",
    "    slurmdTimeoutSec: 20",
    "  hyperscaler:overcommit:",
    "    cpu: 5",
    TEST_MONITORING,
    "    logs:",
    `      port: ${logsPort}`,
    `      address: ${LOGS_FRONT}`,
    "    dashboards:",
    `      port: ${dashboardsPort}`,
    "    thresholds:",
    "      downForMin: 1",
    "      certificateExpiryDays:",
    "        warning: 0.2",
    "        critical: 0.1",
    // Certificates of a day, renewed in their last half: the renewal test opens the window.
    "  hyperscaler:tls:",
    "    certificateDays: 1",
    "    renewBeforeDays: 0.5",
    "  hyperscaler:postgres:",
    "    roles:",
    "      app:",
    "        database: appdb",
    ...TEST_ACCOUNTING,
    "",
  ].join("\n");

  it("refuses a workstation interface that is not there, by path, before anything is made", () => {
    project.init(stack, config("lan9"));
    const r = pulumi("preview");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/workstation near \(ssh:\/\/w\d+-ws1\): hyperscaler:workstations\.near\.interface: the engine cannot make the cluster's network on 'lan9'/);
    expect(names(1)).toEqual([]);
    expect(lab.docker(1, "network", "ls", "--format", "{{.Name}}")).not.toMatch(/-net/);
  });

  it("deploys on two engines, then adds a third through the guide; srun -N4 answers from every node; a refreshed preview finds nothing to change", () => {
    project.setConfig(stack, "workstations.near.interface", "lan0");
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(names(1)).toEqual([`${stack}-edge001`, `${stack}-edge002`]);
    expect(ctl("srun", "-N3", "-w", "cpu001,edge001,edge002", "hostname").trim().split("\n").sort()).toEqual(["cpu001", "edge001", "edge002"]);
    const report = procedure("add-workstation");
    // Only the new workstation's resources: nothing that was there changes.
    expect(report).toMatch(/\*\*\d+ to create, \d+ to update, 0 to replace, 0 to delete\*\*/);
    expect(names(2)).toEqual([`${stack}-far001`]);
    // One build, copied: the same image ID on every workstation.
    const id = docker(["inspect", "--format", "{{.Image}}", `${stack}-controller`]).trim();
    expect(lab.docker(2, "inspect", "--format", "{{.Image}}", `${stack}-far001`).trim()).toBe(id);
    expect(nodeNames(ctl)).toEqual(ALL);
    const hosts = ctl("srun", "-N4", "-w", ALL.join(","), "hostname").trim().split("\n").sort();
    expect(hosts).toEqual(ALL);
    // Each node is at an address of its own workstation's range.
    const addr = (node: string) => /NodeAddr=(\S+)/.exec(ctl("scontrol", "show", "node", node))?.[1];
    expect(addr("far001")).toMatch(/^10\.77\.0\.(1[2-5]\d)$/);
    expect(addr("edge001")).toMatch(/^10\.77\.0\.(9[6-9]|1[01]\d|12[0-7])$/);
    // The controller names a node elsewhere from its hosts file, not the LAN's DNS (which
    // drops the query here: each of SLURM's lookups would wait 10 s).
    expect(ctl("getent", "hosts", addr("far001")!)).toMatch(/^10\.77\.0\.1\d\d\s+ip-10-77-0-1\d\d$/m);
    ok(pulumi("refresh", "--yes", "--skip-preview"));
    const preview = ok(pulumi("preview", "--diff", "--expect-no-changes"));
    expect(preview.stdout).not.toMatch(/[+~-]\s+(docker|command)/);
  }, 600_000); // four updates and a refresh over ssh, three engines, images built and copied

  it("moves PostgreSQL's WAL and backups to a repository on workstation near through the guide (SFTP), and restores from there to just before a mistake", () => {
    const pg = `${stack}-postgres`;
    const sql = (q: string) => docker(["exec", pg, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "/run/postgresql", "-d", "appdb", "-c", q]).trim();
    const asRepository = (...cmd: string[]) => lab.docker(1, "exec", `${stack}-backup-repository`, "setpriv", "--reuid=repository", "--regid=repository", "--clear-groups", ...cmd);
    const pitr = (...args: string[]) => run("bash", [path.join(REPO, "scripts/pg-pitr.sh"), ...args, "--stack", stack], { cwd: project.dir, env: { ...project.backend.env, ...lab.env } });
    // Deployed with the repository beside the data; the guide's procedure moves it.
    expect(docker(["exec", pg, "ls", "/backups/pgbackrest"]).trim()).toBe("key0");
    const report = procedure("backups-elsewhere");
    expect(report).not.toMatch(/on the same machine as its data/);
    expect(lab.docker(1, "ps", "--format", "{{.Names}}")).toContain(`${stack}-backup-repository`);
    expect(docker(["exec", pg, "cat", "/backups/metrics/pitr.prom"])).toMatch(/^hyperscaler_pgbackrest_repository_up 1$/m);
    expect(docker(["exec", pg, "grep", "-c", "^repo1-type=sftp$", "/etc/pgbackrest/pgbackrest.conf"]).trim()).toBe("1");
    sql("CREATE TABLE ledger (id int PRIMARY KEY)");
    sql("INSERT INTO ledger SELECT generate_series(1, 100)");
    const mistakeAt = sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC'");
    sql("DELETE FROM ledger WHERE id > 10");
    // The full backup and the WAL are on near's volume; nothing of pgBackRest's on the controller's workstation.
    const window = pitr("window");
    expect(window.code, window.output).toBe(0);
    const held = asRepository("find", "/repository/postgres/key0", "-type", "f");
    expect(held).toMatch(/\/backup\/[^/]+\/\d{8}-\d{6}F\/backup\.manifest$/m);
    expect(held).toMatch(/\/archive\/[^/]+\/17-1\/[0-9A-F]{16}\/[0-9A-F]{24}-[0-9a-f]{40}\.zst$/m);
    // What was beside the data stays as it was (the guide says so): no new WAL goes there.
    const localWal = () => docker(["exec", pg, "find", "/backups/pgbackrest/key0/archive", "-type", "f", "-name", "0*"]).trim().split("\n").length;
    const walBefore = localWal();
    sql("SELECT pg_switch_wal()");
    ok(pitr("window"));
    expect(localWal()).toBe(walBefore);

    const r = pitr("restore", "--to", mistakeAt);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/recovery stopping before commit of transaction \d+/);
    expect(sql("SELECT count(*) FROM ledger")).toBe("100");
    // No key in the state, the update's output, the containers' settings or the restore's output.
    const firstLine = (pem: string) => pem.split("\n").find((l) => l.length === 64)!;
    const secrets = {
      sftpKey: firstLine(docker(["exec", pg, "cat", "/etc/pgbackrest/sftp-key"])),
      hostKey: firstLine(lab.docker(1, "exec", `${stack}-backup-repository`, "cat", "/etc/hyperscaler/host_key")),
      pitrKey: docker(["exec", pg, "sed", "-n", "s/^repo1-cipher-pass=//p", "/etc/pgbackrest/pgbackrest.conf"]).trim(),
    };
    expect(Object.values(secrets).every((s) => s.length >= 32)).toBe(true);
    const inspected = docker(["inspect", pg]) + lab.docker(1, "inspect", `${stack}-backup-repository`);
    expect(leakedSecrets(readTree(project.backend.dir) + inspected + r.output + window.output, secrets)).toEqual([]);
  }, 300_000);

  it("copies slurmctld's state and MariaDB's verified dumps to the repository with restic, which a one-off container restores into a new volume; Prometheus sees each copy arrive", async () => {
    const shipper = `${stack}-backup-shipper`;
    const dump = docker(["exec", `${stack}-mariadb`, "hyperscaler-mariadb-backup", "slurm_acct_db"]);
    expect(dump).toMatch(/^backup slurm_acct_db-\S+\.sql\.gz: \d+ bytes, sha256 [0-9a-f]{64}/m);
    const before = Math.floor(Date.now() / 1000);
    const shipped = docker(["exec", shipper, "hyperscaler-backup-ship", "now"]);
    expect(shipped).toMatch(/^shipped mariadb-backups: /m);
    expect(shipped).toMatch(/^shipped slurmctld-state: /m);
    // The shipper's node exporter tells Prometheus when each folder's copy arrived (what BackupShipLate reads).
    const arrived = () => Object.fromEntries(query("hyperscaler_backup_ship_last_success_timestamp_seconds").map((r) => [r.metric.part, Number(r.value[1])]));
    await waitFor("both copies' arrival scraped", () => ["mariadb-backups", "slurmctld-state"].every((part) => (arrived()[part] ?? 0) >= before), 60);
    expect(query("hyperscaler_backup_ship_repository_up").map((r) => r.value[1])).toEqual(["1"]);
    const rules = (prometheus("rules").data.groups as { rules: { name: string }[] }[]).flatMap((g) => g.rules.map((r) => r.name));
    expect(rules).toEqual(expect.arrayContaining(["BackupShipLate", "BackupShipMissing"]));
    expect(docker(["exec", shipper, "hyperscaler-backup-ship", "snapshots"])).toMatch(/slurmctld-state\s+\/ship\/slurmctld-state/);
    // Encrypted on near's volume: no dump's name or content there in the clear.
    const held = lab.docker(1, "exec", `${stack}-backup-repository`, "setpriv", "--reuid=repository", "--regid=repository", "--clear-groups", "find", "/repository/files", "-type", "f");
    expect(held).toMatch(/^\/repository\/files\/config$/m);
    expect(held).not.toMatch(/sql\.gz|job_state/);
    // Restored as the drill will: a new volume, a one-off container, the settings and keys on stdin.
    const image = docker(["inspect", "--format", "{{.Image}}", shipper]).trim();
    const network = `${stack}-platform`;
    for (const part of ["mariadb-backups", "slurmctld-state"]) {
      const volume = `${stack}-restored-${part}`;
      docker(["volume", "create", "--label", `hyperscaler.cluster=${stack}`, volume]);
      const restored = run("sh", ["-c", `docker exec ${shipper} hyperscaler-backup-ship files | docker run --rm -i --network ${network} -e HYPERSCALER_CLUSTER=${stack} ` +
        `-v ${volume}:/restore --entrypoint hyperscaler-backup-ship ${image} restore ${part} /restore`]);
      expect(restored.code, restored.output).toBe(0);
      const list = (mount: string) => docker(["run", "--rm", "-v", `${mount}:/d:ro`, "--entrypoint", "sh", image, "-c", "cd /d && find . -type f | sort"]).trim();
      const source = part === "slurmctld-state" ? `${stack}-slurmctld-state` : `${stack}-mariadb-backups`;
      if (part === "mariadb-backups") expect(list(volume)).toBe(list(source));
      else expect(list(volume)).toMatch(/^\.\/job_state$/m);
    }
    // The restic password: in no state file, no container's settings.
    const resticPassword = docker(["exec", shipper, "cat", "/etc/hyperscaler/restic-password"]).trim();
    expect(resticPassword.length).toBeGreaterThanOrEqual(32);
    expect(leakedSecrets(readTree(project.backend.dir) + docker(["inspect", shipper]) + shipped, { resticPassword })).toEqual([]);
  }, 300_000);

  it("finds the lines of a job that failed on workstation near, slurmd's and slurmctld's, by one LogsQL query on the controller's workstation", async () => {
    const job = submit("-w", "edge001", "--wrap", "exit 3");
    await waitFor("the job to fail", () => jobState(job) === "FAILED", 60);
    let lines: Record<string, string>[] = [];
    // slurmctld names the job JobId=N; slurmd says "Launching batch job N".
    const seen = () => new Set((lines = logs(`_time:10m index:=${stack} ("JobId=${job}" OR "batch job ${job}")`)).map((l) => `${l.source} ${l["event.tag"]}`));
    await waitFor("slurmd's (near) and slurmctld's (main) lines about the job", () => seen().has(`near ${stack}-edge001`) && seen().has(`main ${stack}-controller`), 60);
    expect(lines.find((l) => l["event.tag"] === `${stack}-edge001`)).toMatchObject({ index: stack, source: "near", "event.attrs.hyperscaler.role": "compute" });
    // Every workstation's engine sends: near's and far's nodes (through the front on the LAN), main's own.
    const tags = new Set(logs(`_time:1h index:=${stack} | stats by (source, event.tag) count() n`).map((l) => `${l.source} ${l["event.tag"]}`));
    for (const t of ["main controller", "main cpu001", "main postgres", "main mariadb", "main slurmdbd", "near edge002", "far far001"]) {
      expect(tags, t).toContain(t.replace(" ", ` ${stack}-`));
    }
    // No secret in any line the store holds (the daemons' output, the deliveries' and restores' as they ran).
    const everything = JSON.stringify(logs(`_time:1d index:=${stack}`));
    const resticPassword = docker(["exec", `${stack}-backup-shipper`, "cat", "/etc/hyperscaler/restic-password"]).trim();
    expect(leakedSecrets(everything, { resticPassword, storagePassword: storagePassword() })).toEqual([]);
  });

  it("scrapes the nodes on other workstations at their addresses", async () => {
    await waitFor("every node exporter scraped", () => (prometheus("query?query=up%7Bjob%3D%22node%22%7D").data.result as { value: string[] }[])
      .filter((r) => r.value[1] === "1").length === 9, 120); // 4 nodes, the controller, PostgreSQL, slurmdbd, MariaDB, the backup shipper
    // The dashboards read the same Prometheus over TLS with its login, through the dashboard server's proxy.
    const nodes = (result: { metric: Record<string, string> }[]) => result.map((r) => r.metric.node).sort();
    expect(nodes(panelQuery('up{job="node"} == 1'))).toEqual(nodes(query('up{job="node"} == 1')));
    expect(panelQuery('up{job="node"} == 1')).toHaveLength(9);
  });

  it("lets a LAN host that is no workstation reach SLURM's daemons and the metrics, never the databases, slurmdbd or Alertmanager; the backup repository's SFTP only with the stack's key", async () => {
    // Every cluster container's address on the LAN (the macvlan network), on every engine.
    const lanAddresses = (inspect: (...args: string[]) => string) => inspect("ps", "-q", "--filter", `label=hyperscaler.cluster=${stack}`).trim().split("\n").filter(Boolean)
      .map((id) => inspect("inspect", "--format", `{{.Name}} {{with index .NetworkSettings.Networks "${stack}-net"}}{{.IPAddress}}{{end}}`, id).trim().replace(/^\//, "").split(" "))
      .map(([name, address]) => ({ name: name.slice(stack.length + 1), address }));
    const containers = [...lanAddresses((...a) => docker(a)), ...lanAddresses((...a) => lab.docker(1, ...a)), ...lanAddresses((...a) => lab.docker(2, ...a))];
    const onLan = containers.filter((c) => c.address).map((c) => c.name).sort();
    expect(onLan).toEqual(["backup-repository", "controller", "cpu001", "edge001", "edge002", "far001", "logs-ingest", "prometheus"]);
    expect(containers.filter((c) => !c.address).map((c) => c.name).sort()).toEqual(["alertmanager", "backup-shipper", "dashboards", "logs", "mariadb", "postgres", "slurmdbd"]);
    const PORTS = [22, 3000, 3306, 5432, 6817, 6818, 6819, 9090, 9093, 9100, 9104, 9187, 9428];
    const seen = lab.probe(containers.filter((c) => c.address).flatMap((c) => PORTS.map((p) => `${c.address}:${p}`)));
    const open = containers.filter((c) => c.address).flatMap((c) => PORTS.filter((p) => seen[`${c.address}:${p}`] === "open").map((p) => `${c.name}:${p}`)).sort();
    // SLURM's daemons check MUNGE credentials; the node exporters and Prometheus serve TLS and want credentials (below).
    expect(open).toEqual(["backup-repository:22", "controller:6817", "controller:9100", "cpu001:6818", "cpu001:9100", "edge001:6818", "edge001:9100", "edge002:6818", "edge002:9100",
      "far001:6818", "far001:9100", "logs-ingest:9428", "prometheus:9090"]);
    // The log store's front takes lines from the LAN but answers no query: the lines are read on the controller's workstation only.
    const query = lab.visit("curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", `http://${LOGS_FRONT}:9428/select/logsql/query?query=*`);
    expect(query.stdout).toBe("400");
    // Inside the cluster every service still answers: the controller reaches slurmdbd, Prometheus the rest.
    const reach = (from: string, target: string) => dockerTry(["exec", `${stack}-${from}`, "bash", "-c", `exec 3<>/dev/tcp/${target.replace(":", "/")}`]).code;
    expect(["slurmdbd:6819", "postgres:5432", "mariadb:3306", "alertmanager:9093"].map((t) => [t, reach("controller", t)])).toEqual(
      ["slurmdbd:6819", "postgres:5432", "mariadb:3306", "alertmanager:9093"].map((t) => [t, 0]));
    expect(ctl("sacctmgr", "-n", "-P", "show", "account", "physics", "format=account")).toContain("physics");

    // What the visitor gets from the TLS endpoints and the repository's SSH: nothing without credentials.
    const address = (name: string) => containers.find((c) => c.name === name)!.address;
    const ssh = lab.visit("ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
      `repository@${address("backup-repository")}`, "true");
    expect(ssh.code).not.toBe(0);
    expect(ssh.stderr).toMatch(/Permission denied \(publickey\)/);
    const caFile = path.join(tmp, "cluster-ca.pem");
    fs.writeFileSync(caFile, ok(pulumi("stack", "output", "caCertificate")).stdout);
    const curl = (...args: string[]) => lab.visit("curl", "-sS", "-m", "10", "--cacert", caFile, ...args);
    for (const node of ["controller", "cpu001", "edge001", "far001"]) {
      const exporter = address(node);
      expect(lab.visit("curl", "-sS", "-m", "10", `http://${exporter}:9100/metrics`).stdout, `${node} over plain HTTP`).not.toContain("node_cpu");
      const noCertificate = curl("--resolve", `node-exporter:9100:${exporter}`, "https://node-exporter:9100/metrics");
      expect(noCertificate.code, `${node} without a client certificate`).not.toBe(0);
      expect(noCertificate.stdout).not.toContain("node_cpu");
    }
    const api = `https://${address("prometheus")}:9090/api/v1/query?query=up`;
    expect(curl("-o", "/dev/null", "-w", "%{http_code}", api).stdout).toBe("401");
    expect(curl("-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:guess", api).stdout).toBe("401");
    // With the login, and the CA from the stack's outputs (the certificate names Prometheus's LAN address).
    const login = JSON.parse(ok(pulumi("stack", "output", "prometheusLogin", "--show-secrets", "--json")).stdout) as { user: string; password: string };
    const answered = curl("-f", "-u", `${login.user}:${login.password}`, api);
    expect(answered.code, answered.output).toBe(0);
    expect(JSON.parse(answered.stdout).status).toBe("success");
    // Prometheus's own certificate is what an exporter answers.
    expect(docker(["exec", `${stack}-prometheus`, "curl", "-fsS", "--cacert", "/etc/hyperscaler/tls/ca.pem", "--cert", "/etc/hyperscaler/tls/server.pem",
      "--resolve", `node-exporter:9100:${address("far001")}`, "https://node-exporter:9100/metrics"])).toContain("node_cpu");
    const down = () => (prometheus("targets").data.activeTargets as { labels: { instance: string }; health: string }[]).filter((t) => t.health !== "up").map((t) => t.labels.instance);
    await waitFor("every target of Prometheus up", () => down().length === 0, 120);

    // The databases, on the platform's bridge, take TLS only. PostgreSQL: an application that
    // checks the certificate against the stack's CA (host `postgres`) gets in; one without TLS does not.
    const app = JSON.parse(ok(pulumi("stack", "output", "postgresLogins", "--show-secrets", "--json")).stdout).app as { password: string };
    expect(pgLogin(app.password)).toMatch(/^login ok: app on appdb \(17\.\d+, TLSv1\.3\)$/m);
    const plain = dockerTry(["exec", "-i", "-e", "PGSSLMODE=disable", `${stack}-postgres`, "hyperscaler-pg-login", "app", "appdb"], `${app.password}\n`);
    expect(plain.code).not.toBe(0);
    expect(plain.output).toMatch(/no pg_hba\.conf entry for host .*, no encryption/);
    const application = dockerTry(["run", "--rm", "--label", `hyperscaler.cluster=${stack}`, "--network", `${stack}-platform`, "-v", `${caFile}:/ca.pem:ro`,
      "-e", `PGPASSWORD=${app.password}`, "--entrypoint", "psql", `hyperscaler/postgres:${stack}`,
      "host=postgres user=app dbname=appdb sslmode=verify-full sslrootcert=/ca.pem", "-XAtc", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"]);
    expect(application.output.trim()).toBe("t");
    // MariaDB: slurmdbd's connection is TLS (it answered sacctmgr above, with TLS required); a client without TLS is refused.
    expect(mariadb("SELECT @@require_secure_transport, @@have_ssl")).toBe("1\tYES");
    const insecure = dockerTry(["exec", "-i", `${stack}-mariadb`, "sh", "-c", 'mariadb -h mariadb -u slurm -p"$(cat)" --skip-ssl -e "SELECT 1"'], storagePassword());
    expect(insecure.code).not.toBe(0);
    expect(insecure.output).toMatch(/insecure transport are prohibited/);
  });

  it("renews the certificates in an up inside their window, with a job running and Prometheus scraping every node throughout", async () => {
    const expiry = () => Object.fromEntries(query('hyperscaler_tls_certificate_expiry_timestamp_seconds{certificate="server"}').map((r) => [r.metric.node, Number(r.value[1])]));
    const before = expiry();
    expect(Object.keys(before).sort()).toEqual(["controller", ...ALL, "mariadb", "postgres"]);
    const servedBefore = { postgres: served("postgres", 5432, "postgres"), mariadb: served("mariadb", 3306, "mysql") };
    expect(manifest().tls.generation).toBe(0);
    const job = submit("-N4", "-w", ALL.join(","), "--wrap", `srun sh -c '${RUNS_UNTIL_ENDED}'`);
    await waitFor("the job on every node to run", () => jobState(job) === "RUNNING");
    const started = Date.now();
    // The window opens 86 s after issue: the certificates of the first update are inside it.
    project.setConfig(stack, "tls.renewBeforeDays", "0.999");
    try {
      const report = procedure("renew-certificates");
      expect(report).toMatch(/"generation": 1/);
      expect(jobState(job)).toBe("RUNNING");
      endJob(ctl, job, "steps");
      await waitFor("the job to complete", () => jobState(job) === "COMPLETED", 60);
    } finally {
      project.setConfig(stack, "tls.renewBeforeDays", "0.5");
      if (jobState(job) !== "COMPLETED") ctl("scancel", job);
    }
    await waitFor("every node's new certificate expiry scraped", () => {
      const after = expiry();
      return Object.keys(before).every((node) => after[node] > before[node]);
    }, 60);
    // Not one failed scrape, nor a missing one, since the job started (a scrape every 5 s).
    const window = Math.ceil((Date.now() - started) / 1000);
    const worst = query(`min_over_time(up{job=~"node|prometheus"}[${window}s])`);
    expect(worst.length).toBe(10); // the 9 node targets (the backup shipper among them) and Prometheus
    expect(worst.filter((r) => r.value[1] !== "1").map((r) => r.metric.instance)).toEqual([]);
    const scrapes = query(`count_over_time(up{job="node"}[${window}s])`).map((r) => Number(r.value[1]));
    expect(Math.min(...scrapes)).toBeGreaterThanOrEqual(Math.floor(window / 5) - 2);
    // The databases serve their new certificates without a restart; their clients still get in.
    expect(served("postgres", 5432, "postgres")).not.toBe(servedBefore.postgres);
    expect(served("mariadb", 3306, "mysql")).not.toBe(servedBefore.mariadb);
    expect(Number(mariadb("SHOW GLOBAL STATUS LIKE 'Uptime'").split("\t")[1])).toBeGreaterThan(window);
    expect(ctl("sacctmgr", "-n", "-P", "show", "account", "physics", "format=account")).toContain("physics");
  }, 600_000);

  it("rotates the CA as the guide says: both CAs trusted while it rolls out, the new one alone after; no scrape fails", () => {
    const oldCa = manifest().tls.ca;
    const started = Date.now();
    const report = procedure("rotate-ca");
    // Each node trusts the new CA alone, on every workstation; Prometheus scraped them all throughout.
    const newCa = manifest().tls.ca;
    expect(newCa).not.toBe(oldCa);
    expect(fs.readFileSync(path.join(project.dir, "cluster-ca.pem"), "utf8").trim()).toBe(newCa.trim());
    expect(report).toMatch(/^\s*1\s*$/m);
    const trusted = (exec: (...cmd: string[]) => string) => exec("cat", "/etc/hyperscaler/tls/ca.pem");
    expect(trusted(ctl)).toBe(newCa);
    expect(trusted((...cmd) => lab.docker(2, "exec", `${stack}-far001`, ...cmd))).toBe(newCa);
    // slurmdbd checks MariaDB's new certificate with the new CA; PostgreSQL's passes the same check.
    expect(trusted((...cmd) => docker(["exec", `${stack}-slurmdbd`, ...cmd]))).toBe(newCa);
    docker(["exec", `${stack}-slurmdbd`, "hyperscaler-dbd-restart"]);
    expect(ctl("sacctmgr", "-n", "-P", "show", "account", "physics", "format=account")).toContain("physics");
    const app = JSON.parse(ok(pulumi("stack", "output", "postgresLogins", "--show-secrets", "--json")).stdout).app as { password: string };
    expect(pgLogin(app.password)).toMatch(/TLSv1\.3/);
    const window = Math.ceil((Date.now() - started) / 1000);
    expect(query(`min_over_time(up{job=~"node|prometheus"}[${window}s])`).filter((r) => r.value[1] !== "1").map((r) => r.metric.instance)).toEqual([]);
    // The dashboards check Prometheus's new certificate with the new CA (the file, read per request).
    expect(panelQuery("up{job=\"node\"} == 1").length).toBeGreaterThan(0);
  }, 600_000);

  it("the preview report asks the controller's recorded engine for the jobs a change touches, whatever DOCKER_HOST says", async () => {
    const job = submit("-w", "edge002", "--wrap", "sleep 300");
    await waitFor("the job on edge002 to run", () => jobState(job) === "RUNNING");
    project.setConfig(stack, "nodeGroups.edge.count", "1");
    let report;
    try {
      // DOCKER_HOST is the other workstation's engine, which has no controller: only the manifest leads there.
      report = run("npx", ["tsx", "scripts/preview-report.ts", "--stack", stack], { cwd: project.dir, env: { ...project.backend.env, ...lab.env, DOCKER_HOST: lab.host(1) } });
    } finally {
      project.setConfig(stack, "nodeGroups.edge.count", "2");
      ctl("scancel", job);
    }
    expect(report.stdout).toMatch(/drain edge002, wait for its jobs/);
    expect(report.stdout).toContain(`job ${job} (root, wrap) on edge002`);
  });

  it("rotates the MUNGE key on every workstation: each node gets it through its own engine, and a job step runs across all", () => {
    const key = (run: (...cmd: string[]) => string) => run("sha256sum", "/etc/munge/munge.key").split(" ")[0];
    const before = key(ctl);
    project.setConfig(stack, "rotation.mungeKeyEpoch", "1");
    ok(pulumi("up", "--yes", "--skip-preview"));
    const after = key(ctl);
    expect(after).not.toBe(before);
    expect(key((...cmd) => lab.docker(1, "exec", `${stack}-edge002`, ...cmd))).toBe(after);
    expect(key((...cmd) => lab.docker(2, "exec", `${stack}-far001`, ...cmd))).toBe(after);
    expect(ctl("srun", "-N4", "-w", ALL.join(","), "hostname").trim().split("\n").sort()).toEqual(ALL);
  });

  it("a lost workstation: its node goes DOWN and alerts, the others run jobs; back, refresh and up restore it", async () => {
    const onFar = submit("-w", "far001", "--wrap", "sleep 600");
    await waitFor("the job on far001 to run", () => jobState(onFar) === "RUNNING");
    lab.stop(2);
    await waitFor("far001 DOWN", () => /down/.test(nodeState(ctl, "far001")), 120);
    const elsewhere = ["cpu001", "edge001", "edge002"].map((n) => submit("-w", n, "--wrap", "sleep 1"));
    await waitFor("jobs on the other workstations to end", () => elsewhere.every((j) => jobState(j) === "COMPLETED"), 120);
    // The job on the lost node is not left RUNNING on nothing.
    expect(jobState(onFar)).not.toBe("RUNNING");
    await waitFor("SlurmNodeDown and NodeExporterDown firing for far001", () => {
      const firing = (prometheus("alerts").data.alerts as { labels: Record<string, string>; state: string }[]).filter((a) => a.state === "firing");
      return ["SlurmNodeDown", "NodeExporterDown"].every((name) => firing.some((a) => a.labels.alertname === name && a.labels.node === "far001"));
    }, 240);
    // While it is away, an update is refused by name before anything changes.
    const refused = pulumi("preview");
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/workstation far \(ssh:\/\/w\d+-ws2\): hyperscaler:workstations\.far\.dockerHost: the Docker engine did not answer/);
    ctl("scancel", onFar);

    lab.start(2);
    procedure("workstation-back");
    await waitFor("far001 back", () => /idle|mix|alloc/.test(nodeState(ctl, "far001")), 120);
    expect(ctl("srun", "-N4", "-w", ALL.join(","), "hostname").trim().split("\n").sort()).toEqual(ALL);
  }, 900_000);

  it("removing a workstation drains its nodes first: its running job completes, then it is gone", async () => {
    const onFar = submit("-w", "far001", "--wrap", "sleep 20");
    await waitFor("the job on far001 to run", () => jobState(onFar) === "RUNNING");
    procedure("remove-workstation");
    expect(jobState(onFar)).toBe("COMPLETED");
    expect(nodeNames(ctl)).toEqual(ALL.filter((n) => n !== "far001"));
    expect(names(2)).toEqual([]);
  }, 600_000);
});
