import { AccountingConfig } from "./accounting";
import { NODE_NUMBER_WIDTH, NodeGroupConfig, StackConfig } from "./schema";
import { BackupRepositoryConfig, groupWorkstation, lanGateway, WorkstationConfig } from "./workstations";

/** One compute node, as SLURM and Docker see it. */
export interface ComputeNodeSpec {
  /** SLURM NodeName and the container's hostname: `<group><NNN>`. */
  readonly name: string;
  readonly group: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly gpus?: GpuSpec;
  /** The group's name first, then its extra features. */
  readonly features: readonly string[];
  /** The workstation it runs on, when the cluster spans several (hyperscaler:workstations). */
  readonly workstation?: string;
}

/** A workstation of a cluster that spans several, as the components reach it. */
export interface WorkstationSpec extends WorkstationConfig {
  readonly name: string;
}

/** Where the parts of a cluster on several workstations run, and how they reach each other. */
export interface PlacementSpec {
  /** In config order. */
  readonly workstations: readonly WorkstationSpec[];
  /** Where the controller, PostgreSQL, monitoring and accounting run. */
  readonly controllerWorkstation: string;
  readonly subnet: string;
  readonly gateway: string;
  /** slurmctld's fixed address, in slurm.conf and every node's config server. */
  readonly controllerAddress: string;
  /** Where the backups go (hyperscaler:backupRepository). @default - beside the data */
  readonly backupRepository?: BackupRepositoryConfig;
  /** Whose engine builds the role images (hyperscaler:buildWorkstation). */
  readonly buildWorkstation: string;
}

/** A host path and where a node sees it (`docker run --device HOST:NODE`, `-v HOST:NODE:ro`). */
export interface HostMapping { readonly host: string; readonly node: string }

/** How a node gets its GPUs (hyperscaler:nodeGroups.<group>.gpus). */
export interface GpuSpec {
  readonly count: number;
  readonly type: string;
  readonly access: "devices" | "toolkit" | "cdi";
  /** N of each GPU's /dev/nvidiaN, as the node sees it: what gres.conf names. */
  readonly ids: readonly number[];
  /** `devices` access: the GPUs' device files, then the driver's shared ones. */
  readonly devices: readonly HostMapping[];
  /** `devices` access: the host's driver libraries and tools, mounted read-only. */
  readonly driverFiles: readonly HostMapping[];
  /** gres.conf AutoDetect for the group's nodes. */
  readonly autoDetect: "off" | "nvml";
}

export interface PartitionSpec {
  readonly name: string;
  readonly nodeGroups: readonly string[];
  readonly default: boolean;
  readonly maxTimeMin?: number;
}

/** Everything the renderers and components need, derived once from the parsed config. */
export interface ClusterSpec {
  readonly clusterName: string;
  readonly controllerHost: string;
  readonly slurmctldPort: number;
  readonly slurmdPort: number;
  readonly maxNodeCount: number;
  /** Scheduler tuning profile (hyperscaler:slurm.tuning). */
  readonly tuning: "default" | "throughput";
  /** SlurmdTimeout (hyperscaler:slurm.slurmdTimeoutSec). */
  readonly slurmdTimeoutSec: number;
  /** Sorted by name. */
  readonly nodes: readonly ComputeNodeSpec[];
  /** Sorted by name. */
  readonly partitions: readonly PartitionSpec[];
  /** SLURM accounting, when the config has it. */
  readonly accounting?: AccountingSpec;
  /** With hyperscaler:workstations: where each part runs. @default - all on one engine */
  readonly placement?: PlacementSpec;
}

/** What slurm.conf and slurmdbd.conf need of hyperscaler:accounting. */
export interface AccountingSpec {
  readonly dbdHost: string;
  readonly dbdPort: number;
  readonly storageHost: string;
  readonly database: string;
  readonly priority: AccountingConfig["priority"];
  readonly purge: AccountingConfig["purge"];
}

