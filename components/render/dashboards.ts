import { AlertSpec, backupMaxAgeMin, walLagAlertSec } from "./alerts";

/**
 * The cluster's dashboards: one source, rendered for Perses (the cluster's dashboard server)
 * and for Grafana (where a stack brings its own image). Panels that have an alert draw its
 * warning and critical levels from the same config the alert rules come from.
 */

/** How a panel's values read. */
export type Unit = "count" | "percent" | "seconds" | "bytes" | "perSecond" | "celsius";
export interface Query { readonly expr: string; readonly legend: string }
export interface Panel {
  readonly title: string;
  /** A line over time, or the latest value of one series. */
  readonly kind: "timeseries" | "stat";
  readonly unit: Unit;
  readonly queries: readonly Query[];
  /** The alert's levels (config's thresholds), drawn as lines. @default - none */
  readonly levels?: { readonly warning: number; readonly critical: number };
  readonly description?: string;
}
export interface Dashboard {
  /** Its name in the Perses project, and the end of its Grafana uid. */
  readonly name: string;
  readonly title: string;
  readonly panels: readonly Panel[];
}

export interface DashboardSpec {
  readonly thresholds: AlertSpec["thresholds"];
  readonly postgres?: AlertSpec["postgres"];
  readonly accounting?: AlertSpec["accounting"];
  /** Some node group has GPUs. @default false */
  readonly gpus?: boolean;
  /** The log store (monitoring.logs) is scraped. @default false */
  readonly logs?: boolean;
}

const line = (title: string, unit: Unit, queries: Query[], extra: Partial<Panel> = {}): Panel => ({ title, kind: "timeseries", unit, queries, ...extra });
const stat = (title: string, unit: Unit, expr: string, extra: Partial<Panel> = {}): Panel => ({ title, kind: "stat", unit, queries: [{ expr, legend: title }], ...extra });

/** Percent of a node's CPUs busy (node exporter's counters, per node). */
const CPU_PERCENT = '100 * sum by (node) (rate(node_cpu_seconds_total{mode!="idle"}[5m])) / count by (node) (node_cpu_seconds_total{mode="idle"})';
const MEMORY_PERCENT = "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)";
const DISK_PERCENT = '100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay"})';

