import { stringify } from "yaml";

/** Where Grafana reads provisioning (the official image's default) and our dashboards. */
export const GRAFANA_PROVISIONING_DIR = "/etc/grafana/provisioning";
export const GRAFANA_DASHBOARDS_DIR = `${GRAFANA_PROVISIONING_DIR}/dashboards/json`;
/** The Prometheus datasource's fixed uid, which the dashboards refer to. */
export const PROMETHEUS_DATASOURCE_UID = "hyperscaler-prometheus";

/** provisioning/datasources/hyperscaler.yml: the cluster's Prometheus, as the default; with its login and CA where it serves TLS. */
export function renderGrafanaDatasources(prometheusUrl: string, tls?: { user: string; password: string; ca: string }): string {
  return stringify({
    apiVersion: 1,
    datasources: [{
      name: "Prometheus", uid: PROMETHEUS_DATASOURCE_UID, type: "prometheus", access: "proxy", url: prometheusUrl, isDefault: true, editable: false,
      ...(tls ? {
        basicAuth: true, basicAuthUser: tls.user, jsonData: { tlsAuthWithCACert: true },
        secureJsonData: { basicAuthPassword: tls.password, tlsCACert: tls.ca },
      } : {}),
    }],
  });
}

/** provisioning/dashboards/hyperscaler.yml: load the JSON dashboards from GRAFANA_DASHBOARDS_DIR. */
export function renderGrafanaDashboardProvider(): string {
  return stringify({
    apiVersion: 1,
    providers: [{ name: "hyperscaler", folder: "hyperscaler", type: "file", disableDeletion: true, allowUiUpdates: false,
      updateIntervalSeconds: 30, options: { path: GRAFANA_DASHBOARDS_DIR } }],
  });
}

interface Panel { title: string; expr: string; legend: string; unit: string }

const PANELS: Panel[] = [
  { title: "SLURM nodes by state", expr: "slurm_nodes", legend: "{{state}}", unit: "short" },
  { title: "Jobs", expr: "slurm_jobs", legend: "{{state}}", unit: "short" },
  { title: "Longest queue wait", expr: "slurm_queue_wait_seconds_max", legend: "max wait", unit: "s" },
  { title: "Partition CPUs", expr: "slurm_partition_cpus", legend: "{{partition}} {{state}}", unit: "short" },
  { title: "CPU use", expr: '100 * sum without (cpu, mode) (rate(node_cpu_seconds_total{mode!="idle"}[5m])) / count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})', legend: "{{node}}", unit: "percent" },
  { title: "Memory use", expr: "100 * (node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes) / node_memory_MemTotal_bytes", legend: "{{node}}", unit: "percent" },
  { title: "PostgreSQL up", expr: "pg_up", legend: "postgres", unit: "short" },
  { title: "Newest verified backup age", expr: "time() - hyperscaler_postgres_backup_last_success_timestamp_seconds", legend: "{{database}}", unit: "s" },
];

/** The cluster overview dashboard (Grafana dashboard JSON, schema 39). */
export function renderClusterDashboard(cluster: string): string {
  const ds = { type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID };
  return JSON.stringify({
    uid: `hyperscaler-${cluster}`,
    title: `hyperscaler: ${cluster}`,
    tags: ["hyperscaler", "slurm"],
    schemaVersion: 39,
    version: 1,
    editable: false,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    panels: PANELS.map((p, i) => ({
      id: i + 1, type: "timeseries", title: p.title, datasource: ds,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: [{ refId: "A", datasource: ds, expr: p.expr, legendFormat: p.legend }],
    })),
  }, null, 2) + "\n";
}