/** Hostname of the controller inside the cluster network. */
export const CONTROLLER_HOST = "controller";

/** Hostnames of slurmdbd and its MariaDB inside the cluster network. */
export const DBD_HOST = "slurmdbd";
export const MARIADB_HOST = "mariadb";
/** slurmdbd's port (SLURM's default, DbdPort). */
export const DBD_PORT = 6819;
/** The accounting database slurmdbd keeps its records in (StorageLoc). */
export const ACCOUNTING_DATABASE = "slurm_acct_db";

/** The partition a cluster gets when the config names none: every group, default. */
export const DEFAULT_PARTITION = "batch";

/** Alertmanager's container: small and fixed. */
export const ALERTMANAGER_SIZE = { cpus: 1, memoryMiB: 256 } as const;
/** Grafana's container (the user's image): fixed. */
export const GRAFANA_SIZE = { cpus: 1, memoryMiB: 512 } as const;

/** The log store's CPU limit. */
export const LOGS_CPUS = 1;
/** The log store's port in its container (and its front's, on the LAN). */
export const LOG_STORE_PORT = 9428;
/** The size of the log store's front on the LAN: it only hands lines on. */
export const LOG_INGEST_SIZE = { cpus: 0.5, memoryMiB: 256 } as const;

/** The dashboard server's CPU limit. */
export const DASHBOARDS_CPUS = 0.5;
/** The dashboard server's port in its container. */
export const DASHBOARDS_PORT = 8080;

/** What one container of the config asks of the Docker host, and the config path that sets it. */
export interface ContainerSize {
  readonly container: string;
  readonly path: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  /** The workstation it runs on, when the cluster spans several. */
  readonly workstation?: string;
}

/** Every container the config makes, with its CPU and memory limits. */
export function containerSizes(config: StackConfig): ContainerSize[] {
  const platform = config.controller.workstation;
  const sizes: ContainerSize[] = [{ container: CONTROLLER_HOST, path: "controller", cpus: config.controller.cpus, memoryMiB: config.controller.memoryMiB }];
  // The nodes as the cluster makes them: the groups' counts are expanded in one place.
  for (const n of clusterSpec(config).nodes) {
    sizes.push({ container: n.name, path: `nodeGroups.${n.group}`, cpus: n.cpus, memoryMiB: n.memoryMiB, workstation: n.workstation });
  }
  if (config.postgres) sizes.push({ container: "postgres", path: "postgres", cpus: config.postgres.cpus, memoryMiB: config.postgres.memoryMiB });
  if (config.accounting) {
    sizes.push({ container: DBD_HOST, path: "accounting.slurmdbd", ...config.accounting.slurmdbd });
    sizes.push({ container: MARIADB_HOST, path: "accounting.mariadb", ...config.accounting.mariadb });
  }
  const m = config.monitoring;
  if (m) {
    sizes.push({ container: "prometheus", path: "monitoring.prometheus", cpus: m.prometheus.cpus, memoryMiB: m.prometheus.memoryMiB });
    sizes.push({ container: "alertmanager", path: "monitoring.alertmanager", ...ALERTMANAGER_SIZE });
    if (m.dashboards) sizes.push({ container: "dashboards", path: "monitoring.dashboards", cpus: DASHBOARDS_CPUS, memoryMiB: m.dashboards.memoryMiB });
    if (m.grafana) sizes.push({ container: "grafana", path: "monitoring.grafana", ...GRAFANA_SIZE });
    if (m.logs) sizes.push({ container: "logs", path: "monitoring.logs", cpus: LOGS_CPUS, memoryMiB: m.logs.memoryMiB });
    if (m.logs && config.workstations) sizes.push({ container: "logs-ingest", path: "monitoring.logs", ...LOG_INGEST_SIZE });
  }
  // Everything but the compute nodes runs beside the controller.
  return sizes.map((s) => (s.workstation || !platform ? s : { ...s, workstation: platform }));
}

