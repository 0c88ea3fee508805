import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROMETHEUS_DIR } from "../../components/render";
import { ok, TestProject, SHARED_CPUS } from "../support/stack";
import { docker, dockerTry } from "../support/docker";
import { jobState } from "../support/slurm";
import { waitFor } from "../support/wait";
import { runProcedure } from "../support/runbook";
import { freePort, run } from "../support/run";
import { dashboardsDrawn } from "../support/browser";

// Monitoring deployed with a cluster through the real engine: Prometheus's own API shows
// node, SLURM and PostgreSQL series; scaling changes the targets in the same update with
// no new Prometheus container; a drain the stack performs raises no alert.
const stack = `mon${process.pid}`;
const prometheus = `${stack}-prometheus`;
const port = freePort();
const logsPort = freePort();
const dashboardsPort = freePort();
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
const ctl = (...cmd: string[]) => docker(["exec", `${stack}-controller`, ...cmd]);

/** An instant query against the stack's Prometheus, from inside its container. */
function query(promql: string): { metric: Record<string, string>; value: [number, string] }[] {
  const body = JSON.parse(docker(["exec", prometheus, "curl", "-fsS", "-G", "http://127.0.0.1:9090/api/v1/query", "--data-urlencode", `query=${promql}`]));
  expect(body.status).toBe("success");
  return body.data.result;
}
const scalar = (promql: string) => Number(query(promql)[0]?.value[1] ?? NaN);
/** The alerting rules Prometheus runs. */
const rules = (): { name: string; query: string }[] =>
  JSON.parse(docker(["exec", prometheus, "curl", "-fsS", "http://127.0.0.1:9090/api/v1/rules"])).data.groups.flatMap((g: { rules: unknown[] }) => g.rules);
const containerId = () => docker(["inspect", "--format", "{{.Id}}", prometheus]).trim();

/** A LogsQL query to the stack's log store, as an operator sends it from the workstation (its published port); undefined while it does not answer. */
function logsTry(logsql: string): Record<string, string>[] | undefined {
  const r = run("curl", ["-fsS", `http://127.0.0.1:${logsPort}/select/logsql/query`, "--data-urlencode", `query=${logsql}`]);
  return r.code === 0 ? r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : undefined;
}
function logs(logsql: string): Record<string, string>[] {
  const lines = logsTry(logsql);
  expect(lines, `the log store answers ${logsql}`).toBeDefined();
  return lines!;
}

