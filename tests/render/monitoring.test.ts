import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  alertRules, AlertSpec, GRAFANA_DASHBOARDS_DIR, PROMETHEUS_DATASOURCE_UID, PROMETHEUS_DIR, renderAlertmanagerConfig, renderAlertRules,
  clusterDashboards, renderAlertRuleTests, renderGrafanaDashboardProvider, renderGrafanaDashboards, renderGrafanaDatasources, renderNodeTargets,
  renderPrometheusConfig, renderPrometheusWebConfig,
} from "../../components/render";
import { checkedDashboards, webPasswordHash } from "../../components/monitoring";
import { buildRoleImage, dockerTry } from "../support/docker";
import { configFrom, devValues } from "../support/config";
import { REPO, run } from "../support/run";

// The rendered monitoring configs, consumed by the real promtool and amtool (Debian's, in
// the monitoring image). Every alert has promtool unit tests generated from its threshold.
const config = configFrom({ ...devValues, postgres: { roles: { app: { database: "appdb" } } }, monitoring: {} });
const monitoring = config.monitoring!;
const spec = {
  cluster: "dev", scrapeIntervalSec: monitoring.scrapeIntervalSec, thresholds: monitoring.thresholds,
  alertmanagerHost: "alertmanager", grafanaHost: "grafana",
  postgres: { databases: ["appdb"], backupIntervalMin: 60, pitr: { walMaxDelaySec: 60, backupIntervalMin: 1440 } },
  accounting: { database: "slurm_acct_db", backupIntervalMin: 60 },
  certificates: true,
  backupShip: { intervalMin: 15, parts: ["slurmctld-state", "mariadb-backups"] },
  logs: true,
};
let image: string;
let dir: string;

