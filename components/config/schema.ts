import { z } from "zod";
import { backupRepositorySchema, clusterNetworkSchema, dockerHostUrl, ipv4, workstationIssues, workstationName, workstationSchema } from "./workstations";
import { accountingSchema } from "./accounting";

/** Config namespace of every key in Pulumi.<stack>.yaml. */
export const CONFIG_NAMESPACE = "hyperscaler";

/** Digits in a compute node's number: `cpu001`. Up to 999 nodes a group. */
export const NODE_NUMBER_WIDTH = 3;

/**
 * A hidden partition over every node, for the cluster's own job steps (validation,
 * rotation checks): they reach each node whatever the user's partition layout, even a
 * group in no partition. Only root may use it. images/slurm scripts name it too.
 */
export const MAINTENANCE_PARTITION = "hyperscaler";

/** A DNS label: what Docker, SLURM and MUNGE all accept as a host or cluster name. */
const dnsLabel = z
  .string()
  .regex(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a lowercase DNS label (a-z, 0-9, '-'; starts with a letter)");

/** A node group name; nodes are named `<group><NNN>`, so it may not end in a digit. */
const groupName = z.string().regex(/^[a-z]([a-z0-9-]{0,40}[a-z-])?$/, "must be lowercase letters, digits and '-', start with a letter and not end in a digit (nodes are named <group>001, <group>002, ...)");

const positiveInt = (min: number, what: string) =>
  z.number().int(`must be a whole number of ${what}`).min(min, `must be at least ${min} ${what}`);

/**
 * A number that may have a fraction. `pulumi config set --path` writes one with a decimal
 * point as a YAML string ("0.5"): read as the number it says.
 */
const decimal = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), schema);

const absolutePath = z.string().regex(/^\/[A-Za-z0-9_.+@/-]+$/, "must be an absolute path");
const devicePath = z.string().regex(/^\/dev\/[A-Za-z0-9_./-]+$/, "must be a device path under /dev");

/** `HOST` or `HOST:NODE`, as `docker run --device` and `-v` write a host path and where the node sees it. */
const hostMapping = (node: z.ZodString, message: string) => z.string().refine((v) => {
  const [host, inNode, ...rest] = v.split(":");
  return rest.length === 0 && absolutePath.safeParse(host).success && node.safeParse(inNode ?? host).success;
}, message);

const nodeGroupSchema = z.strictObject({
  /** Number of compute nodes (containers) in the group; remove the group to have none. */
  count: z.number().int("must be a whole number of nodes").min(1, "must be at least 1 node (remove the group to have none)").max(999, "must be at most 999 nodes a group"),
  /** CPUs each node offers SLURM (and the container's CPU limit). @default 1 */
  cpus: positiveInt(1, "CPUs").default(1),
  /** Memory each node offers SLURM, in MiB (RealMemory; also the container's limit). @default 512 */
  memoryMiB: positiveInt(256, "MiB (slurmd and its job steps need room)").default(512),
  /** GPUs each node offers as GRES `gpu:<type>:<count>`. @default - none */
  gpus: z.strictObject({
    count: positiveInt(1, "GPUs"),
    /** GRES type, e.g. `a100`: required so jobs can ask for a model. */
    type: z.string().regex(/^[a-z0-9_]+$/, "must be a GRES type such as 'a100' (lowercase letters, digits, '_')").optional(),
    /**
     * How the nodes get the GPUs. `toolkit`: the NVIDIA container toolkit on the Docker host
     * (`docker run --gpus device=<ids>`: devices, driver libraries and nvidia-smi).
     * `cdi`: CDI devices `nvidia.com/gpu=<id>` from the host's CDI spec (Docker Engine 25
     * or newer with CDI on). `devices`: no toolkit; the device files below and the host's
     * driver files (`driverFiles`) are passed in as they are.
     * @default devices
     */
    access: z.enum(["devices", "toolkit", "cdi"]).default("devices"),
    /**
     * Which of the host's GPUs, by number N of /dev/nvidiaN (nvidia-smi's index on almost
     * every host); the node sees each as /dev/nvidiaN, as the toolkit does.
     * @default - 0 ... count-1
     */
    ids: z.array(z.number().int("must be a whole GPU number").min(0, "must be a GPU number (N of /dev/nvidiaN), 0 or more")).optional(),
    /**
     * `devices` access: host device files standing in for the GPUs, one per id, seen in
     * the node as /dev/nvidia<id> (e.g. fake devices in tests).
     * @default - /dev/nvidia<id> for each id
     */
    hostDevices: z.array(absolutePath).optional(),
    /**
     * `devices` access: the driver's shared device files, `HOST[:NODE]` as with
     * `docker run --device` (CUDA needs nvidiactl and nvidia-uvm).
     * @default [/dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia-uvm-tools]
     */
    controlDevices: z.array(hostMapping(devicePath, "must be a device path under /dev, or HOST:NODE with NODE under /dev")).optional(),
    /**
     * `devices` access: the host's driver files mounted read-only, `HOST[:NODE]`: its
     * libraries (libcuda.so.*, libnvidia-ml.so.*, ...) and nvidia-smi, which must match
     * the host's kernel driver. `scripts/gpu-driver-files.sh` lists them for a host.
     * @default []
     */
    driverFiles: z.array(hostMapping(absolutePath, "must be an absolute path, or HOST:NODE")).default([]),
    /**
     * How slurmd finds the GPUs. `nvml`: through the driver's NVML library
     * (slurm-wlm-nvml-plugin; gres.conf `AutoDetect=nvml`), which the nodes must have: the
     * toolkit and CDI bring it with real GPUs, `devices` access through a libnvidia-ml among
     * driverFiles. `off`: each GPU named by its device file /dev/nvidia<id> (stand-in devices).
     * @default off
     */
    autoDetect: z.enum(["off", "nvml"]).default("off"),
  }).optional(),
  /** SLURM node features, in addition to the group's own name. @default [] */
  features: z.array(z.string().regex(/^[A-Za-z0-9_]+$/, "must be letters, digits or '_'")).default([]),
  /** The workstation its nodes run on (with hyperscaler:workstations). @default - the controller's */
  workstation: workstationName.optional(),
});

