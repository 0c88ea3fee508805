import type { AlertThresholds } from "../config";

/** Labels of a series or an alert. */
export type Labels = Record<string, string>;

/** One Prometheus alerting rule. */
export interface AlertRule {
  readonly alert: string;
  readonly severity: "warning" | "critical";
  readonly expr: string;
  readonly forMin: number;
  /** May use `{{ $labels.<name> }}`. */
  readonly summary: string;
}

/** A promtool unit-test case: input series, then which alerts fire at `evalMin`. */
export interface AlertCase {
  readonly name: string;
  readonly alertname: string;
  /** promtool input series (`metric{labels}`) and values (`0+5x30`), one sample a minute. */
  readonly series: readonly { readonly series: string; readonly values: string }[];
  readonly evalMin: number;
  /** Labels (without alertname) of each alert expected to fire; empty when it must stay silent. */
  readonly firing: readonly Labels[];
}

/** What the rules are rendered for. */
export interface AlertSpec {
  readonly thresholds: AlertThresholds;
  /** The platform's PostgreSQL, when it has one. */
  readonly postgres?: {
    readonly databases: readonly string[]; readonly backupIntervalMin: number;
    /** Continuous archiving (pgBackRest): how long written WAL may wait, and the backups' interval. */
    readonly pitr: { readonly walMaxDelaySec: number; readonly backupIntervalMin: number };
  };
  /** SLURM accounting's database, when the cluster has accounting. */
  readonly accounting?: { readonly database: string; readonly backupIntervalMin: number };
  /** The hosts report their certificates' expiry (several workstations' TLS). @default false */
  readonly certificates?: boolean;
  /** The shipper that copies the file backups to the backup repository, and the folders it copies. */
  readonly backupShip?: { readonly intervalMin: number; readonly parts: readonly string[] };
  /** The log store (monitoring.logs), scraped as job `logs`. @default false */
  readonly logs?: boolean;
}

type Levels = AlertThresholds["cpuPercent"];
type Family = { rules: AlertRule[]; cases: AlertCase[] };

/** Labels every node exporter series carries (from the scrape targets). */
const NODE = { instance: "cpu001:9100", job: "node", node: "cpu001", role: "compute" };
const HTTP = { instance: "prometheus:9090", job: "prometheus" };
const series = (metric: string, labels: Labels, values: string) =>
  ({ series: `${metric}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`, values });
const SAMPLES = 60;
const flat = (v: number, samples = SAMPLES) => `${v}x${samples}`;
/** A counter growing `perMin` a minute. */
const counter = (perMin: number) => `0+${perMin}x${SAMPLES}`;

/**
 * A warning and a critical alert on one value, with cases at the warning level (warning
 * fires, after `forMin`, not before), at the critical level (both fire) and just below the
 * warning level (silent). `fixture(v)` gives series whose value is exactly v.
 */
function leveled(alert: string, what: string, unit: string, expr: string, levels: Levels, labels: Labels,
  fixture: (v: number) => AlertCase["series"], rate: boolean): Family {
  const rules = (["warning", "critical"] as const).map((severity) => ({
    alert, severity, forMin: levels.forMin, expr: `${expr} >= ${levels[severity]}`,
    summary: `${what} at or above ${levels[severity]}${unit} for ${levels.forMin}m on {{ $labels.instance }}`,
  }));
  // A rate needs a window of samples before it has a value: its alert turns pending a minute in.
  const settle = levels.forMin + (rate ? 6 : 1);
  const fired = (...s: ("warning" | "critical")[]) => s.map((severity) => ({ ...labels, severity }));
  const below = Math.max(levels.warning - Math.max(levels.warning * 0.05, 0.5), levels.warning / 2);
  return {
    rules,
    cases: [
      { name: `${alert} warning fires at ${levels.warning}${unit} after ${levels.forMin}m`, alertname: alert, series: fixture(levels.warning), evalMin: settle, firing: fired("warning") },
      { name: `${alert} is still pending at ${levels.warning}${unit} before ${levels.forMin}m`, alertname: alert, series: fixture(levels.warning), evalMin: levels.forMin - 1, firing: [] },
      { name: `${alert} warning and critical fire at ${levels.critical}${unit}`, alertname: alert, series: fixture(levels.critical), evalMin: settle, firing: fired("warning", "critical") },
      { name: `${alert} is silent at ${below}${unit}`, alertname: alert, series: fixture(below), evalMin: settle, firing: [] },
    ],
  };
}

