import * as docker from "@pulumi/docker";
import { getVersion } from "@pulumi/docker/utilities";
import * as pulumi from "@pulumi/pulumi";
import { dockerNames, VolumePart } from "../config/names";
import type { LogShipping } from "./engine";

/** Linux capabilities the daemons need (slurmd/slurmctld, munged, postgres: they switch users and own their files); everything else is dropped. */
export const DAEMON_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"] as const;

/** Label every Docker object of a cluster carries: how tests, scripts and operators find them. */
export const CLUSTER_LABEL = "hyperscaler.cluster";

/** Docker labels as the provider takes them, from a record. */
export function dockerLabels(labels: Record<string, pulumi.Input<string>>): docker.types.input.ContainerLabel[] {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([label, value]) => ({ label, value }));
}

export interface HardenedContainerArgs {
  /** Container name on the Docker host; also what `docker exec` targets. */
  readonly name: pulumi.Input<string>;
  /** Image ID (not a tag), so a rebuilt image shows as a change; or a pinned reference. */
  readonly image: pulumi.Input<string>;
  readonly hostname: pulumi.Input<string>;
  /** User-defined network the container joins (and no other); reachable by its hostname there. */
  readonly network: pulumi.Input<string>;
  /** A fixed address on that network (the controller's, on several workstations). @default - Docker assigns one */
  readonly address?: string;
  /** Networks it joins besides (the controller and Prometheus: the platform's and the LAN's), each with a fixed address where given. @default [] */
  readonly alsoOn?: readonly (pulumi.Input<string> | { readonly network: pulumi.Input<string>; readonly address: string })[];
  /** @default {} */
  readonly env?: Record<string, pulumi.Input<string>>;
  /** Capabilities kept after dropping ALL. @default [] */
  readonly capabilities?: readonly string[];
  /** Host devices: the container sees each at `containerPath`. @default [] */
  readonly devices?: readonly { hostPath: string; containerPath: string }[];
  /** Named volumes and where they are mounted. @default [] */
  readonly volumes?: readonly { volume: pulumi.Input<string>; path: string; readOnly?: boolean }[];
  /** Host files mounted read-only: the container sees each at `containerPath`. @default [] */
  readonly hostFiles?: readonly { hostPath: string; containerPath: string }[];
  /** GPUs through the NVIDIA container toolkit, as `docker run --gpus` takes them (`device=0,1`). @default - none */
  readonly gpus?: string;
  /** CDI devices (`nvidia.com/gpu=0`), as `docker run --device` takes them on Docker Engine 25+. @default [] */
  readonly cdiDevices?: readonly string[];
  /** Ports published on the host's 127.0.0.1 only. @default [] */
  readonly localPorts?: readonly { host: number; container: number }[];
  /** Memory limit, in MiB (no swap beyond it); updated in place. */
  readonly memoryMiB: number;
  /** CPU limit; a change replaces the container (the provider cannot update it). */
  readonly cpus: number;
  /** Shell command Docker runs to judge health. */
  readonly healthCommand: string;
  /** @default {} */
  readonly labels?: Record<string, pulumi.Input<string>>;
  /** Its output also to the cluster's log store (the engine's Engine.logs). @default - json-file only */
  readonly logs?: LogShipping;
}

/**
 * Docker's splunk log driver to the log store (VictoriaLogs takes Splunk's HEC format), so
 * that a store that is down never stops or blocks a container: it starts without checking
 * the store, a full buffer drops lines rather than block the process writing them
 * (non-blocking mode, 4 MiB), and lines the driver holds (up to 10,000) are sent when the
 * store answers again, unless dockerd restarts meanwhile. `docker logs` reads Docker's own
 * local copy (dual logging). The token is required by the driver and ignored by the store.
 */
export function logDriver(logs: LogShipping): { logDriver: string; logOpts: Record<string, string> } {
  return {
    logDriver: "splunk",
    logOpts: {
      "splunk-url": logs.url,
      "splunk-token": "hyperscaler",
      "splunk-format": "inline",
      "splunk-verify-connection": "false",
      "splunk-index": logs.cluster,
      "splunk-source": logs.workstation,
      tag: "{{.Name}}",
      labels: "hyperscaler.role",
      mode: "non-blocking",
      "max-buffer-size": "4m",
    },
  };
}

/**
 * A `docker.Container` (the same type token, inputs, provider and state) that declares only
 * the outputs the project reads. The SDK makes an Output, with its promises, for every
 * property a resource declares: 77 for `docker.Container`, which at a thousand nodes were
 * most of the program's memory (bench/engine.bench.ts).
 */
export class Container extends pulumi.CustomResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly networkDatas: pulumi.Output<docker.types.output.ContainerNetworkData[]>;

  constructor(name: string, args: docker.ContainerArgs, opts?: pulumi.CustomResourceOptions) {
    super("docker:index/container:Container", name, { ...args, networkDatas: undefined },
      pulumi.mergeOptions({ version: getVersion() }, opts)); // the plugin version @pulumi/docker asks for, as its own resources do
  }
}