/** Runs a command in the monitoring image with `files` under `mountAt`. */
function inImage(files: Record<string, string>, mountAt: string, ...cmd: string[]) {
  const d = fs.mkdtempSync(path.join(dir, "case-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(d, name)), { recursive: true });
    fs.writeFileSync(path.join(d, name), text);
  }
  return dockerTry(["run", "--rm", "-v", `${d}:${mountAt}:ro`, "-w", mountAt, "--entrypoint", cmd[0], image, ...cmd.slice(1)]);
}

describe("monitoring configs in real promtool and amtool", () => {
  beforeAll(() => {
    image = buildRoleImage("monitoring", "hyperscaler/monitoring:test");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-prom-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prometheus.yml, its rules and node targets pass promtool check config", () => {
    const r = inImage({
      "prometheus.yml": renderPrometheusConfig(spec),
      "alerts.yml": renderAlertRules(spec),
      "targets/node.json": renderNodeTargets([{ host: "controller", role: "controller" }, { host: "cpu001", role: "compute", group: "cpu" }]),
    }, PROMETHEUS_DIR, "promtool", "check", "config", `${PROMETHEUS_DIR}/prometheus.yml`);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("with TLS (several workstations): prometheus.yml scraping the LAN's exporters over https, and the web config, pass promtool with real certificates", () => {
    const issue = (request: object) => JSON.parse(run("node", [path.join(REPO, "components/tls/issue.js")], { input: JSON.stringify(request) }).stdout);
    const ca = issue({ kind: "ca", commonName: "test CA", days: 10 });
    const leaf = issue({ kind: "leaf", commonName: "prometheus", dnsNames: ["prometheus", "localhost"], usages: ["server", "client"], days: 1, ca });
    const files = {
      "prometheus/prometheus.yml": renderPrometheusConfig({ ...spec, tls: true }),
      "prometheus/alerts.yml": renderAlertRules(spec),
      "prometheus/targets/node.json": renderNodeTargets([{ host: "controller", role: "controller", tls: true }, { host: "postgres", role: "postgres" }]),
      "prometheus/web.yml": renderPrometheusWebConfig(webPasswordHash("a-password")),
      "prometheus/web-password": "a-password",
      "tls/server.pem": leaf.cert + leaf.key,
      "tls/ca.pem": ca.cert,
    };
    const config = inImage(files, "/etc/hyperscaler", "promtool", "check", "config", `${PROMETHEUS_DIR}/prometheus.yml`);
    expect(config.code, config.output).toBe(0);
    const web = inImage(files, "/etc/hyperscaler", "promtool", "check", "web-config", `${PROMETHEUS_DIR}/web.yml`);
    expect(web.code, web.output).toBe(0);
    // Without its certificate the config is refused: the update fails before Prometheus loads it.
    const { ["tls/server.pem"]: _gone, ...missing } = files;
    expect(inImage(missing, "/etc/hyperscaler", "promtool", "check", "config", `${PROMETHEUS_DIR}/prometheus.yml`).code).not.toBe(0);
  });

  it("every alert passes its promtool unit tests: fires at and above its threshold after its duration, silent below", () => {
    const r = inImage({ "alerts.yml": renderAlertRules(spec), "tests.yml": renderAlertRuleTests(spec) }, "/t",
      "promtool", "test", "rules", "tests.yml");
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS");
  });

  it("the unit tests catch rules that drift from the thresholds (promtool test fails)", () => {
    const drifted: AlertSpec = { ...spec, thresholds: { ...spec.thresholds, cpuPercent: { warning: 75, critical: 90, forMin: 10 } } };
    const r = inImage({ "alerts.yml": renderAlertRules(drifted), "tests.yml": renderAlertRuleTests(spec) }, "/t",
      "promtool", "test", "rules", "tests.yml");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/NodeCpuHigh/);
  });

  it("every alert of the dev stack has a firing and a silent case", () => {
    const tests = renderAlertRuleTests(spec);
    const names = [...new Set(alertRules(spec).map((r) => r.alert))];
    expect(names).toEqual(expect.arrayContaining(["NodeCpuHigh", "NodeMemoryHigh", "DiskSpaceHigh", "HttpErrorRateHigh", "HttpLatencyP95High",
      "NodeExporterDown", "SlurmNodeDown", "SlurmNodeDrainedUnexpectedly", "SlurmControllerDown", "MungeCredentialFailures",
      "PostgresDown", "PostgresBackupTooOld", "PostgresBackupMissing"]));
    for (const name of names) {
      expect(tests, name).toMatch(new RegExp(`name: ${name} (warning )?fires`));
      expect(tests, name).toMatch(new RegExp(`name: ${name} is silent`));
    }
  });

  it("thresholds from the stack config are the ones in the rules", () => {
    const custom = configFrom({ ...devValues, monitoring: { thresholds: { cpuPercent: { warning: 60, critical: 80, forMin: 3 } } } });
    const rules = renderAlertRules({ thresholds: custom.monitoring!.thresholds });
    expect(rules).toContain(">= 60\n");
    expect(rules).toContain(">= 80\n");
    expect(rules).toMatch(/alert: NodeCpuHigh\n\s+expr: .*\n\s+for: 3m/);
    expect(rules).not.toContain("PostgresDown");
  });

  it("alertmanager.yml passes amtool check-config, with receivers and routes from config", () => {
    const r = inImage({ "alertmanager.yml": renderAlertmanagerConfig({
      receivers: { oncall: { webhookUrls: ["http://pager.example:8080/hook"] }, chat: { webhookUrls: ["http://chat.example/hook"] } },
      route: { critical: "oncall", warning: "chat" },
    }) }, "/t", "amtool", "check-config", "alertmanager.yml");
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Found:[\s\S]*3 receivers/);
  });

  it("a route to an unknown receiver is refused by amtool (the schema refuses it first)", () => {
    const r = inImage({ "alertmanager.yml": renderAlertmanagerConfig({ receivers: {}, route: { critical: "nobody" } }) }, "/t",
      "amtool", "check-config", "alertmanager.yml");
    expect(r.code).not.toBe(0);
    expect(() => configFrom({ ...devValues, monitoring: { alertmanager: { route: { critical: "nobody" } } } }))
      .toThrow(/monitoring\.alertmanager\.route\.critical.*unknown receiver 'nobody'/);
  });

  it("node targets list every host with its node name and role", () => {
    const targets = JSON.parse(renderNodeTargets([{ host: "cpu002", role: "compute", group: "cpu" }, { host: "controller", role: "controller" }]));
    expect(targets).toEqual([
      { targets: ["controller:9100"], labels: { node: "controller", role: "controller" } },
      { targets: ["cpu002:9100"], labels: { node: "cpu002", role: "compute", group: "cpu" } },
    ]);
  });

  it("Grafana provisioning: the datasource the dashboards name, the provider's path, one dashboard per source dashboard", () => {
    const ds = renderGrafanaDatasources("http://prometheus:9090");
    expect(ds).toContain(`uid: ${PROMETHEUS_DATASOURCE_UID}`);
    expect(renderGrafanaDashboardProvider()).toContain(`path: ${GRAFANA_DASHBOARDS_DIR}`);
    const dashboards = Object.values(renderGrafanaDashboards("dev", { ...spec, gpus: true })).map((j) => JSON.parse(j));
    expect(dashboards.map((d) => d.uid)).toEqual(["hyperscaler-dev-cluster-overview", "hyperscaler-dev-nodes", "hyperscaler-dev-postgres", "hyperscaler-dev-accounting", "hyperscaler-dev-gpus"]);
    for (const dashboard of dashboards) {
      const ids = dashboard.panels.map((p: { id: number }) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of dashboard.panels) for (const t of p.targets) expect(t.datasource.uid).toBe(PROMETHEUS_DATASOURCE_UID);
    }
    // A panel with an alert draws the alert's levels from the same config.
    const cpu = dashboards[1].panels.find((p: { title: string }) => p.title === "CPU use");
    const { warning, critical } = monitoring.thresholds.cpuPercent;
    expect(cpu.fieldConfig.defaults.thresholds.steps.map((s: { value: number | null }) => s.value)).toEqual([null, warning, critical]);
  });

  it("every dashboard validates against the schemas the dashboard server loads (percli); one they refuse fails before anything is made, naming it", () => {
    const all = clusterDashboards({ ...spec, gpus: true });
    const rendered = checkedDashboards("dev", all);
    expect(Object.keys(rendered)).toEqual(["cluster-overview", "nodes", "postgres", "accounting", "gpus"]);
    expect(JSON.parse(rendered.nodes).metadata).toEqual({ name: "nodes", project: "dev" });
    // A unit the Perses renderer has no format for: the stat chart's required format is missing.
    const broken = { ...all[0], name: "broken", panels: [{ ...all[0].panels[5], unit: "furlongs" as never }] };
    expect(broken.panels[0].kind).toBe("stat");
    expect(() => checkedDashboards("dev", [all[1], broken]))
      .toThrow(/hyperscaler:monitoring\.dashboards: dashboard 'broken' does not validate against Perses's schemas: .*format/s);
  });

  it("draws each panel's lines at its alert's levels: the same numbers the rules fire at", () => {
    const panel = (dashboard: string, title: string) => clusterDashboards(spec).find((d) => d.name === dashboard)!.panels.find((p) => p.title === title)!;
    const rule = (alert: string) => alertRules(spec).filter((r) => r.alert === alert).map((r) => r.expr).join(" ");
    const { warning, critical } = monitoring.thresholds.cpuPercent;
    expect(panel("nodes", "CPU use").levels).toMatchObject({ warning, critical });
    expect(rule("PostgresWalArchiveBehind")).toContain(`> ${panel("postgres", "WAL archive lag").levels!.critical}`);
    expect(rule("PostgresPitrBackupTooOld")).toContain(`> ${panel("postgres", "Backup age").levels!.critical}`);
  });

  it("every panel's query is PromQL that promtool parses, on every dashboard a stack can have", () => {
    const queries = clusterDashboards({ ...spec, gpus: true }).flatMap((d) => d.panels.flatMap((p) => p.queries.map((q) => q.expr)));
    expect(queries.length).toBeGreaterThan(25);
    // promtool parses each panel's query as a recording rule: a typo in PromQL fails here.
    const asRules = stringify({ groups: [{ name: "panels", rules: queries.map((expr, i) => ({ record: `panel:${i}`, expr })) }] });
    const r = inImage({ "panels.yml": asRules }, "/t", "promtool", "check", "rules", "panels.yml");
    expect(r.code, r.output).toBe(0);
  });
});