/** An alert that fires after `forMin` on `fires` and never on `silent`. */
function condition(rule: AlertRule, labels: Labels, fires: AlertCase["series"], silent: { why: string; series: AlertCase["series"] }[]): Family {
  const fired = [{ ...labels, severity: rule.severity }];
  return {
    rules: [rule],
    cases: [
      { name: `${rule.alert} fires after ${rule.forMin}m`, alertname: rule.alert, series: fires, evalMin: rule.forMin + 1, firing: fired },
      ...(rule.forMin > 1 ? [{ name: `${rule.alert} is pending before ${rule.forMin}m`, alertname: rule.alert, series: fires, evalMin: rule.forMin - 1, firing: [] }] : []),
      ...silent.map((s) => ({ name: `${rule.alert} is silent when ${s.why}`, alertname: rule.alert, series: s.series, evalMin: rule.forMin + 1, firing: [] })),
    ],
  };
}

/** A family with one more test case. */
const withCase = (f: Family, c: AlertCase): Family => ({ rules: f.rules, cases: [...f.cases, c] });

/** Filesystems that are not disks, and the files Docker bind-mounts into every container (the host's disk again). */
const NOT_DISK = 'fstype!~"tmpfs|ramfs|squashfs|nsfs|proc|sysfs|devtmpfs", mountpoint!~"/etc/(hosts|hostname|resolv.conf)"';

