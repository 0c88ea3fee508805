import { stringify } from "yaml";
import { LOG_STORE_PORT } from "../config/spec";
import { AlertCase, alertCases, AlertRule, alertRules, AlertSpec, expandSummary } from "./alerts";

/** Where the monitoring image keeps what is rendered here (images/monitoring). */
export const PROMETHEUS_DIR = "/etc/hyperscaler/prometheus";
export const ALERTMANAGER_DIR = "/etc/hyperscaler/alertmanager";
/** Ports the exporters listen on inside the cluster network (Debian's defaults). */
export const NODE_EXPORTER_PORT = 9100;
export const POSTGRES_EXPORTER_PORT = 9187;
export const MARIADB_EXPORTER_PORT = 9104;
/** The log store's hostname on the cluster network (monitoring.logs): Prometheus scrapes it there. */
export const LOG_STORE_HOST = "logs";

/**
 * TLS on several workstations (images/common/tls-install.sh, images/monitoring): where
 * Prometheus's container keeps its certificate and login, the name every node exporter's
 * certificate carries, and the web login's user.
 */
export const TLS_DIR = "/etc/hyperscaler/tls";
export const PROMETHEUS_TLS = {
  /** The CAs to trust. */
  ca: `${TLS_DIR}/ca.pem`,
  /** Its certificate and key (server, and client to the exporters). */
  pem: `${TLS_DIR}/server.pem`,
  webConfig: `${PROMETHEUS_DIR}/web.yml`,
  /** The login's password, for Prometheus scraping itself. */
  passwordFile: `${PROMETHEUS_DIR}/web-password`,
  /** The login, for curl in the container (hyperscaler-prometheus-api). */
  netrc: `${PROMETHEUS_DIR}/netrc`,
} as const;
export const EXPORTER_SERVER_NAME = "node-exporter";
export const PROMETHEUS_USER = "admin";

/** A host that runs the node exporter (with its textfile metrics: SLURM, MUNGE, backups). */
export interface ScrapeHost {
  readonly host: string;
  readonly role: "controller" | "compute" | "postgres" | "dbd" | "mariadb" | "backup-shipper";
  readonly group?: string;
  /** Where to scrape it when its name does not resolve there (a node on another workstation). @default - host */
  readonly address?: string;
  /** Its exporter serves TLS and asks for Prometheus's certificate (a node on the LAN). @default false */
  readonly tls?: boolean;
}

export interface MonitoringRenderSpec extends AlertSpec {
  readonly cluster: string;
  readonly scrapeIntervalSec: number;
  /** Hosts the Alertmanager and (optionally) Grafana run as on the cluster network. */
  readonly alertmanagerHost: string;
  readonly grafanaHost?: string;
  /** Prometheus serves TLS with a login, and scrapes the exporters that serve TLS with its certificate. @default false */
  readonly tls?: boolean;
}

const yaml = (doc: unknown, header: string) => `# ${header}\n# Rendered by hyperscaler (components/render); edit the stack config, not this file.\n${stringify(doc, { lineWidth: 0, sortMapEntries: false })}`;

/**
 * prometheus.yml. Node targets come from a file (renderNodeTargets) that Prometheus
 * watches, so scaling changes what is scraped without a reload or a new container.
 */
export function renderPrometheusConfig(spec: MonitoringRenderSpec): string {
  const scrape = (job: string, targets: string[]) => ({ job_name: job, static_configs: [{ targets }] });
  return yaml({
    global: {
      scrape_interval: `${spec.scrapeIntervalSec}s`,
      evaluation_interval: `${spec.scrapeIntervalSec}s`,
      external_labels: { cluster: spec.cluster },
    },
    rule_files: [`${PROMETHEUS_DIR}/alerts.yml`],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`${spec.alertmanagerHost}:9093`] }] }] },
    scrape_configs: [
      // honor_labels: SLURM's per-node series (from the controller) name their node in `node`,
      // which must win over the target's own `node` label.
      // A target's scheme comes with it (renderNodeTargets): https for the exporters on the LAN.
      { job_name: "node", honor_labels: true, file_sd_configs: [{ files: [`${PROMETHEUS_DIR}/targets/node.json`] }],
        ...(spec.tls ? { tls_config: { ca_file: PROMETHEUS_TLS.ca, cert_file: PROMETHEUS_TLS.pem, key_file: PROMETHEUS_TLS.pem, server_name: EXPORTER_SERVER_NAME } } : {}) },
      ...(spec.postgres ? [scrape("postgres", [`postgres:${POSTGRES_EXPORTER_PORT}`])] : []),
      ...(spec.accounting ? [scrape("mariadb", [`mariadb:${MARIADB_EXPORTER_PORT}`])] : []),
      spec.tls ? { ...scrape("prometheus", ["localhost:9090"]), scheme: "https", tls_config: { ca_file: PROMETHEUS_TLS.ca },
        basic_auth: { username: PROMETHEUS_USER, password_file: PROMETHEUS_TLS.passwordFile } } : scrape("prometheus", ["localhost:9090"]),
      scrape("alertmanager", [`${spec.alertmanagerHost}:9093`]),
      ...(spec.grafanaHost ? [scrape("grafana", [`${spec.grafanaHost}:3000`])] : []),
      ...(spec.logs ? [scrape("logs", [`${LOG_STORE_HOST}:${LOG_STORE_PORT}`])] : []),
    ],
  }, "Prometheus configuration");
}

