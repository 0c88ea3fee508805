import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec, dockerNames, LOG_STORE_PORT, PlacementSpec, WorkstationSpec } from "../config";
import { CLUSTER_LABEL, clusterVolume, dockerLabels, Engine, LogShipping } from "../docker";
import { STACK_LABEL } from "./claim";
import { copiedImage, ImageBuild, RoleImage } from "../images";

/** The engines a cluster runs on: the controller's (the stack's own provider) and each other workstation in use. */
export interface Placement {
  /** The controller's engine: PostgreSQL, monitoring and accounting run there too. */
  readonly platform: Engine;
  /** The cluster's network on the controller's engine. */
  readonly network: docker.Network;
  /**
   * Where the services only the cluster uses run (PostgreSQL, MariaDB, slurmdbd,
   * Alertmanager, Grafana): the cluster's network on one workstation; on several, a bridge
   * of the controller's workstation that the LAN does not reach, which the controller and
   * Prometheus join besides the LAN's.
   */
  readonly platformNetwork: pulumi.Output<string>;
  /** Every other workstation with nodes on it: its engine, the network there and its copy of the SLURM image. */
  readonly elsewhere: ReadonlyMap<string, { engine: Engine; network: pulumi.Output<string>; image: pulumi.Output<string> }>;
  /** Every other workstation in use (nodes, or the backup repository): its engine and the network there. */
  readonly others: ReadonlyMap<string, { engine: Engine & { dockerHost: string; provider: docker.Provider }; network: pulumi.Output<string> }>;
  /** Where the role images are built (hyperscaler:buildWorkstation), for the controller's engine: nothing when it builds them itself. */
  readonly build: ImageBuild;
  /** The SLURM image, on the controller's engine. */
  readonly image: RoleImage;
}

/**
 * Where the cluster runs. On one engine: hyperscaler:dockerHost's (or DOCKER_HOST's), one
 * bridge network. On several workstations: the controller's workstation is the stack's
 * engine; every other one with nodes gets its own provider, network and copy of the image.
 */
export function placeCluster(name: string, spec: ClusterSpec, dockerHost: string | undefined, slurmImage: (build: ImageBuild) => RoleImage, stack: string, parent: pulumi.Resource,
  logs?: LogStoreAddress): Placement {
  const cluster = spec.clusterName;
  const placement = spec.placement;
  const platform: Engine = {
    ...(placement ? { workstation: placement.controllerWorkstation } : {}), ...(dockerHost ? { dockerHost } : {}),
    ...(logs ? { logs: logShipping(cluster, logs, placement?.controllerWorkstation) } : {}),
  };
  // Each engine's claim comes first: its network, and so every container there, waits for it.
  const claim = (resource: string, provider?: docker.Provider) =>
    clusterVolume(resource, cluster, "claim", { parent, ...(provider ? { provider } : {}) }, { [STACK_LABEL]: stack });
  const network = clusterNetwork(`${name}-network`, cluster, placement && { placement, on: workstation(placement, placement.controllerWorkstation) },
    { parent, dependsOn: [claim(`${name}-claim`)] });
  // Every other workstation in use (nodes, or the backup repository): its provider and network.
  const hasNodes = (ws: string) => spec.nodes.some((n) => n.workstation === ws);
  const inUse = (w: WorkstationSpec) => w.name !== placement!.controllerWorkstation &&
    (hasNodes(w.name) || placement!.backupRepository?.workstation === w.name);
  const providers = new Map<string, docker.Provider>();
  const engineOf = (w: WorkstationSpec) => {
    if (!providers.has(w.name)) providers.set(w.name, new docker.Provider(`${name}-workstation-${w.name}`, { host: w.dockerHost }, { parent }));
    return { workstation: w.name, dockerHost: w.dockerHost, provider: providers.get(w.name)!,
      ...(logs ? { logs: logShipping(cluster, logs, w.name, placement!.controllerWorkstation) } : {}) };
  };
  const builder = placement && placement.buildWorkstation !== placement.controllerWorkstation ? workstation(placement, placement.buildWorkstation) : undefined;
  const build: ImageBuild = builder ? { builtOn: engineOf(builder), deliverTo: dockerHost } : {};
  const image = slurmImage(build);
  const others = new Map((placement?.workstations ?? []).filter(inUse).map((w) => {
    const engine = engineOf(w);
    const provider = engine.provider;
    return [w.name, {
      engine,
      network: clusterNetwork(`${name}-network-${w.name}`, cluster, { placement: placement!, on: w },
        { parent, provider, dependsOn: [claim(`${name}-${w.name}-claim`, provider)] }).name,
    }];
  }));
  // Those with nodes get a copy of the SLURM image (the builder's own nodes, the image itself).
  const slurmImageOn = (ws: string, to: string) => to === image.source.dockerHost ? image.source.imageId
    : copiedImage(`${name}-slurm-image-copy-${ws}`, { imageId: image.source.imageId, tag: dockerNames(cluster).image("slurm"), from: image.source.dockerHost ?? dockerHost, to }, { parent });
  const elsewhere = new Map([...others].filter(([ws]) => hasNodes(ws)).map(([ws, o]) => [ws, { ...o, image: slurmImageOn(ws, o.engine.dockerHost) }]));
  const platformNetwork = placement
    ? new docker.Network(`${name}-platform-network`, {
      name: dockerNames(cluster).platformNetwork, driver: "bridge", labels: dockerLabels({ [CLUSTER_LABEL]: cluster }),
    }, { parent, dependsOn: [network], deleteBeforeReplace: true }).name
    : network.name;
  return { platform, network, platformNetwork, elsewhere, others, build, image };
}

/** Where the log store listens (hyperscaler:monitoring.logs): its port on 127.0.0.1, its LAN address on several workstations. */
export interface LogStoreAddress { readonly port: number; readonly address?: string }

/** How WORKSTATION's engine reaches the log store on the controller's workstation (one engine: the store's own). */
function logShipping(cluster: string, store: LogStoreAddress, workstation: string | undefined, storeWorkstation = workstation): LogShipping {
  const url = workstation === storeWorkstation ? `http://127.0.0.1:${store.port}` : `http://${store.address}:${LOG_STORE_PORT}`;
  return { url, cluster, workstation: workstation ?? "local" };
}

function workstation(placement: PlacementSpec, name: string): WorkstationSpec {
  return placement.workstations.find((w) => w.name === name)!;
}

/**
 * The cluster's network on one engine. On one workstation a bridge, where containers find
 * each other by name. On several, a macvlan network on each workstation's LAN interface,
 * each handing out addresses from its own range of one subnet: every container reaches
 * every other at its own address, across workstations, without NAT, routes or privileges.
 */
function clusterNetwork(name: string, cluster: string, lan: { placement: PlacementSpec; on: WorkstationSpec } | undefined, opts: pulumi.CustomResourceOptions) {
  return new docker.Network(name, {
    name: dockerNames(cluster).network, labels: dockerLabels({ [CLUSTER_LABEL]: cluster }),
    ...(lan ? {
      driver: "macvlan", options: { parent: lan.on.interface },
      ipamConfigs: [{ subnet: lan.placement.subnet, ipRange: lan.on.addresses, gateway: lan.placement.gateway }],
    } : { driver: "bridge" }),
  }, { ...opts, deleteBeforeReplace: true });
}