function families(spec: AlertSpec): Family[] {
  const t = spec.thresholds;
  const down = t.downForMin;
  const slurm = (node: string, state: string, planned: string) =>
    series("slurm_node_state", { instance: "controller:9100", job: "node", node, planned, state }, flat(1));
  const stateLabels = (state: string, planned = "false") => ({ instance: "controller:9100", job: "node", node: "cpu001", planned, state });
  const out: Family[] = [
    leveled("NodeCpuHigh", "CPU use", "%",
      '100 * sum without (cpu, mode) (rate(node_cpu_seconds_total{mode!="idle"}[5m])) / count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})',
      t.cpuPercent, NODE, (v) => [
        series("node_cpu_seconds_total", { ...NODE, cpu: "0", mode: "user" }, counter(v * 0.6)),
        series("node_cpu_seconds_total", { ...NODE, cpu: "0", mode: "idle" }, counter((100 - v) * 0.6)),
      ], true),
    leveled("NodeMemoryHigh", "Memory use", "%",
      "100 * (node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes) / node_memory_MemTotal_bytes",
      t.memoryPercent, NODE, (v) => [
        series("node_memory_MemTotal_bytes", NODE, flat(100 * 2 ** 20)),
        series("node_memory_MemAvailable_bytes", NODE, flat((100 - v) * 2 ** 20)),
      ], false),
    leveled("DiskSpaceHigh", "Filesystem use", "%",
      `100 * (node_filesystem_size_bytes{${NOT_DISK}} - node_filesystem_avail_bytes{${NOT_DISK}}) / node_filesystem_size_bytes{${NOT_DISK}}`,
      t.diskPercent, { ...NODE, device: "/dev/sda1", fstype: "ext4", mountpoint: "/" }, (v) => [
        series("node_filesystem_size_bytes", { ...NODE, device: "/dev/sda1", fstype: "ext4", mountpoint: "/" }, flat(100 * 2 ** 30)),
        series("node_filesystem_avail_bytes", { ...NODE, device: "/dev/sda1", fstype: "ext4", mountpoint: "/" }, flat((100 - v) * 2 ** 30)),
      ], false),
    leveled("HttpErrorRateHigh", "HTTP 5xx share", "%",
      '100 * sum by (job, instance) (rate({__name__=~"(.+_)?http_requests_total", code=~"5.."}[5m])) / sum by (job, instance) (rate({__name__=~"(.+_)?http_requests_total"}[5m]))',
      t.httpErrorPercent, HTTP, (v) => [
        series("prometheus_http_requests_total", { ...HTTP, code: "500", handler: "/api/v1/query" }, counter(v * 6)),
        series("prometheus_http_requests_total", { ...HTTP, code: "200", handler: "/api/v1/query" }, counter((100 - v) * 6)),
      ], true),
    leveled("HttpLatencyP95High", "p95 HTTP latency", "ms",
      '1000 * histogram_quantile(0.95, sum by (job, instance, le) (rate({__name__=~"(.+_)?http_request_duration_seconds_bucket"}[5m])))',
      t.httpLatencyP95Ms, HTTP, (ms) => {
        // p95 is exactly `ms` when every request is slower than the last finite bucket, `ms`.
        const bucket = (le: string, perMin: number) =>
          series("prometheus_http_request_duration_seconds_bucket", { ...HTTP, handler: "/api/v1/query", le }, counter(perMin));
        return [bucket(String(ms / 1000), 0), bucket("+Inf", 60)];
      }, true),
    condition({ alert: "NodeExporterDown", severity: "critical", forMin: down, expr: 'up{job="node"} == 0',
      summary: "{{ $labels.node }} ({{ $labels.role }}) does not answer scrapes" }, NODE,
    [series("up", NODE, flat(0))], [{ why: "the node answers", series: [series("up", NODE, flat(1))] }]),
    condition({ alert: "SlurmNodeDown", severity: "critical", forMin: down, expr: 'slurm_node_state{state=~"down|fail"} == 1',
      summary: "SLURM node {{ $labels.node }} is {{ $labels.state }}" }, stateLabels("down"),
    [slurm("cpu001", "down", "false")], [{ why: "the node is idle", series: [slurm("cpu001", "idle", "false")] }]),
    condition({ alert: "SlurmNodeDrainedUnexpectedly", severity: "warning", forMin: t.unplannedDrainForMin,
      expr: 'slurm_node_state{state=~"drained|draining", planned="false"} == 1',
      summary: "SLURM node {{ $labels.node }} is {{ $labels.state }} for a reason the stack did not set" }, stateLabels("drained"),
    [slurm("cpu001", "drained", "false")],
    [{ why: "the stack drains the node (scale-in, maintenance)", series: [slurm("cpu001", "draining", "true")] },
      { why: "the node is allocated", series: [slurm("cpu001", "allocated", "false")] }]),
    condition({ alert: "SlurmControllerDown", severity: "critical", forMin: down, expr: "slurm_controller_up == 0 or absent(slurm_controller_up)",
      summary: "slurmctld does not answer (or its metrics are gone)" }, { instance: "controller:9100", job: "node" },
    [series("slurm_controller_up", { instance: "controller:9100", job: "node" }, flat(0))],
    [{ why: "slurmctld answers", series: [series("slurm_controller_up", { instance: "controller:9100", job: "node" }, flat(1))] }]),
    withCase(condition({ alert: "MungeCredentialFailures", severity: "critical", forMin: down,
      expr: "hyperscaler_munge_ok == 0 or increase(hyperscaler_munge_credential_errors_total[5m]) > 0",
      summary: "MUNGE on {{ $labels.node }} cannot encode/decode credentials, or rejected some (key mismatch?)" }, NODE,
    [series("hyperscaler_munge_ok", NODE, flat(0))],
    [{ why: "MUNGE works", series: [series("hyperscaler_munge_ok", NODE, flat(1)), series("hyperscaler_munge_credential_errors_total", NODE, flat(3))] }]),
    // The other branch: munged itself works but rejects credentials (another node's key).
    { name: "MungeCredentialFailures fires when munged works but rejects credentials", alertname: "MungeCredentialFailures",
      series: [series("hyperscaler_munge_ok", NODE, flat(1)), series("hyperscaler_munge_credential_errors_total", NODE, counter(2))],
      evalMin: down + 6, firing: [{ ...NODE, severity: "critical" }] }),
  ];
  // GPU nodes: their metrics come from nvidia-smi (images/slurm/gpu-metrics.sh).
  const GPU = { instance: "gpu001:9100", job: "node", node: "gpu001", role: "compute", gpu: "0", uuid: "GPU-0", model: "NVIDIA H100" };
  const GPU_NODE = { instance: "gpu001:9100", job: "node", node: "gpu001", role: "compute" };
  const idle = t.gpuIdleWhileAllocated;
  const ALLOCATED = { instance: "controller:9100", job: "node", node: "gpu001" };
  /** `allocated` GPUs of gpu001 given to jobs, two GPUs there at `use` (0 to 1). */
  const gpuUse = (allocated: number, use: number) => [
    series("slurm_node_gpus_allocated", ALLOCATED, flat(allocated)),
    ...["0", "1"].map((gpu) => series("hyperscaler_gpu_utilization_ratio", { ...GPU, gpu }, flat(use))),
  ];
  const gpus = (expected: number, visible: number) =>
    [series("hyperscaler_gpus_expected", GPU_NODE, flat(expected)), series("hyperscaler_gpus_visible", GPU_NODE, flat(visible))];
  out.push(
    leveled("GpuTemperatureHigh", "GPU temperature", "C", "hyperscaler_gpu_temperature_celsius", t.gpuTemperatureCelsius, GPU,
      (v) => [series("hyperscaler_gpu_temperature_celsius", GPU, flat(v))], false),
    leveled("GpuMemoryHigh", "GPU memory use", "%", "100 * hyperscaler_gpu_memory_used_bytes / hyperscaler_gpu_memory_total_bytes",
      t.gpuMemoryPercent, GPU, (v) => [
        series("hyperscaler_gpu_memory_total_bytes", GPU, flat(100 * 2 ** 30)),
        series("hyperscaler_gpu_memory_used_bytes", GPU, flat(v * 2 ** 30)),
      ], false),
    condition({ alert: "GpuMissing", severity: "critical", forMin: down, expr: "hyperscaler_gpus_visible < hyperscaler_gpus_expected",
      summary: "{{ $labels.node }} sees fewer GPUs than its group declares (nvidia-smi missing, failing, or a GPU gone)" }, GPU_NODE,
    gpus(2, 1), [{ why: "every GPU answers", series: gpus(2, 2) }, { why: "the node has no GPUs", series: gpus(0, 0) }]),
    // Allocation comes from slurmctld (on the controller), use from the node: matched by node.
    condition({ alert: "GpuIdleWhileAllocated", severity: "warning", forMin: idle.forMin,
      expr: `slurm_node_gpus_allocated > 0 and on (node) max by (node) (hyperscaler_gpu_utilization_ratio) < ${idle.utilizationPercent / 100}`,
      summary: `{{ $labels.node }} has GPUs given to jobs, all below ${idle.utilizationPercent}% use for ${idle.forMin}m` }, ALLOCATED,
    gpuUse(1, idle.utilizationPercent / 200), [
      { why: "the GPUs are in use", series: gpuUse(1, Math.min(1, (idle.utilizationPercent * 4) / 100)) },
      { why: "no job holds a GPU", series: gpuUse(0, 0) },
    ]),
  );
  if (spec.certificates) out.push(certificateExpiry(t.certificateExpiryDays));
  if (spec.postgres) {
    const pg = { instance: "postgres:9187", job: "postgres" };
    out.push(...database(t, { name: "Postgres", what: "PostgreSQL", engine: "postgres", host: "postgres", upMetric: "pg_up", exporter: pg,
      databases: spec.postgres.databases, backupIntervalMin: spec.postgres.backupIntervalMin }), ...archiving(t, spec.postgres.pitr));
  }
  if (spec.accounting) {
    const ctl = { instance: "controller:9100", job: "node" };
    out.push(
      condition({ alert: "SlurmdbdDown", severity: "critical", forMin: down, expr: "slurm_dbd_up == 0",
        summary: "slurmctld cannot reach slurmdbd: job records wait on the controller (up to MaxDBDMsgs, then they are lost)" }, ctl,
      [series("slurm_dbd_up", ctl, flat(0))], [{ why: "slurmdbd answers", series: [series("slurm_dbd_up", ctl, flat(1))] }]),
      leveled("SlurmdbdAgentQueueHigh", "Records waiting for slurmdbd", " records", "slurm_dbd_agent_queue_size", t.dbdAgentQueue, ctl,
        (v) => [series("slurm_dbd_agent_queue_size", ctl, flat(v))], false),
      ...database(t, { name: "Mariadb", what: "MariaDB (accounting)", engine: "mariadb", host: "mariadb", upMetric: "mysql_up",
        exporter: { instance: "mariadb:9104", job: "mariadb" }, databases: [spec.accounting.database], backupIntervalMin: spec.accounting.backupIntervalMin }),
    );
  }
  if (spec.backupShip) out.push(...shipping(t, spec.backupShip));
  if (spec.logs) out.push(...logStore(t));
  return out;
}