beforeAll(() => {
  project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 2\n      memoryMiB: 256\n` + SHARED_CPUS +
    `  hyperscaler:postgres:\n    roles:\n      app:\n        database: appdb\n` +
    `  hyperscaler:monitoring:\n    scrapeIntervalSec: 5\n    prometheus:\n      port: ${port}\n    alertmanager:\n      port: false\n    logs:\n      port: ${logsPort}\n    dashboards:\n      port: ${dashboardsPort}\n`);
});
afterAll(() => {
  pulumi("destroy", "--yes");
  project.remove();
});

describe("monitoring in the stack", () => {
  it("deploys Prometheus that scrapes every node, SLURM and PostgreSQL, with the alert rules loaded", async () => {
    const t0 = Date.now();
    ok(pulumi("up", "--yes"));
    console.log(`deploy with monitoring: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(query('up{job="node"} == 1').map((r) => r.metric.node).sort()).toEqual(["controller", "cpu001", "cpu002", "postgres"]);
    await waitFor("SLURM metrics from the controller", () => scalar("slurm_controller_up") === 1, 60);
    await waitFor("both nodes idle in SLURM's metrics", () => scalar('slurm_nodes{state="idle"}') === 2, 60);
    expect(scalar('slurm_partition_cpus{partition="batch",state="total"}')).toBe(2);
    await waitFor("PostgreSQL's exporter", () => scalar("pg_up") === 1, 60);
    expect(query("hyperscaler_munge_ok == 1").map((r) => r.metric.node).sort()).toEqual(["controller", "cpu001", "cpu002"]);
    expect(query('node_memory_MemTotal_bytes{node="cpu001"}')).toHaveLength(1);
    const names = rules().map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(["NodeCpuHigh", "SlurmNodeDrainedUnexpectedly", "PostgresDown", "PostgresBackupTooOld"]));
    expect(scalar("count(prometheus_notifications_alertmanagers_discovered)")).toBe(1);
    expect(project.output(stack, "manifest").monitoring).toMatchObject({ prometheus, scrapedNodes: 4 });
  });

  it("publishes the web UI on 127.0.0.1 only, and Alertmanager not at all when its port is false", () => {
    expect(JSON.parse(docker(["inspect", "--format", "{{json .HostConfig.PortBindings}}", prometheus])))
      .toEqual({ "9090/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
    expect(docker(["inspect", "--format", "{{json .HostConfig.PortBindings}}", `${stack}-alertmanager`]).trim()).toMatch(/^(\{\}|null)$/);
  });

  it("follows a scale-up: the new node is scraped after the same up, Prometheus is not replaced", () => {
    const before = containerId();
    project.setConfig(stack, "nodeGroups.cpu.count", "3");
    ok(pulumi("up", "--yes"));
    expect(containerId()).toBe(before);
    expect(query('up{job="node"} == 1').map((r) => r.metric.node).sort()).toEqual(["controller", "cpu001", "cpu002", "cpu003", "postgres"]);
  });

  it("follows a scale-in whose drain waits for a job, and the stack's own drain raises no alert", async () => {
    const before = containerId();
    // Long enough for several scrapes (5 s) of the draining node; at 20 s the removed node's
    // series could still be there right after the up.
    const job = ctl("sbatch", "--parsable", "-w", "cpu003", "--wrap", "sleep 60").trim();
    await waitFor("job to start", () => jobState(ctl, job) === "RUNNING");
    project.setConfig(stack, "nodeGroups.cpu.count", "2");
    ok(pulumi("up", "--yes"));
    expect(containerId()).toBe(before);
    expect(query('up{job="node"}').map((r) => r.metric.node).sort()).toEqual(["controller", "cpu001", "cpu002", "postgres"]);
    // SLURM's metrics saw the node draining, labelled as the stack's own drain...
    expect(scalar('max_over_time(slurm_node_state{node="cpu003",state=~"drain.*",planned="true"}[5m])')).toBe(1);
    // ...and no drain alert ever went pending or firing.
    expect(query('max_over_time(ALERTS{alertname="SlurmNodeDrainedUnexpectedly"}[5m])')).toEqual([]);
  });

  it("applies new thresholds by reloading the rules: no new container", () => {
    const before = containerId();
    project.setConfig(stack, "monitoring.thresholds.cpuPercent.warning", "60");
    const preview = ok(pulumi("preview", "--diff"));
    expect(preview.stdout).toMatch(/alerts\.yml/);
    ok(pulumi("up", "--yes"));
    expect(containerId()).toBe(before);
    expect(rules().filter((r) => r.name === "NodeCpuHigh").map((r) => r.query.replace(/.* >= /, ""))).toEqual(["60", "90"]);
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("refuses a bad rule file the way an update delivers one: promtool's message, Prometheus keeps its last good rules", () => {
    const ruleSet = () => rules().map((x) => `${x.name}: ${x.query}`).sort();
    const good = ruleSet();
    expect(good.length).toBeGreaterThan(10);
    // The command the alerts.yml delivery runs on an update (components/monitoring), with a broken file.
    const r = dockerTry(["exec", "-i", prometheus, "sh", "-c", `hyperscaler-install ${PROMETHEUS_DIR}/alerts.yml 0644 root:root && hyperscaler-reload`],
      "groups:\n- name: broken\n  rules:\n  - alert: Broken\n    expr: rate(up[5m]\n");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/FAILED/);
    expect(r.output).toMatch(/alerts\.yml/);
    expect(ruleSet()).toEqual(good);
    expect(scalar("prometheus_config_last_reload_successful")).toBe(1);
    // Re-delivering the stack's own file puts it right (troubleshooting.md: replace the delivery).
    const urn = `urn:pulumi:${stack}::hyperscaler::hyperscaler:cluster:HyperscalerCluster$hyperscaler:monitoring:Monitoring$command:local:Command::${stack}-monitoring-alerts.yml`;
    ok(pulumi("up", "--yes", "--replace", urn));
    expect(docker(["exec", prometheus, "promtool", "check", "rules", `${PROMETHEUS_DIR}/alerts.yml`])).toMatch(/SUCCESS/);
    expect(ruleSet()).toEqual(good);
  });

  it("lets a critical alert silence the warning of the same alert and instance in the running Alertmanager", async () => {
    const am = `${stack}-alertmanager`;
    const api = (...args: string[]) => docker(["exec", am, "curl", "-fsS", ...args]);
    const alert = (severity: string, instance: string) => ({ labels: { alertname: "InhibitionProbe", severity, instance }, annotations: { summary: "test" } });
    api("-X", "POST", "-H", "Content-Type: application/json", "http://127.0.0.1:9093/api/v2/alerts", "-d",
      JSON.stringify([alert("warning", "a:9100"), alert("critical", "a:9100"), alert("warning", "b:9100")]));
    type AmAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    const probes = () => (JSON.parse(api("http://127.0.0.1:9093/api/v2/alerts?filter=alertname%3D%22InhibitionProbe%22")) as AmAlert[])
      .map((a) => `${a.labels.instance} ${a.labels.severity} ${a.status.state}`).sort();
    await waitFor("Alertmanager to apply its inhibition", () => probes().includes("a:9100 warning suppressed"), 30);
    // The warning beside a critical one is suppressed; the critical one, and a warning alone, are not.
    expect(probes()).toEqual(["a:9100 critical active", "a:9100 warning suppressed", "b:9100 warning active"]);
  });

  it("gathers every container's output in the log store: a failed job's lines by one LogsQL query, with cluster, workstation, container and role", async () => {
    const job = ctl("sbatch", "--parsable", "-o", "/dev/null", "-w", "cpu001", "--wrap", "exit 3").trim();
    await waitFor("the job to fail", () => jobState(ctl, job) === "FAILED", 60);
    let lines: Record<string, string>[] = [];
    await waitFor("slurmctld's line about the job's end in the log store", () => (lines = logs(`_time:10m index:=${stack} "JobId=${job}"`)).some((l) => /WEXITSTATUS 3/.test(l._msg)), 60);
    const controller = lines.find((l) => /WEXITSTATUS 3/.test(l._msg));
    expect(controller, JSON.stringify(lines)).toBeDefined();
    expect(controller).toMatchObject({ index: stack, source: "local", "event.tag": `${stack}-controller`, "event.attrs.hyperscaler.role": "controller" });
    // Every container but the store itself sends there: the nodes, PostgreSQL, the monitoring.
    const sent = new Set(logs(`_time:1h index:=${stack} | stats by (event.tag) count() n`).map((l) => l["event.tag"]));
    for (const c of ["controller", "cpu001", "postgres", "prometheus", "alertmanager"]) expect(sent, c).toContain(`${stack}-${c}`);
    expect(sent).not.toContain(`${stack}-logs`);
    // docker logs still reads the same lines (Docker's own copy).
    expect(run("docker", ["logs", `${stack}-controller`]).output).toMatch(new RegExp(`JobId=${job}\\b`));
    expect(scalar('up{job="logs"}')).toBe(1);
    // The troubleshooting guide's queries, run as written.
    runProcedure("logs-search", { cwd: project.dir, env: { ...project.backend.env, STACK: stack, LOGS: `http://127.0.0.1:${logsPort}` } });
  });

  it("runs on while the log store is down, and its lines of that time arrive once it is back", async () => {
    const store = `${stack}-logs`;
    docker(["stop", store]);
    try {
      await waitFor("Prometheus to see the store down", () => scalar('up{job="logs"}') === 0, 60);
      // The cluster does not notice: a job runs, a node restarts (its container starts with the store away).
      const job = ctl("sbatch", "--parsable", "-o", "/dev/null", "-w", "cpu002", "--wrap", "exit 4").trim();
      await waitFor("the job to fail", () => jobState(ctl, job) === "FAILED", 60);
      docker(["restart", `${stack}-cpu002`]);
      expect(docker(["inspect", "--format", "{{.State.Running}}", `${stack}-cpu002`]).trim()).toBe("true");
      expect(rules().map((r) => r.name)).toContain("LogStoreDown");
      docker(["start", store]);
      await waitFor("the outage's line in the store", () => !!logsTry(`_time:10m index:=${stack} "JobId=${job}"`)?.some((l) => /WEXITSTATUS 4/.test(l._msg)), 90);
    } finally {
      dockerTry(["start", store]);
    }
    await waitFor("Prometheus to see the store up", () => scalar('up{job="logs"}') === 1, 60);
  });

  it("opens every dashboard in a headless browser: each panel draws series from the running cluster (screenshots kept)", async () => {
    const drawn = await dashboardsDrawn(dashboardsPort, stack);
    expect(Object.keys(drawn).sort()).toEqual(["cluster-overview", "nodes", "postgres"]);
    // Each node's series, by name, in the legend: the data is this cluster's. cpu003, removed by
    // the scale-in above, is still in the dashboard's last five minutes when its last scrapes are.
    const legend = [...drawn.nodes.find((p) => p.title === "CPU use")!.series].sort();
    expect(legend.filter((node) => node !== "cpu003")).toEqual(["controller", "cpu001", "cpu002", "postgres"]);
  });

  it("refuses a dashboard its schemas do not allow, with Perses's reason, and keeps serving the one before", () => {
    const dashboards = `${stack}-dashboards`;
    const served = () => run("curl", ["-fsS", `http://127.0.0.1:${dashboardsPort}/api/v1/projects/${stack}/dashboards/nodes`]).stdout;
    const before = JSON.parse(served());
    const broken = structuredClone(before);
    broken.spec.panels.p0.spec.plugin.spec.legnd = { position: "bottom" };
    const r = dockerTry(["exec", "-i", dashboards, "hyperscaler-dashboards-provision", "Dashboard", "nodes"], JSON.stringify(broken));
    expect(r.code).toBe(65);
    expect(r.output).toMatch(/Dashboard nodes does not validate \(HTTP 400\).*spec\.legnd: field not allowed/s);
    expect(JSON.parse(served()).spec).toEqual(before.spec);
  });

  it("previews no change with the log driver on every container (Docker reads back what was asked)", () => {
    ok(pulumi("preview", "--refresh", "--expect-no-changes"));
  });
});