const partitionSchema = z.strictObject({
  /** Node groups whose nodes belong to this partition. */
  nodeGroups: z.array(z.string()).min(1, "must name at least one node group"),
  /** The partition jobs go to when they name none. Exactly one partition is the default. @default false */
  default: z.boolean().default(false),
  /** Longest job, in minutes; omitted means UNLIMITED. @default - UNLIMITED */
  maxTimeMin: positiveInt(1, "minutes").optional(),
});

/** A PostgreSQL identifier we create: lowercase, so it needs no quoting anywhere. */
const pgName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase PostgreSQL name (a-z, 0-9, '_'; starts with a letter or '_')");

const postgresSchema = z.strictObject({
  /** Application roles by name, each with the database it owns. */
  roles: z.record(pgName, z.strictObject({
    /** Database the role owns (created if missing). */
    database: pgName,
  })).default({}),
  /**
   * Applications outside the stack that log in as one of the roles: each is a running
   * container on the Docker host, and every `pulumi up` that sets a new password for its
   * role (a rotation) writes it into `file` there (mode 0600), then runs `reload`.
   * In `pgpass` format libpq re-reads the file at every connection, so no reload is needed.
   * The container needs `sh`. @default {}
   */
  applications: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "must be a lowercase name (a-z, 0-9, '-')"), z.strictObject({
    /** Name of the application's container on the Docker host (started by you, before `pulumi up`). */
    container: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "must be a Docker container name"),
    /** The role whose password it uses (one of `roles`). */
    role: pgName,
    /** Where the password goes in the container (an absolute path). */
    file: z.string().regex(/^\/[A-Za-z0-9_./-]+$/, "must be an absolute path (letters, digits, '_', '.', '-', '/')"),
    /** `pgpass`: `*:*:<database>:<role>:<password>` (for PGPASSFILE); `password`: the password alone. @default "pgpass" */
    format: z.enum(["pgpass", "password"]).default("pgpass"),
    /** Owner of the file, `user[:group]` as the container knows them. @default - root */
    owner: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/, "must be user or user:group").optional(),
    /** Command run in the container after the file changes, as argv (e.g. ["kill", "-HUP", "1"]). @default - none */
    reload: z.array(z.string().min(1)).min(1).optional(),
    /**
     * Where the stack's CA certificates go in the container, for `sslrootcert` with
     * `sslmode=verify-full` (stacks with hyperscaler:workstations, whose PostgreSQL takes
     * TLS only); kept current through renewals and CA rotations. @default - not delivered
     */
    caFile: z.string().regex(/^\/[A-Za-z0-9_./-]+$/, "must be an absolute path (letters, digits, '_', '.', '-', '/')").optional(),
  })).default({}),
  /**
   * The official PostgreSQL image to build on instead of `baseImage` (Debian's
   * postgresql-17): a pinned `postgres:17.<minor>` (trixie) tag, optionally with its
   * digest. It must be on the Docker host (`docker pull` it first). The project's tools
   * (backups, restore, exporters) are layered on; its PostgreSQL is kept as it is.
   * @default - Debian's postgresql-17 on baseImage
   */
  image: z.string().regex(/^(docker\.io\/)?(library\/)?postgres:17\.\d+(-trixie)?(@sha256:[0-9a-f]{64})?$/,
    "must be the official image pinned to a PostgreSQL 17 release on Debian trixie, like postgres:17.6-trixie (optionally @sha256:<digest>)").optional(),
  /** Publish the server on 127.0.0.1:<port> of the Docker host; never on other addresses. @default - not published */
  publishPort: z.number().int().min(1024, "must be 1024 or above").max(65535).optional(),
  /** @default 1 */
  cpus: positiveInt(1, "CPUs").default(1),
  /** @default 1024 */
  memoryMiB: positiveInt(256, "MiB").default(1024),
  /** Scheduled logical backups of every role's database, verified by a test restore. */
  backup: z.strictObject({
    /** Minutes between backups. @default 60 */
    intervalMin: positiveInt(1, "minutes").default(60),
    /** Backups kept per database. @default 24 */
    retain: positiveInt(1, "backups").default(24),
    /** Take a verified backup of every database before the server's container is replaced or removed. @default false */
    beforeReplace: z.boolean().default(false),
  }).default({ intervalMin: 60, retain: 24, beforeReplace: false }),
  /**
   * Continuous archiving with pgBackRest: each WAL file goes to an encrypted repository as
   * it is done, on top of full and differential backups, so a restore reaches any moment
   * from the end of the oldest backup to the newest WAL shipped (scripts/pg-pitr.sh; the
   * guide's "Restore to a point in time"). The logical dumps above stay: one database at a
   * time, and readable without the repository's key.
   */
  pitr: z.strictObject({
    /** Seconds written WAL may wait before it is shipped even if the database is idle (archive_timeout): the RPO. @default 60 */
    walMaxDelaySec: positiveInt(10, "seconds").max(3600, "must be at most 3600 seconds").default(60),
    /** Minutes between backups (differential, or full when the newest full is fullEveryDays old). @default 1440 */
    backupIntervalMin: positiveInt(5, "minutes").default(1440),
    /** Days between full backups. @default 7 */
    fullEveryDays: positiveInt(1, "days").default(7),
    /** Full backups kept, with the differentials and the WAL they need: the window is about retainFull x fullEveryDays. @default 2 */
    retainFull: positiveInt(1, "full backups").default(2),
  }).prefault({}),
});