/**
 * The log store: down (the containers run on; the log driver holds up to 10,000 lines per
 * container meanwhile, and drops beyond that), refusing lines (its disk below its free-space
 * floor), or its disk filling (the oldest days go at maxDiskGiB, before that).
 */
function logStore(t: AlertThresholds): Family[] {
  const job = { instance: "logs:9428", job: "logs" };
  const disk = { ...job, path: "/logs" };
  return [
    condition({ alert: "LogStoreDown", severity: "critical", forMin: t.downForMin, expr: 'up{job="logs"} == 0',
      summary: "The log store does not answer: containers keep running, lines wait in each engine's log driver (up to 10,000 a container, then dropped); `docker logs` still has them" },
    job, [series("up", job, flat(0))], [{ why: "it answers", series: [series("up", job, flat(1))] }]),
    condition({ alert: "LogStoreReadOnly", severity: "critical", forMin: 1, expr: "vl_storage_is_read_only == 1",
      summary: "The log store's disk is below its free-space floor: it refuses every line until space is freed" },
    disk, [series("vl_storage_is_read_only", disk, flat(1))], [{ why: "it takes lines", series: [series("vl_storage_is_read_only", disk, flat(0))] }]),
    leveled("LogStoreDiskHigh", "Log store disk use", "%", "100 * (1 - vl_free_disk_space_bytes / vl_total_disk_space_bytes)", t.diskPercent, disk,
      (v) => [series("vl_total_disk_space_bytes", disk, flat(100 * 2 ** 30)), series("vl_free_disk_space_bytes", disk, flat((100 - v) * 2 ** 30))], false),
  ];
}