/** The dashboards a cluster has: the overview and nodes always; the others with what they watch. */
export function clusterDashboards(spec: DashboardSpec): Dashboard[] {
  const t = spec.thresholds;
  const dashboards: Dashboard[] = [
    {
      name: "cluster-overview", title: "Cluster overview", panels: [
        line("Nodes by state and partition", "count", [{ expr: "sum by (partition, state) (slurm_partition_node_states)", legend: "{{partition}} {{state}}" }]),
        line("Jobs", "count", [{ expr: 'slurm_jobs{state=~"running|pending"}', legend: "{{state}}" }]),
        line("Queue wait", "seconds", [
          { expr: "slurm_queue_wait_seconds_max", legend: "longest" },
          { expr: 'slurm_queue_wait_seconds_sum / clamp_min(slurm_jobs{state="pending"}, 1)', legend: "mean" },
        ]),
        line("Scheduler cycle", "seconds", [{ expr: "slurm_scheduler_cycle_seconds", legend: "{{scheduler}} {{cycle}}" }]),
        line("Partition CPUs", "count", [{ expr: 'slurm_partition_cpus{state!="total"}', legend: "{{partition}} {{state}}" }]),
        stat("Controller up", "count", "slurm_controller_up"),
        line("Alerts firing", "count", [{ expr: 'count by (alertname, severity) (ALERTS{alertstate="firing"}) or vector(0)', legend: "{{alertname}} {{severity}}" }],
          { description: "0 when none fires; Alertmanager has the detail." }),
      ],
    },
    {
      name: "nodes", title: "Nodes", panels: [
        line("CPU use", "percent", [{ expr: CPU_PERCENT, legend: "{{node}}" }], { levels: t.cpuPercent }),
        line("Memory use", "percent", [{ expr: MEMORY_PERCENT, legend: "{{node}}" }], { levels: t.memoryPercent }),
        line("Disk use", "percent", [{ expr: `max by (node) (${DISK_PERCENT})`, legend: "{{node}}" }], { levels: t.diskPercent }),
        line("Load (1 min)", "count", [{ expr: "node_load1", legend: "{{node}}" }]),
        ...(spec.logs ? [line("Log lines stored", "perSecond", [{ expr: "sum(rate(vl_rows_ingested_total[5m]))", legend: "lines/s" }])] : []),
      ],
    },
  ];
  if (spec.postgres) {
    const pitr = spec.postgres.pitr;
    const backups = spec.postgres.databases.length ? [{ expr: "time() - hyperscaler_postgres_backup_last_success_timestamp_seconds", legend: "{{database}} dump" }] : [];
    dashboards.push({
      name: "postgres", title: "PostgreSQL", panels: [
        stat("PostgreSQL up", "count", "pg_up"),
        line("Connections", "count", [{ expr: "sum by (datname) (pg_stat_activity_count)", legend: "{{datname}}" }]),
        line("Transactions", "perSecond", [
          { expr: 'sum by (datname) (rate(pg_stat_database_xact_commit{datname!~"template.*"}[5m]))', legend: "{{datname}} commits" },
          { expr: 'sum by (datname) (rate(pg_stat_database_xact_rollback{datname!~"template.*"}[5m]))', legend: "{{datname}} rollbacks" },
        ]),
        line("WAL archive lag", "seconds", [{ expr: "time() - hyperscaler_postgres_wal_archive_last_success_timestamp_seconds", legend: "since the last archived WAL" }],
          { levels: { warning: pitr.walMaxDelaySec, critical: walLagAlertSec(pitr) },
            description: "The warning line is the RPO (walMaxDelaySec); PostgresWalArchiveBehind fires past the critical one, with WAL waiting." }),
        line("Backup age", "seconds", [...backups,
          { expr: "time() - max without (type) (hyperscaler_pgbackrest_backup_last_success_timestamp_seconds)", legend: "pgBackRest" }],
        { levels: { warning: pitr.backupIntervalMin * 60, critical: backupMaxAgeMin(pitr.backupIntervalMin, t) * 60 },
          description: `Lines: pgBackRest's interval and its alert (PostgresPitrBackupTooOld).${backups.length ? ` The dumps' alert fires past ${backupMaxAgeMin(spec.postgres.backupIntervalMin, t)} minutes.` : ""}` }),
      ],
    });
  }
  if (spec.accounting) {
    dashboards.push({
      name: "accounting", title: "Accounting", panels: [
        stat("slurmdbd up", "count", "slurm_dbd_up"),
        line("slurmdbd agent queue", "count", [{ expr: "slurm_dbd_agent_queue_size", legend: "records held by slurmctld" }], { levels: t.dbdAgentQueue }),
        stat("MariaDB up", "count", "mysql_up"),
        line("MariaDB connections", "count", [{ expr: "mysql_global_status_threads_connected", legend: "connected" }]),
        line("MariaDB queries", "perSecond", [{ expr: "rate(mysql_global_status_queries[5m])", legend: "queries" }]),
      ],
    });
  }
  if (spec.gpus) {
    dashboards.push({
      name: "gpus", title: "GPUs", panels: [
        line("GPU temperature", "celsius", [{ expr: "hyperscaler_gpu_temperature_celsius", legend: "{{node}} GPU {{gpu}}" }], { levels: t.gpuTemperatureCelsius }),
        line("GPU use", "percent", [{ expr: "100 * hyperscaler_gpu_utilization_ratio", legend: "{{node}} GPU {{gpu}}" }]),
        line("GPU memory", "percent", [{ expr: "100 * hyperscaler_gpu_memory_used_bytes / hyperscaler_gpu_memory_total_bytes", legend: "{{node}} GPU {{gpu}}" }], { levels: t.gpuMemoryPercent }),
        line("GPUs allocated and idle", "count", [
          { expr: "sum by (node) (slurm_node_gpus_allocated)", legend: "{{node}} allocated" },
          { expr: "sum by (node) (hyperscaler_gpus_visible) - sum by (node) (slurm_node_gpus_allocated)", legend: "{{node}} idle" },
        ]),
      ],
    });
  }
  return dashboards;
}

// --- Perses ------------------------------------------------------------------------------

/** The Perses project the cluster's dashboards and datasource are in: the cluster's name. */
export const PERSES_DATASOURCE = "prometheus";

const PERSES_FORMAT: Record<Unit, object> = {
  count: { unit: "decimal", shortValues: true },
  percent: { unit: "percent" },
  seconds: { unit: "seconds" },
  bytes: { unit: "bytes", shortValues: true },
  perSecond: { unit: "decimal", shortValues: true },
  celsius: { unit: "decimal" },
};
const WARNING_COLOR = "#FFB249";
const CRITICAL_COLOR = "#EE6C6C";

function persesPanel(p: Panel): object {
  const thresholds = p.levels && { steps: [
    { value: p.levels.warning, color: WARNING_COLOR, name: "warning" },
    { value: p.levels.critical, color: CRITICAL_COLOR, name: "critical" },
  ] };
  const plugin = p.kind === "stat"
    ? { kind: "StatChart", spec: { calculation: "last-number", format: PERSES_FORMAT[p.unit], ...(thresholds ? { thresholds } : {}) } }
    : { kind: "TimeSeriesChart", spec: {
      legend: { position: "bottom", mode: "list" },
      yAxis: { format: PERSES_FORMAT[p.unit], ...(p.unit === "percent" ? { min: 0 } : {}) },
      visual: { display: "line", lineWidth: 1.25, areaOpacity: 0.1, connectNulls: false },
      ...(thresholds ? { thresholds } : {}),
    } };
  return {
    kind: "Panel",
    spec: {
      display: { name: p.title, ...(p.description ? { description: p.description } : {}) },
      plugin,
      queries: p.queries.map((q) => ({
        kind: "TimeSeriesQuery",
        spec: { plugin: { kind: "PrometheusTimeSeriesQuery", spec: {
          datasource: { kind: "PrometheusDatasource", name: PERSES_DATASOURCE }, query: q.expr, seriesNameFormat: q.legend,
        } } },
      })),
    },
  };
}

/** A dashboard as a Perses resource (JSON), in project `project`: two panels a row. */
export function renderPersesDashboard(project: string, d: Dashboard): string {
  const panels = Object.fromEntries(d.panels.map((p, i) => [`p${i}`, persesPanel(p)]));
  return JSON.stringify({
    kind: "Dashboard",
    metadata: { name: d.name, project },
    spec: {
      display: { name: d.title },
      duration: "1h",
      refreshInterval: "30s",
      panels,
      layouts: [{ kind: "Grid", spec: { items: d.panels.map((_, i) => ({
        x: (i % 2) * 12, y: Math.floor(i / 2) * 8, width: 12, height: 8, content: { $ref: `#/spec/panels/p${i}` },
      })) } }],
    },
  }, null, 2) + "\n";
}

/** The project the dashboards live in. */
export function renderPersesProject(project: string, cluster: string): string {
  return JSON.stringify({ kind: "Project", metadata: { name: project }, spec: { display: { name: `hyperscaler: ${cluster}` } } }, null, 2) + "\n";
}

/** The Perses secret the datasource reaches a Prometheus that serves TLS with: files in the server's container, read per request. */
export const PERSES_PROMETHEUS_SECRET = "prometheus-login";

/**
 * That secret: Prometheus's web login and the CAs to check its certificate with, as files
 * (nothing secret in the resource itself, so the server's API and database never hold it).
 */
export function renderPersesPrometheusSecret(project: string, user: string, files: { password: string; ca: string }): string {
  return JSON.stringify({
    kind: "Secret",
    metadata: { name: PERSES_PROMETHEUS_SECRET, project },
    spec: { basicAuth: { username: user, passwordFile: files.password }, tlsConfig: { caFile: files.ca, serverName: "prometheus" } },
  }, null, 2) + "\n";
}

/**
 * The project's Prometheus datasource, through Perses's proxy (the browser never talks to
 * Prometheus); `secret` names the Perses secret with its login and CA where it serves TLS.
 */
export function renderPersesDatasource(project: string, url: string, secret?: string): string {
  return JSON.stringify({
    kind: "Datasource",
    metadata: { name: PERSES_DATASOURCE, project },
    spec: { default: true, plugin: { kind: "PrometheusDatasource", spec: {
      proxy: { kind: "HTTPProxy", spec: { url, ...(secret ? { secret } : {}) } },
    } } },
  }, null, 2) + "\n";
}

// --- Grafana -----------------------------------------------------------------------------

const GRAFANA_UNIT: Record<Unit, string> = { count: "short", percent: "percent", seconds: "s", bytes: "bytes", perSecond: "ops", celsius: "celsius" };

/** A dashboard as Grafana dashboard JSON (schema 39), its queries on datasource `datasourceUid`. */
export function renderGrafanaDashboard(cluster: string, d: Dashboard, datasourceUid: string): string {
  const ds = { type: "prometheus", uid: datasourceUid };
  return JSON.stringify({
    uid: `hyperscaler-${cluster}-${d.name}`.slice(0, 40),
    title: `${cluster}: ${d.title}`,
    tags: ["hyperscaler", "slurm"],
    schemaVersion: 39,
    version: 1,
    editable: false,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    panels: d.panels.map((p, i) => ({
      id: i + 1, type: p.kind === "stat" ? "stat" : "timeseries", title: p.title, datasource: ds,
      ...(p.description ? { description: p.description } : {}),
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: GRAFANA_UNIT[p.unit], ...(p.levels ? { thresholds: { mode: "absolute", steps: [
        { color: "green", value: null }, { color: "orange", value: p.levels.warning }, { color: "red", value: p.levels.critical },
      ] }, custom: { thresholdsStyle: { mode: "line" } } } : {}) }, overrides: [] },
      targets: p.queries.map((q, j) => ({ refId: String.fromCharCode(65 + j), datasource: ds, expr: q.expr, legendFormat: q.legend })),
    })),
  }, null, 2) + "\n";
}