/** A network of `alsoOn` as the provider takes it (an Output's properties are Outputs too: ask it first). */
function joined(n: NonNullable<HardenedContainerArgs["alsoOn"]>[number]): docker.types.input.ContainerNetworksAdvanced {
  if (typeof n === "string" || pulumi.Output.isInstance(n) || n instanceof Promise) return { name: n };
  return { name: n.network, ipv4Address: n.address };
}

/**
 * A hardened container: every capability dropped but the ones asked for,
 * no-new-privileges, restart unless stopped, a healthcheck, ports on loopback only, on
 * the cluster's networks alone. The name is fixed, so a replacement deletes first. A
 * stopped container shows in refresh and preview (`mustRun`) and the next `up` starts it.
 */
export function hardenedContainer(name: string, args: HardenedContainerArgs, opts?: pulumi.CustomResourceOptions): Container {
  return new Container(name, {
    name: args.name,
    image: args.image,
    hostname: args.hostname,
    networksAdvanced: [{ name: args.network, ...(args.address ? { ipv4Address: args.address } : {}) }, ...(args.alsoOn ?? []).map(joined)],
    // One value for the whole list (an Output only where a value is one, as Grafana's password).
    envs: pulumi.output(args.env ?? {}).apply((env) => Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`)),
    // As Docker stores them (CAP_ prefix), so a refresh reads back what was asked.
    capabilities: { drops: ["ALL"], adds: (args.capabilities ?? []).map((c) => `CAP_${c}`) },
    securityOpts: ["no-new-privileges"],
    restart: "unless-stopped",
    memory: args.memoryMiB,
    memorySwap: args.memoryMiB,
    cpus: cpusAsRead(args.cpus),
    healthcheck: {
      tests: ["CMD-SHELL", args.healthCommand],
      // Durations as Go prints them, as the provider reads them back (else every refresh sees a change).
      interval: "10s", startPeriod: "1m0s", retries: 3, timeout: "30s",
    },
    devices: (args.devices ?? []).map((d) => ({ hostPath: d.hostPath, containerPath: d.containerPath, permissions: "rwm" })),
    volumes: (args.volumes ?? []).map((v) => ({ volumeName: v.volume, containerPath: v.path, readOnly: v.readOnly ?? false })),
    // Only where used: a stack deployed before these existed previews no change.
    ...(args.hostFiles?.length ? { mounts: args.hostFiles.map((f) => ({ type: "bind", source: f.hostPath, target: f.containerPath, readOnly: true })) } : {}),
    ...(args.gpus ? { gpus: args.gpus } : {}),
    ...(args.cdiDevices?.length ? { deviceRequests: [{ driver: "cdi", deviceIds: [...args.cdiDevices] }] } : {}),
    ports: (args.localPorts ?? []).map((p) => ({ internal: p.container, external: p.host, ip: "127.0.0.1", protocol: "tcp" })),
    labels: dockerLabels(args.labels ?? {}),
    // Only where asked: a stack without a log store previews no change.
    ...(args.logs ? logDriver(args.logs) : {}),
    mustRun: true,
    // The image's stop signal first (SIGTERM; PostgreSQL's image: SIGINT, a fast shutdown): slurmctld saves its state, PostgreSQL shuts down cleanly.
    destroyGraceSeconds: 30,
    removeVolumes: true,
  }, { deleteBeforeReplace: true, ...opts });
}

/**
 * Volumes an update adopts as they are instead of creating them (space-separated names):
 * set only by scripts/migrate-to-providers.ts, for volumes a stack made before the move
 * to the docker provider. Ignored for a volume already in state.
 */
export const ADOPT_VOLUMES_ENV = "HYPERSCALER_ADOPT_VOLUMES";

/** A named local volume labelled with its cluster: state that outlives the container using it. */
export function clusterVolume(name: string, cluster: string, part: VolumePart, opts?: pulumi.CustomResourceOptions, labels: Record<string, string> = {}): docker.Volume {
  const volumeName = dockerNames(cluster).volume(part);
  const adopt = (process.env[ADOPT_VOLUMES_ENV] ?? "").split(/\s+/).includes(volumeName);
  return new docker.Volume(name, { name: volumeName, driver: "local", labels: dockerLabels({ [CLUSTER_LABEL]: cluster, ...labels }) },
    { ...opts, ...(adopt ? { import: volumeName } : {}) });
}

/**
 * A CPU count written the way the docker provider reads it back (1 -> "1.0", 1.5 ->
 * "1.5", 10 -> "10."), so an unchanged limit never shows as a change (it would replace).
 */
export function cpusAsRead(cpus: number): string {
  const fixed = cpus.toFixed(9);
  if ((fixed.match(/0/g) ?? []).length === 9) return cpus.toFixed(1);
  return fixed.replace(/0+$/, "");
}