/**
 * The file backups' copies on the backup repository (images/backup-repository/ship.sh's
 * metrics): a folder whose newest snapshot there is too old, or that never arrived. A
 * round that fails is tried again each minute, so two intervals and the grace are late.
 */
function shipping(t: AlertThresholds, ship: NonNullable<AlertSpec["backupShip"]>): Family[] {
  const metric = "hyperscaler_backup_ship_last_success_timestamp_seconds";
  const maxAgeMin = 2 * ship.intervalMin + t.backupGraceMin;
  const at = { instance: "backup-shipper:9100", job: "node", node: "backup-shipper", role: "backup-shipper" };
  const samples = maxAgeMin + 10;
  const arrived = (part: string, atMin: number) => series(metric, { ...at, part }, flat(atMin * 60, samples));
  const [part] = ship.parts;
  const late = "BackupShipLate";
  const missing = "BackupShipMissing";
  // absent() of each folder's series, or-ed: one alert a folder, labelled with it.
  const absentAny = ship.parts.map((p) => `absent(${metric}{part="${p}"})`).join(" or ");
  const up = series("hyperscaler_backup_ship_repository_up", at, flat(0, samples));
  return [{
    rules: [{ alert: late, severity: "critical", forMin: 0,
      expr: `time() - ${metric} > ${maxAgeMin * 60}`,
      summary: `The newest copy of {{ $labels.part }} on the backup repository is older than ${maxAgeMin}m (every ${ship.intervalMin}m, twice, + ${t.backupGraceMin}m grace): a lost controller workstation loses more (docker logs the backup-shipper container)` }],
    cases: [
      { name: `${late} fires for ${part} when its newest copy is ${maxAgeMin + 1}m old`, alertname: late, series: [arrived(part, 0)], evalMin: maxAgeMin + 1, firing: [{ ...at, part, severity: "critical" }] },
      { name: `${late} is silent for ${part} when its newest copy is ${maxAgeMin - 1}m old`, alertname: late, series: [arrived(part, 2)], evalMin: maxAgeMin + 1, firing: [] },
    ],
  }, {
    rules: [{ alert: missing, severity: "critical", forMin: maxAgeMin, expr: absentAny,
      summary: `No copy of {{ $labels.part }} has reached the backup repository for ${maxAgeMin}m` }],
    cases: [
      { name: `${missing} fires for every folder after ${maxAgeMin}m with none copied`, alertname: missing, series: [up], evalMin: maxAgeMin + 1,
        firing: ship.parts.map((p) => ({ part: p, severity: "critical" })) },
      { name: `${missing} is pending before ${maxAgeMin}m`, alertname: missing, series: [up], evalMin: maxAgeMin - 1, firing: [] },
      { name: `${missing} is silent when every folder was copied`, alertname: missing, series: ship.parts.map((p) => arrived(p, 1)), evalMin: maxAgeMin + 1, firing: [] },
      ...(ship.parts.length > 1 ? [{ name: `${missing} fires for ${part} alone when only it was never copied`, alertname: missing,
        series: ship.parts.slice(1).map((p) => arrived(p, 1)), evalMin: maxAgeMin + 1, firing: [{ part, severity: "critical" }] }] : []),
    ],
  }];
}