/** The node job's file_sd targets: one per host, labelled with its node name and role. */
export function renderNodeTargets(hosts: readonly ScrapeHost[]): string {
  const sorted = [...hosts].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return JSON.stringify(sorted.map((h) => ({
    targets: [`${h.address ?? h.host}:${NODE_EXPORTER_PORT}`],
    labels: { node: h.host, role: h.role, ...(h.group ? { group: h.group } : {}), ...(h.tls ? { __scheme__: "https" } : {}) },
  })), null, 2) + "\n";
}

/** Prometheus's web config (several workstations): TLS, and its one login (a bcrypt hash). */
export function renderPrometheusWebConfig(passwordHash: string): string {
  return yaml({
    tls_server_config: { cert_file: PROMETHEUS_TLS.pem, key_file: PROMETHEUS_TLS.pem },
    basic_auth_users: { [PROMETHEUS_USER]: passwordHash },
  }, "Prometheus web config: read again for each request, so a renewed certificate needs no restart");
}

/** The alert rules file Prometheus loads. */
export function renderAlertRules(spec: AlertSpec): string {
  const rules = alertRules(spec);
  return yaml({
    groups: [{
      name: "hyperscaler",
      rules: rules.map((r: AlertRule) => ({
        alert: r.alert, expr: r.expr, for: `${r.forMin}m`,
        labels: { severity: r.severity }, annotations: { summary: r.summary },
      })),
    }],
  }, "Alert rules, from the thresholds in the stack config (hyperscaler:monitoring.thresholds)");
}

/** promtool unit tests (`promtool test rules`) for every alert in renderAlertRules. */
export function renderAlertRuleTests(spec: AlertSpec, rulesFile = "alerts.yml"): string {
  const summaries = new Map<string, string>();
  for (const r of alertRules(spec)) summaries.set(`${r.alert}/${r.severity}`, r.summary);
  return yaml({
    rule_files: [rulesFile],
    evaluation_interval: "1m",
    tests: alertCases(spec).map((c: AlertCase) => ({
      name: c.name,
      interval: "1m",
      input_series: c.series,
      alert_rule_test: [{
        eval_time: `${c.evalMin}m`,
        alertname: c.alertname,
        exp_alerts: c.firing.map((labels) => ({
          exp_labels: labels,
          exp_annotations: { summary: expandSummary(summaries.get(`${c.alertname}/${labels.severity}`) ?? "", labels) },
        })),
      }],
    })),
  }, "promtool unit tests for the alert rules");
}

export interface AlertmanagerRenderSpec {
  /** Webhook receivers by name. */
  readonly receivers: Readonly<Record<string, { readonly webhookUrls: readonly string[] }>>;
  readonly route: { readonly critical?: string; readonly warning?: string };
}

/** The receiver alerts go to when no route names one: Alertmanager keeps them, sends nothing. */
export const KEEP_RECEIVER = "keep";

/** alertmanager.yml: a route per severity; a critical alert silences its own warning. */
export function renderAlertmanagerConfig(spec: AlertmanagerRenderSpec): string {
  const names = Object.keys(spec.receivers).sort();
  return yaml({
    route: {
      receiver: KEEP_RECEIVER,
      group_by: ["alertname", "cluster", "node"],
      group_wait: "30s", group_interval: "5m", repeat_interval: "4h",
      routes: (["critical", "warning"] as const).filter((s) => spec.route[s])
        .map((s) => ({ receiver: spec.route[s], matchers: [`severity="${s}"`] })),
    },
    inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ["alertname", "instance"] }],
    receivers: [
      { name: KEEP_RECEIVER },
      ...names.map((n) => ({ name: n, webhook_configs: spec.receivers[n].webhookUrls.map((url) => ({ url, send_resolved: true })) })),
    ],
  }, "Alertmanager configuration, from hyperscaler:monitoring.alertmanager");
}