export function nodeName(group: string, index: number): string {
  return `${group}${String(index).padStart(NODE_NUMBER_WIDTH, "0")}`;
}

/** The driver's shared device files CUDA opens beside a GPU's own (what the toolkit passes in). */
export const CONTROL_DEVICES = ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"] as const;

/** A GPU's name in the host's CDI spec, as `nvidia-ctk cdi generate` writes it. */
export const cdiDeviceName = (id: number) => `nvidia.com/gpu=${id}`;

/** A GPU's device file, in the node and (by default) on the host. */
export const gpuDevicePath = (id: number) => `/dev/nvidia${id}`;

const mapping = (v: string): HostMapping => {
  const [host, node] = v.split(":");
  return { host, node: node ?? host };
};

/** What a group's `gpus` config means for each of its nodes. */
export function gpuSpec(gpus: NonNullable<NodeGroupConfig["gpus"]>): GpuSpec | undefined {
  if (!gpus.type) return undefined;
  const ids = gpus.ids ?? Array.from({ length: gpus.count }, (_, i) => i);
  const devices = gpus.access !== "devices" ? [] : [
    ...ids.map((id, i) => ({ host: gpus.hostDevices?.[i] ?? gpuDevicePath(id), node: gpuDevicePath(id) })),
    ...(gpus.controlDevices ?? CONTROL_DEVICES).map(mapping),
  ];
  return { count: gpus.count, type: gpus.type, access: gpus.access, ids, devices, driverFiles: gpus.driverFiles.map(mapping), autoDetect: gpus.autoDetect };
}

export function clusterSpec(config: StackConfig): ClusterSpec {
  const nodes: ComputeNodeSpec[] = [];
  for (const [group, g] of Object.entries(config.nodeGroups)) {
    const gpus = g.gpus && gpuSpec(g.gpus);
    for (let i = 1; i <= g.count; i++) {
      nodes.push({
        name: nodeName(group, i), group, cpus: g.cpus, memoryMiB: g.memoryMiB,
        ...(gpus ? { gpus } : {}),
        features: [group, ...g.features.filter((f) => f !== group)],
        ...(config.workstations ? { workstation: groupWorkstation(config, group) } : {}),
      });
    }
  }
  const partitions: PartitionSpec[] = config.partitions
    ? Object.entries(config.partitions).map(([name, p]) => ({ name, ...p }))
    : [{ name: DEFAULT_PARTITION, nodeGroups: Object.keys(config.nodeGroups).sort(), default: true }];
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    clusterName: config.clusterName,
    controllerHost: CONTROLLER_HOST,
    slurmctldPort: config.slurm.slurmctldPort,
    slurmdPort: config.slurm.slurmdPort,
    maxNodeCount: config.slurm.maxNodeCount,
    tuning: config.slurm.tuning,
    slurmdTimeoutSec: config.slurm.slurmdTimeoutSec,
    nodes: nodes.sort(byName),
    partitions: partitions.sort(byName),
    ...(config.accounting ? { accounting: {
      dbdHost: DBD_HOST, dbdPort: DBD_PORT, storageHost: MARIADB_HOST, database: ACCOUNTING_DATABASE,
      priority: config.accounting.priority, purge: config.accounting.purge,
    } } : {}),
    ...(config.workstations && config.network && config.controller.workstation ? { placement: {
      workstations: Object.entries(config.workstations).map(([name, w]) => ({ name, ...w })),
      controllerWorkstation: config.controller.workstation,
      subnet: config.network.subnet,
      gateway: lanGateway(config.network),
      controllerAddress: config.network.controllerAddress,
      ...(config.backupRepository ? { backupRepository: config.backupRepository } : {}),
      buildWorkstation: config.buildWorkstation ?? config.controller.workstation,
    } } : {}),
  };
}