/**
 * A certificate a host serves or trusts (images/common/tls-install.sh's metric) is close
 * to expiry: `pulumi up` renews inside the renewal window, so this means no up did.
 */
function certificateExpiry(days: AlertThresholds["certificateExpiryDays"]): Family {
  const alert = "CertificateExpiresSoon";
  const labels = { ...NODE, certificate: "server", subject: "CN=node-exporter" };
  const metric = "hyperscaler_tls_certificate_expiry_timestamp_seconds";
  const evalMin = 10;
  /** The certificate expires `left` days after the evaluation. */
  const expiresIn = (left: number) => [series(metric, labels, flat(evalMin * 60 + left * 86400, evalMin + 5))];
  const fired = (...s: ("warning" | "critical")[]) => s.map((severity) => ({ ...labels, severity }));
  return {
    rules: (["warning", "critical"] as const).map((severity) => ({
      alert, severity, forMin: 0, expr: `${metric} - time() < ${days[severity] * 86400}`,
      summary: `The {{ $labels.certificate }} certificate {{ $labels.subject }} on {{ $labels.node }} expires in under ${days[severity]} days: no update renewed it (run pulumi up; security.md, Renew certificates)`,
    })),
    cases: [
      { name: `${alert} warning fires under ${days.warning} days before expiry`, alertname: alert, series: expiresIn(days.warning - 0.5), evalMin, firing: fired("warning") },
      { name: `${alert} warning and critical fire under ${days.critical} days before expiry`, alertname: alert, series: expiresIn(days.critical - 0.5), evalMin, firing: fired("warning", "critical") },
      { name: `${alert} is silent ${days.warning + 0.5} days before expiry`, alertname: alert, series: expiresIn(days.warning + 0.5), evalMin, firing: [] },
    ],
  };
}

/** Minutes a backup taken every `intervalMin` may age before its alert: the RPO, and the grace a backup takes to write and verify. */
export function backupMaxAgeMin(intervalMin: number, t: AlertThresholds): number {
  return intervalMin + t.backupGraceMin;
}

/** Seconds written WAL may wait before its alert: shipped within its delay, plus two minutes for the file to be written and pushed. */
export function walLagAlertSec(pitr: { walMaxDelaySec: number }): number {
  return pitr.walMaxDelaySec + 120;
}