/** A port published on the Docker host's 127.0.0.1, or `false` for none. */
const localPort = (port: number) => z.union([
  z.number().int().min(1024, "must be 1024 or above (or false: not published)").max(65535),
  z.literal(false),
]).default(port);

/** A warning and a critical level (the alert fires at and above each) held for `forMin` minutes. */
const levels = (warning: number, critical: number, forMin: number, unit: string, max?: number) => {
  const value = decimal(max === undefined ? z.number().positive(`must be above 0 ${unit}`) : z.number().positive(`must be above 0 ${unit}`).max(max, `must be at most ${max} ${unit}`));
  return z.strictObject({
    warning: value.default(warning),
    critical: value.default(critical),
    /** Minutes the level must hold before the alert fires. */
    forMin: positiveInt(1, "minutes").default(forMin),
  }).default({ warning, critical, forMin })
    .refine((l) => l.warning < l.critical, { message: `warning must be below critical (${unit})`, path: ["warning"] });
};

/** A name Alertmanager routes to. */
const receiverName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "must be lowercase letters, digits, '_' or '-', starting with a letter");

const monitoringSchema = z.strictObject({
  /** Seconds between scrapes. @default 15 */
  scrapeIntervalSec: positiveInt(5, "seconds").max(300, "must be at most 300 seconds").default(15),
  /** Days Prometheus keeps samples. @default 15 */
  retentionDays: positiveInt(1, "days").default(15),
  /** Prometheus container; its web UI on 127.0.0.1:<port>. */
  prometheus: z.strictObject({
    /** @default 9090 */
    port: localPort(9090),
    /** @default 1 */
    cpus: positiveInt(1, "CPUs").default(1),
    /** @default 1024 */
    memoryMiB: positiveInt(256, "MiB").default(1024),
  }).default({ port: 9090, cpus: 1, memoryMiB: 1024 }),
  /** Alertmanager container; its web UI on 127.0.0.1:<port>. */
  alertmanager: z.strictObject({
    /** @default 9093 */
    port: localPort(9093),
    /** Webhook receivers by name. @default {} (alerts are kept in Alertmanager, sent nowhere) */
    receivers: z.record(receiverName, z.strictObject({
      webhookUrls: z.array(z.url("must be a URL such as http://chat-bridge:8080/hook")).min(1, "must list at least one URL"),
    })).default({}),
    /** Receiver for each severity. @default - none (kept in Alertmanager) */
    route: z.strictObject({ critical: receiverName.optional(), warning: receiverName.optional() }).default({}),
  }).default({ port: 9093, receivers: {}, route: {} }),
  /** Alert thresholds; the rules Prometheus runs are rendered from these. */
  thresholds: z.strictObject({
    /** Node CPU use, percent. @default 70 / 90 for 10 min */
    cpuPercent: levels(70, 90, 10, "percent", 100),
    /** Node memory use, percent. @default 80 / 95 for 5 min */
    memoryPercent: levels(80, 95, 5, "percent", 100),
    /** Filesystem use, percent. @default 70 / 85 for 5 min */
    diskPercent: levels(70, 85, 5, "percent", 100),
    /** Share of HTTP requests answered 5xx, percent (services exposing *http_requests_total). @default 1 / 5 for 5 min */
    httpErrorPercent: levels(1, 5, 5, "percent", 100),
    /** p95 HTTP latency, ms (services exposing *http_request_duration_seconds). @default 500 / 2000 for 5 min */
    httpLatencyP95Ms: levels(500, 2000, 5, "ms"),
    /** GPU core temperature, degrees Celsius (GPU nodes). @default 83 / 90 for 5 min */
    gpuTemperatureCelsius: levels(83, 90, 5, "degrees Celsius"),
    /** GPU memory in use, percent (GPU nodes). @default 90 / 98 for 15 min */
    gpuMemoryPercent: levels(90, 98, 15, "percent", 100),
    /** A node whose GPUs SLURM has given to jobs while every one of them stays below this use: a GPU held but not used. @default below 5 % for 30 min */
    gpuIdleWhileAllocated: z.strictObject({
      utilizationPercent: decimal(z.number().positive("must be above 0 percent").max(100, "must be at most 100 percent")).default(5),
      forMin: positiveInt(1, "minutes").default(30),
    }).prefault({}),
    /** Job records slurmctld holds for slurmdbd (accounting; it drops them past MaxDBDMsgs). @default 1000 / 10000 for 5 min */
    dbdAgentQueue: levels(1000, 10000, 5, "records"),
    /** Minutes a node (exporter or slurmd), the controller or PostgreSQL may be down before it pages. @default 2 */
    downForMin: positiveInt(1, "minutes").default(2),
    /** Minutes a node may stay drained for a reason the stack did not set. @default 5 */
    unplannedDrainForMin: positiveInt(1, "minutes").default(5),
    /** Minutes beyond the backup interval (the RPO) before a missing backup pages. @default 15 */
    backupGraceMin: positiveInt(1, "minutes").default(15),
    /**
     * Days before a certificate expires (several workstations' TLS) at which its alert fires:
     * warning, then critical. Below hyperscaler:tls.renewBeforeDays, the alert means no `up`
     * renewed it in its window. @default 14 / 3
     */
    certificateExpiryDays: z.strictObject({
      warning: decimal(z.number().positive("must be above 0 days")).default(14),
      critical: decimal(z.number().positive("must be above 0 days")).default(3),
    }).prefault({}).refine((d) => d.critical < d.warning, { message: "critical must be below warning (days left)", path: ["critical"] }),
  }).prefault({}),
  /**
   * The log store (VictoriaLogs) beside Prometheus: every container of the cluster, on every
   * workstation, sends its output there (Docker's splunk log driver; `docker logs` still
   * works). Turning it on or off re-creates every container once. @default - none
   */
  logs: z.strictObject({
    /** Its LogsQL API and web UI on the controller's workstation, 127.0.0.1:<port>; that engine's containers send there (a change re-creates them). @default 9428 */
    port: z.number().int().min(1024, "must be 1024 or above: the controller's engine sends its containers' output there").max(65535).default(9428),
    /** Its fixed address on the LAN (several workstations): the other engines send there (a change re-creates their containers). In network.subnet, outside every workstation's addresses. */
    address: ipv4.optional(),
    /** Days lines are kept. @default 7 */
    retentionDays: positiveInt(1, "days").default(7),
    /** Disk the store may use, GiB: the oldest days go first beyond it. @default 10 */
    maxDiskGiB: positiveInt(1, "GiB").default(10),
    /** @default 512 */
    memoryMiB: positiveInt(256, "MiB").default(512),
  }).optional(),
  /**
   * The dashboard server (Perses, built by scripts/setup.sh's `dashboards` step) beside
   * Prometheus, provisioned at each update with the cluster's dashboards (overview, nodes,
   * and PostgreSQL, accounting and GPUs where the stack has them); read-only: they change
   * in code, not in the UI. @default - none
   */
  dashboards: z.strictObject({
    /** Its web UI on 127.0.0.1:<port>. @default 8080 */
    port: localPort(8080),
    /** @default 256 */
    memoryMiB: positiveInt(128, "MiB").default(256),
  }).optional(),
  /** Grafana, from an image you provide (Grafana is not in Debian). @default - none */
  grafana: z.strictObject({
    /** Image reference on the Docker host, e.g. grafana/grafana-oss:11.3.0 (pin a version). */
    image: z.string().min(1).refine((i) => !/:latest$/.test(i) && /[:@]/.test(i), "must be pinned to a version or digest (not latest)"),
    /** @default 3000 */
    port: localPort(3000),
  }).optional(),
});

