/**
 * The one place a cluster's names are made and read back. Its Docker objects (containers,
 * volumes, the network, image tags) are named from the cluster name here; the resources
 * below the cluster component, which is named after the cluster, are `<cluster>-<part>`,
 * and the preview report reads a step's part here, by lookup.
 */

/** The cluster's volumes; `data`: losing it loses data (SLURM's state, the databases and their backups). */
export const VOLUMES = {
  "slurmctld-state": { data: true },
  "postgres-data": { data: true },
  "postgres-backups": { data: true },
  "mariadb-data": { data: true },
  "mariadb-backups": { data: true },
  /** On the backup repository's workstation (hyperscaler:backupRepository). */
  "backup-repository": { data: true },
  "prometheus-data": { data: false },
  "alertmanager-data": { data: false },
  "grafana-data": { data: false },
  "grafana-provisioning": { data: false },
  /** The log store's lines (monitoring.logs): kept for its retention, not backed up. */
  "logs-data": { data: false },
  /** Empty: its label says which stack holds the cluster's name on its engine (components/cluster/claim.ts). */
  "claim": { data: false },
} as const;
export type VolumePart = keyof typeof VOLUMES;
export const DATA_VOLUMES = (Object.keys(VOLUMES) as VolumePart[]).filter((v) => VOLUMES[v].data);

/** The Docker names of cluster CLUSTER's objects. */
export function dockerNames(cluster: string) {
  return {
    /** A host's container: a SLURM node, a database, a monitoring service. */
    container: (host: string) => `${cluster}-${host}`,
    volume: (part: VolumePart) => `${cluster}-${part}`,
    network: `${cluster}-net`,
    /**
     * On several workstations, the controller's workstation's own bridge: the services only the
     * cluster uses (databases, slurmdbd, Alertmanager, Grafana) are there and not on the LAN.
     */
    platformNetwork: `${cluster}-platform`,
    /** A role image's tag (images/<role>). */
    image: (role: string) => `hyperscaler/${role}:${cluster}`,
  };
}

/** Which of the cluster's volumes a Docker volume name is (undefined: not one of them). */
export function volumePart(volumeName: string): VolumePart | undefined {
  return (Object.keys(VOLUMES) as VolumePart[]).find((v) => volumeName.endsWith(`-${v}`));
}

/** True for a volume whose loss loses data. */
export const isDataVolume = (volumeName: string) => DATA_VOLUMES.includes(volumePart(volumeName) as VolumePart);

/** The SLURM config files the controller holds (a resource each, `<cluster>-controller-<file>`). */
export const SLURM_FILES = ["slurm.conf", "cgroup.conf", "gres.conf"] as const;

/** What a resource below the cluster component is, read from a preview step's URN. */
export interface ResourcePart {
  /** The kind of part, from {@link PARTS}, or `node` (a SLURM node's container), or `volume`. */
  readonly part: string;
  /** The host, workstation, role, file, volume or accounting entity the part is about. */
  readonly subject?: string;
  /** The name without the cluster's prefix. */
  readonly rest: string;
}

/**
 * The parts of the cluster's resource names, looked up in order: a name is `<cluster>-`
 * then `exact`, or `prefix` + subject + `suffix`.
 */
const PARTS: readonly { part: string; exact?: string; subject?: string; prefix?: string; suffix?: string }[] = [
  ...["qos", "account", "user"].map((kind) => ({ part: `accounting-${kind}`, prefix: `accounting-${kind}-` })),
  ...["validation", "rotation-pause", "rotation-resume", "munge-key-bytes", "slurm-image-build", "slurmctld-restart",
    "backup-repository", "backup-repository-shipper-s3-credentials", "postgres", "postgres-backup-before-replace", "postgres-pitr", "accounting-password", "accounting-mariadb",
    "accounting-mariadb-backup-before-replace", "monitoring-node.json",
    "monitoring-prometheus.yml", "monitoring-alerts.yml", "monitoring-alertmanager.yml",
    "tls-ca", "tls-exporter", "tls-prometheus", "tls-postgres", "tls-mariadb", "monitoring-web-password", "monitoring-logs", "monitoring-dashboards"].map((exact) => ({ part: exact, exact })),
  ...SLURM_FILES.map((f) => ({ part: "slurm-file", exact: `controller-${f}`, subject: f })),
  { part: "membership", suffix: "-membership" },
  { part: "munge-key", suffix: "-munge-key" },
  { part: "tls-install", suffix: "-tls" },
  { part: "workstation", prefix: "workstation-" },
  { part: "monitoring-dashboard", prefix: "monitoring-dashboard-" },
  { part: "slurm-image-copy", prefix: "slurm-image-copy-" },
  { part: "postgres-pitr-key", prefix: "postgres-pitr-key-" },
  { part: "postgres-password-file", prefix: "postgres-", suffix: "-password-file" },
  { part: "postgres-password", prefix: "postgres-", suffix: "-password" },
];

/** A host's name from a part's subject: the accounting component's node (slurmdbd) is named below it. */
const hostOf = (subject: string) => subject.startsWith("accounting-") ? subject.slice("accounting-".length) : subject;
const HOST_PARTS = new Set(["node", "membership", "munge-key", "tls-install"]);

/**
 * A SLURM node's container: a container of the cluster or of accounting (slurmdbd's), not
 * one a part names (MariaDB's); or, in stacks from before their resources moved up to
 * those components, any container below a `hyperscaler:node:WorkstationNode`.
 */
const NODE_CONTAINER = { type: "docker:index/container:Container", parents: ["hyperscaler:cluster:HyperscalerCluster", "hyperscaler:accounting:Accounting", "hyperscaler:node:WorkstationNode"] };
const VOLUME_TYPE = "docker:index/volume:Volume";

/**
 * Reads what a resource of cluster CLUSTER is from its URN
 * (`urn:pulumi:<stack>::<project>::<type chain>::<name>`); undefined for one that is not
 * the cluster's or that no part names.
 */
export function resourcePart(cluster: string, urn: string): ResourcePart | undefined {
  const [, , typeChain = "", name = ""] = urn.split("::");
  const types = typeChain.split("$");
  const [type, parent] = [types[types.length - 1], types[types.length - 2]];
  const prefix = `${cluster}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  if (type === NODE_CONTAINER.type && NODE_CONTAINER.parents.includes(parent) && !PARTS.some((p) => p.exact === rest)) return { part: "node", subject: hostOf(rest), rest };
  if (type === VOLUME_TYPE) return { part: "volume", subject: volumePart(name), rest };
  for (const p of PARTS) {
    if (p.exact !== undefined) {
      if (rest === p.exact) return { part: p.part, ...(p.subject ? { subject: p.subject } : {}), rest };
      continue;
    }
    const [pre, suf] = [p.prefix ?? "", p.suffix ?? ""];
    if (rest.length <= pre.length + suf.length || !rest.startsWith(pre) || !rest.endsWith(suf)) continue;
    const subject = rest.slice(pre.length, rest.length - suf.length);
    return { part: p.part, subject: HOST_PARTS.has(p.part) ? hostOf(subject) : subject, rest };
  }
  return undefined;
}