/** A database server: down, and its verified backups too old or missing. */
function database(t: AlertThresholds, d: {
  name: string; what: string; engine: string; host: string; upMetric: string; exporter: Labels; databases: readonly string[]; backupIntervalMin: number;
}): Family[] {
  const down = t.downForMin;
  const out = [condition({ alert: `${d.name}Down`, severity: "critical", forMin: down, expr: `${d.upMetric} == 0 or up{job="${d.exporter.job}"} == 0`,
    summary: `${d.what} does not answer its exporter` }, d.exporter,
  [series(d.upMetric, d.exporter, flat(0))], [{ why: `${d.what} answers`, series: [series(d.upMetric, d.exporter, flat(1)), series("up", d.exporter, flat(1))] }])];
  const maxAgeMin = backupMaxAgeMin(d.backupIntervalMin, t);
  const metric = `hyperscaler_${d.engine}_backup_last_success_timestamp_seconds`;
  for (const database of d.databases) {
    const labels = { database, instance: `${d.host}:9100`, job: "node" };
    // Samples until past the last evaluation, so the series is not stale there.
    const stamp = (atMin: number) => series(metric, labels, flat(atMin * 60, maxAgeMin + 10));
    const tooOld = `${d.name}BackupTooOld`;
    out.push({
      rules: [{ alert: tooOld, severity: "critical", forMin: 0,
        expr: `time() - ${metric}{database="${database}"} > ${maxAgeMin * 60}`,
        summary: `The newest verified backup of {{ $labels.database }} is older than ${maxAgeMin}m (RPO ${d.backupIntervalMin}m + ${t.backupGraceMin}m grace)` }],
      cases: [
        { name: `${tooOld} fires for ${database} when the newest backup is ${maxAgeMin + 1}m old`, alertname: tooOld, series: [stamp(0)], evalMin: maxAgeMin + 1, firing: [{ ...labels, severity: "critical" }] },
        { name: `${tooOld} is silent for ${database} when the newest backup is ${maxAgeMin - 1}m old`, alertname: tooOld, series: [stamp(2)], evalMin: maxAgeMin + 1, firing: [] },
      ],
    }, condition({ alert: `${d.name}BackupMissing`, severity: "critical", forMin: maxAgeMin,
      expr: `absent(${metric}{database="${database}"})`,
      summary: `No verified backup of ${database} has been recorded for ${maxAgeMin}m` }, { database },
    [series(d.upMetric, d.exporter, flat(1, maxAgeMin + 10))], [{ why: "a backup is recorded", series: [stamp(1)] }]));
  }
  return out;
}

/**
 * PostgreSQL's continuous archiving (images/postgres/pitr.sh's metrics): WAL that does not
 * reach the repository (the server keeps it: its disk is the limit), a repository that does
 * not answer, and backups that stopped.
 */