/**
 * The stack config: the one source of truth for keys and defaults. Strict, so a typo
 * in Pulumi.<stack>.yaml is an error rather than a silently ignored key.
 */
export const stackConfigSchema = z.strictObject({
  /** Cluster name: SLURM's ClusterName and the prefix of container, network and volume names. */
  clusterName: dnsLabel,
  /**
   * Image every role image derives from. `hyperscaler/debian-base:trixie` is what
   * scripts/setup.sh makes (debootstrap, or a tagged pull); `debian:trixie-slim` works
   * where images can be pulled.
   * @default "hyperscaler/debian-base:trixie"
   */
  baseImage: z.string().min(1).default("hyperscaler/debian-base:trixie"),
  /**
   * The Docker engine the cluster runs on: the docker provider's `host` (and DOCKER_HOST for
   * the commands run in containers), e.g. `ssh://ops@ws2` or `tcp://127.0.0.1:2375`.
   * @default - DOCKER_HOST, else the local socket
   */
  dockerHost: dockerHostUrl.optional(),
  /**
   * The workstations a cluster spans, by name: each with its Docker engine, its interface
   * on the LAN they share and its share of the LAN's addresses. The controller and each
   * node group name theirs (controller.workstation, nodeGroups.<group>.workstation);
   * PostgreSQL, monitoring and accounting run beside the controller.
   * @default - one engine: hyperscaler:dockerHost
   */
  workstations: z.record(workstationName, workstationSchema).optional(),
  /** The LAN the workstations share (with hyperscaler:workstations only). */
  network: clusterNetworkSchema.optional(),
  /**
   * Where PostgreSQL's backups and archived WAL go, and copies of the file backups: a
   * repository on another workstation (with hyperscaler:workstations) or an S3-compatible
   * bucket (s3), so that losing the controller's workstation loses no backup.
   * @default - beside the data, on the controller's workstation (the preview report says so)
   */
  backupRepository: backupRepositorySchema.optional(),
  /**
   * The workstation whose engine builds the role images (with hyperscaler:workstations):
   * one that reaches Debian's mirror, or the base image's registry. Every other engine gets
   * copies (`docker save | docker load`), so a controller moved to a workstation that cannot
   * build still gets its images. @default - the controller's
   */
  buildWorkstation: workstationName.optional(),
  /** Protect stateful resources from deletion. @default false */
  protect: z.boolean().default(false),
  /** Refuse to run with the dev passphrase (prod). @default false */
  requireRealPassphrase: z.boolean().default(false),
  /** The controller container (slurmctld). */
  controller: z.strictObject({
    /** @default 1 */
    cpus: positiveInt(1, "CPUs").default(1),
    /** @default 1024 */
    memoryMiB: positiveInt(256, "MiB").default(1024),
    /** The workstation it runs on (with hyperscaler:workstations). */
    workstation: workstationName.optional(),
  }).default({ cpus: 1, memoryMiB: 1024 }),
  /** Compute node groups by name: `{ cpu: { count: 2 } }` gives nodes cpu001 and cpu002. */
  nodeGroups: z.record(groupName, nodeGroupSchema).refine((g) => Object.keys(g).length > 0, "must define at least one node group"),
  /** Partitions by name. @default - one default partition `batch` over every group */
  partitions: z.record(dnsLabel, partitionSchema).optional(),
  /** SLURM settings that are not derived from the nodes. */
  slurm: z.strictObject({
    /** @default 6817 */
    slurmctldPort: z.number().int().min(1).max(65535).default(6817),
    /** @default 6818 */
    slurmdPort: z.number().int().min(1).max(65535).default(6818),
    /** Most nodes the controller accepts (dynamic nodes register up to this). @default 1024 */
    maxNodeCount: positiveInt(1, "nodes").default(1024),
    /**
     * Scheduler tuning profile: `default` is SLURM's own settings; `throughput` is for many
     * short jobs (jobs pack by CPU, deeper and eager scheduling, a job's end starting the
     * next at once, quieter daemons): see docs/operations/performance-tuning.md for what it
     * buys. Applied like any slurm.conf change: reconfigure, then slurmctld restarted
     * (running jobs carry on). @default "default"
     */
    tuning: z.enum(["default", "throughput"], "must be 'default' or 'throughput'").default("default"),
    /**
     * Seconds a node's slurmd may not answer before slurmctld sets it DOWN and ends or
     * requeues its jobs (SlurmdTimeout): how soon a lost workstation's nodes go DOWN.
     * @default 300 (SLURM's)
     */
    slurmdTimeoutSec: z.number().int().min(10, "must be at least 10 seconds (slurmctld pings every third of it)").max(65533).default(300),
  }).default({ slurmctldPort: 6817, slurmdPort: 6818, maxNodeCount: 1024, tuning: "default", slurmdTimeoutSec: 300 }),
  /** Bump a value to rotate that secret: the change shows in preview as a one-line diff. */
  rotation: z.strictObject({
    /** @default 0 */
    mungeKeyEpoch: z.number().int().min(0).default(0),
    /** PostgreSQL password epochs by role (`postgres` is the superuser); a role not listed is at 0. @default {} */
    postgresPasswordEpochs: z.record(pgName, z.number().int().min(0)).default({}),
    /** The accounting database's password (slurmdbd's login to MariaDB). @default 0 */
    accountingPasswordEpoch: z.number().int().min(0).default(0),
    /** The stack's certificate authority (several workstations): a new CA and new certificates; both CAs are trusted for one update. @default 0 */
    caEpoch: z.number().int().min(0).default(0),
    /** The services' certificates, renewed now rather than at their renewal window. @default 0 */
    certificatesEpoch: z.number().int().min(0).default(0),
    /**
     * The key of PostgreSQL's pgBackRest repository: a new key starts a new repository with
     * a full backup; the previous one and its key stay for restores until the next rotation. @default 0
     */
    pitrKeyEpoch: z.number().int().min(0).default(0),
    /** The password of Prometheus's web login (several workstations). @default 0 */
    prometheusPasswordEpoch: z.number().int().min(0).default(0),
  }).prefault({}),
  /**
   * The stack's certificate authority and the certificates it issues (several workstations:
   * Prometheus and the node exporters serve TLS on the LAN). Each `pulumi up` renews a
   * certificate that is inside its renewal window; security.md "Renew certificates".
   */
  tls: z.strictObject({
    /** Days a service certificate is valid. @default 90 */
    certificateDays: decimal(z.number().positive("must be above 0 days")).default(90),
    /** Days before a certificate's expiry from which an `up` renews it. @default 30 */
    renewBeforeDays: decimal(z.number().positive("must be above 0 days")).default(30),
    /** Days the CA's certificate is valid; renewed like the others, inside its own renewal window. @default 3650 */
    caDays: decimal(z.number().positive("must be above 0 days")).default(3650),
  }).prefault({})
    .refine((t) => t.renewBeforeDays < t.certificateDays, { message: "must be below certificateDays (else every up renews every certificate)", path: ["renewBeforeDays"] })
    .refine((t) => t.certificateDays + t.renewBeforeDays <= t.caDays, { message: "must be at least certificateDays + renewBeforeDays (a certificate never outlives its CA)", path: ["caDays"] }),
  /**
   * How far the containers (controller, nodes, PostgreSQL, monitoring) may ask for more
   * than the Docker host has, as a factor of its CPUs and of its memory; preflight refuses
   * more. A single container never gets more than the host has. @default { cpu: 1, memory: 1 }
   */
  overcommit: z.strictObject({
    /** @default 1 */
    cpu: decimal(z.number().min(1, "must be at least 1 (no overcommit)")).default(1),
    /** @default 1 */
    memory: decimal(z.number().min(1, "must be at least 1 (no overcommit)")).default(1),
  }).default({ cpu: 1, memory: 1 }),
  /** The platform's PostgreSQL. @default - none */
  postgres: postgresSchema.optional(),
  /** Prometheus, exporters, alert rules, Alertmanager (and Grafana from your image). @default - none */
  monitoring: monitoringSchema.optional(),
  /** SLURM accounting (slurmdbd, MariaDB): job records, fair share, accounts, users, QOS. @default - none */
  accounting: accountingSchema.optional(),
}).superRefine((c, ctx) => {
  const expiry = c.monitoring?.thresholds.certificateExpiryDays;
  if (c.workstations && expiry && expiry.warning >= c.tls.renewBeforeDays) {
    ctx.addIssue({ code: "custom", path: ["monitoring", "thresholds", "certificateExpiryDays", "warning"],
      message: `must be below tls.renewBeforeDays (${c.tls.renewBeforeDays}): it warns that no up renewed a certificate in its window` });
  }
  for (const issue of workstationIssues(c)) ctx.addIssue({ code: "custom", ...issue });
  const receivers = Object.keys(c.monitoring?.alertmanager.receivers ?? {});
  for (const [severity, receiver] of Object.entries(c.monitoring?.alertmanager.route ?? {})) {
    if (receiver && !receivers.includes(receiver)) {
      ctx.addIssue({ code: "custom", path: ["monitoring", "alertmanager", "route", severity],
        message: `names unknown receiver '${receiver}' (defined: ${receivers.join(", ") || "none; add one under monitoring.alertmanager.receivers"})` });
    }
  }
  for (const [app, a] of Object.entries(c.postgres?.applications ?? {})) {
    if (!applicationRoles(c)[a.role]) {
      ctx.addIssue({ code: "custom", path: ["postgres", "applications", app, "role"],
        message: `names no application role '${a.role}' (roles: ${Object.keys(applicationRoles(c)).join(", ") || "none; add one under postgres.roles"})` });
    }
    if (a.caFile && !c.workstations) {
      ctx.addIssue({ code: "custom", path: ["postgres", "applications", app, "caFile"],
        message: "needs the stack's CA, which only stacks with hyperscaler:workstations have (PostgreSQL takes TLS only there); remove it here" });
    }
  }
  if (c.backupRepository && !c.postgres) {
    ctx.addIssue({ code: "custom", path: ["backupRepository"], message: "holds PostgreSQL's backups, and the stack has no hyperscaler:postgres: add it, or remove this" });
  }
  if (c.postgres?.roles.postgres) {
    ctx.addIssue({ code: "custom", path: ["postgres", "roles", "postgres"], message: "is the superuser, made by the image; name application roles otherwise" });
  }
  for (const role of Object.keys(c.rotation.postgresPasswordEpochs)) {
    if (!postgresRoles(c).includes(role)) {
      ctx.addIssue({ code: "custom", path: ["rotation", "postgresPasswordEpochs", role],
        message: `names no PostgreSQL role (roles: ${postgresRoles(c).join(", ")})` });
    }
  }
  const groups = Object.keys(c.nodeGroups);
  const partitions = c.partitions ?? {};
  for (const [name, p] of Object.entries(partitions)) {
    p.nodeGroups.forEach((g, i) => {
      if (!c.nodeGroups[g]) {
        ctx.addIssue({ code: "custom", path: ["partitions", name, "nodeGroups", i],
          message: `names unknown node group '${g}' (defined: ${groups.join(", ")})` });
      }
    });
  }
  if (partitions[MAINTENANCE_PARTITION]) {
    ctx.addIssue({ code: "custom", path: ["partitions", MAINTENANCE_PARTITION],
      message: `'${MAINTENANCE_PARTITION}' is the cluster's own hidden maintenance partition; give yours another name` });
  }
  const defaults = Object.entries(partitions).filter(([, p]) => p.default).map(([n]) => n);
  if (Object.keys(partitions).length > 0 && defaults.length !== 1) {
    ctx.addIssue({ code: "custom", path: ["partitions"],
      message: `exactly one partition must have default: true (found ${defaults.length === 0 ? "none" : defaults.join(", ")})` });
  }
  for (const [name, g] of Object.entries(c.nodeGroups)) {
    if (g.gpus && !g.gpus.type) {
      ctx.addIssue({ code: "custom", path: ["nodeGroups", name, "gpus", "type"],
        message: "GPUs need a GRES type (e.g. type: a100) so gres.conf and jobs can name them" });
    }
    if (g.gpus?.hostDevices && g.gpus.hostDevices.length !== g.gpus.count) {
      ctx.addIssue({ code: "custom", path: ["nodeGroups", name, "gpus", "hostDevices"],
        message: `lists ${g.gpus.hostDevices.length} devices for ${g.gpus.count} GPUs; give one device per GPU` });
    }
    const ids = g.gpus?.ids;
    if (g.gpus && ids && (ids.length !== g.gpus.count || new Set(ids).size !== ids.length)) {
      ctx.addIssue({ code: "custom", path: ["nodeGroups", name, "gpus", "ids"],
        message: `lists ${ids.join(", ")} for ${g.gpus.count} GPUs; give ${g.gpus.count} different GPU numbers` });
    }
    if (g.gpus && g.gpus.access !== "devices") {
      for (const field of ["hostDevices", "controlDevices", "driverFiles"] as const) {
        if (g.gpus[field] && g.gpus[field].length > 0) {
          ctx.addIssue({ code: "custom", path: ["nodeGroups", name, "gpus", field],
            message: `is for access: devices; with access: ${g.gpus.access} the ${g.gpus.access === "toolkit" ? "toolkit" : "CDI spec"} brings the devices and driver files (remove it, or set access: devices)` });
        }
      }
    }
  }
  if (c.slurm.slurmctldPort === c.slurm.slurmdPort) {
    ctx.addIssue({ code: "custom", path: ["slurm", "slurmdPort"], message: "must differ from slurmctldPort" });
  }
  const total = Object.values(c.nodeGroups).reduce((n, g) => n + g.count, 0);
  if (total > c.slurm.maxNodeCount) {
    ctx.addIssue({ code: "custom", path: ["slurm", "maxNodeCount"],
      message: `is below the ${total} compute nodes the node groups define; raise it` });
  }
});

export type StackConfig = z.infer<typeof stackConfigSchema>;

/** Grafana's role and database in the platform's PostgreSQL, when both are configured. */
export const GRAFANA_DB_ROLE = "grafana";

/** Application roles of the platform's PostgreSQL: the config's, plus Grafana's store when Grafana is on. */
export function applicationRoles(c: Pick<StackConfig, "postgres" | "monitoring">): Record<string, { database: string }> {
  const roles = { ...c.postgres?.roles };
  if (c.postgres && c.monitoring?.grafana && !roles[GRAFANA_DB_ROLE]) roles[GRAFANA_DB_ROLE] = { database: GRAFANA_DB_ROLE };
  return roles;
}

/** Every role whose password rotates: the superuser, then the application roles. */
function postgresRoles(c: Pick<StackConfig, "postgres" | "monitoring">): string[] {
  return ["postgres", ...Object.keys(applicationRoles(c)).filter((r) => r !== "postgres").sort()];
}
export type NodeGroupConfig = z.infer<typeof nodeGroupSchema>;
export type PostgresConfig = z.infer<typeof postgresSchema>;
export type MonitoringConfig = z.infer<typeof monitoringSchema>;
export type AlertThresholds = MonitoringConfig["thresholds"];