function archiving(t: AlertThresholds, pitr: { walMaxDelaySec: number; backupIntervalMin: number }): Family[] {
  const at = { instance: "postgres:9100", job: "node" };
  const wal = (m: string, values: string) => series(`hyperscaler_postgres_wal_archive_${m}`, at, values);
  const lagSec = walLagAlertSec(pitr);
  const stalledAt = Math.ceil(lagSec / 60) + 2;
  const samples = stalledAt + 10;
  const shippedNow = `0+60x${samples}`; // the time of each sample: shipped every minute
  const backupMaxMin = backupMaxAgeMin(pitr.backupIntervalMin, t);
  const backup = (type: string, values: string) => series("hyperscaler_pgbackrest_backup_last_success_timestamp_seconds", { ...at, type }, values);
  return [
    condition({ alert: "PostgresWalArchiveFailing", severity: "critical", forMin: t.downForMin,
      expr: "hyperscaler_postgres_wal_archive_last_failure_timestamp_seconds > hyperscaler_postgres_wal_archive_last_success_timestamp_seconds",
      summary: "PostgreSQL's last attempt to ship WAL to the pgBackRest repository failed: WAL piles up on its disk and restores stop at the last file shipped (docker logs the postgres container)" }, at,
    [wal("last_success_timestamp_seconds", flat(60)), wal("last_failure_timestamp_seconds", flat(120))],
    [{ why: "a later attempt succeeded", series: [wal("last_success_timestamp_seconds", flat(180)), wal("last_failure_timestamp_seconds", flat(120))] }]),
    {
      rules: [{ alert: "PostgresWalArchiveBehind", severity: "critical", forMin: 0,
        expr: `hyperscaler_postgres_wal_archive_pending_files > 0 and time() - hyperscaler_postgres_wal_archive_last_success_timestamp_seconds > ${lagSec}`,
        summary: `WAL has waited over ${lagSec}s to reach the repository: a restore cannot reach the last ${lagSec}s (RPO ${pitr.walMaxDelaySec}s)` }],
      cases: [
        { name: `PostgresWalArchiveBehind fires when WAL waits and nothing was shipped for over ${lagSec}s`, alertname: "PostgresWalArchiveBehind",
          series: [wal("pending_files", flat(3, samples)), wal("last_success_timestamp_seconds", flat(0, samples))], evalMin: stalledAt, firing: [{ ...at, severity: "critical" }] },
        { name: "PostgresWalArchiveBehind is silent while WAL ships within its delay", alertname: "PostgresWalArchiveBehind",
          series: [wal("pending_files", flat(3, samples)), wal("last_success_timestamp_seconds", shippedNow)], evalMin: stalledAt, firing: [] },
        { name: "PostgresWalArchiveBehind is silent on an idle database (nothing waits)", alertname: "PostgresWalArchiveBehind",
          series: [wal("pending_files", flat(0, samples)), wal("last_success_timestamp_seconds", flat(0, samples))], evalMin: stalledAt, firing: [] },
      ],
    },
    condition({ alert: "PostgresBackupRepositoryDown", severity: "critical", forMin: t.downForMin,
      expr: "hyperscaler_pgbackrest_repository_up == 0",
      summary: "The pgBackRest repository does not answer (or its key does not read it): no backup or WAL reaches it" }, at,
    [series("hyperscaler_pgbackrest_repository_up", at, flat(0))],
    [{ why: "the repository answers", series: [series("hyperscaler_pgbackrest_repository_up", at, flat(1))] }]),
    {
      rules: [{ alert: "PostgresPitrBackupTooOld", severity: "critical", forMin: 0,
        expr: `time() - max without (type) (hyperscaler_pgbackrest_backup_last_success_timestamp_seconds) > ${backupMaxMin * 60}`,
        summary: `The newest pgBackRest backup is older than ${backupMaxMin}m (every ${pitr.backupIntervalMin}m + ${t.backupGraceMin}m grace): restores replay ever more WAL` }],
      cases: [
        { name: `PostgresPitrBackupTooOld fires when the newest backup is ${backupMaxMin + 1}m old`, alertname: "PostgresPitrBackupTooOld",
          series: [backup("full", flat(0, backupMaxMin + 10)), backup("diff", flat(0, backupMaxMin + 10))], evalMin: backupMaxMin + 1, firing: [{ ...at, severity: "critical" }] },
        { name: "PostgresPitrBackupTooOld is silent when a differential is recent", alertname: "PostgresPitrBackupTooOld",
          series: [backup("full", flat(0, backupMaxMin + 10)), backup("diff", flat(120, backupMaxMin + 10))], evalMin: backupMaxMin + 1, firing: [] },
      ],
    },
  ];
}

/** Every alert rule for the spec, in a stable order. */
export function alertRules(spec: AlertSpec): AlertRule[] {
  return families(spec).flatMap((f) => f.rules);
}

/** promtool unit-test cases: each alert at and above its threshold, before its duration, and below it. */
export function alertCases(spec: AlertSpec): AlertCase[] {
  return families(spec).flatMap((f) => f.cases);
}

/** Fills `{{ $labels.x }}` the way Prometheus does (what promtool expects as annotations). */
export function expandSummary(summary: string, labels: Labels): string {
  return summary.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "");
}
