import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec, dockerNames, PlacementSpec, WorkstationSpec } from "../config";
import { CLUSTER_LABEL, clusterVolume, dockerLabels, Engine } from "../docker";
import { STACK_LABEL } from "./claim";
import { copiedImage, RoleImage } from "../images";

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
}

/**
 * Where the cluster runs. On one engine: hyperscaler:dockerHost's (or DOCKER_HOST's), one
 * bridge network. On several workstations: the controller's workstation is the stack's
 * engine; every other one with nodes gets its own provider, network and copy of the image.
 */
export function placeCluster(name: string, spec: ClusterSpec, dockerHost: string | undefined, image: RoleImage, stack: string, parent: pulumi.Resource): Placement {
  const cluster = spec.clusterName;
  const placement = spec.placement;
  const platform: Engine = { ...(placement ? { workstation: placement.controllerWorkstation } : {}), ...(dockerHost ? { dockerHost } : {}) };
  // Each engine's claim comes first: its network, and so every container there, waits for it.
  const claim = (resource: string, provider?: docker.Provider) =>
    clusterVolume(resource, cluster, "claim", { parent, ...(provider ? { provider } : {}) }, { [STACK_LABEL]: stack });
  const network = clusterNetwork(`${name}-network`, cluster, placement && { placement, on: workstation(placement, placement.controllerWorkstation) },
    { parent, dependsOn: [claim(`${name}-claim`)] });
  // Every other workstation in use (nodes, or the backup repository): its provider and network.
  const hasNodes = (ws: string) => spec.nodes.some((n) => n.workstation === ws);
  const inUse = (w: WorkstationSpec) => w.name !== placement!.controllerWorkstation &&
    (hasNodes(w.name) || placement!.backupRepository?.workstation === w.name);
  const others = new Map((placement?.workstations ?? []).filter(inUse).map((w) => {
    const provider = new docker.Provider(`${name}-workstation-${w.name}`, { host: w.dockerHost }, { parent });
    const engine = { workstation: w.name, dockerHost: w.dockerHost, provider };
    return [w.name, {
      engine,
      network: clusterNetwork(`${name}-network-${w.name}`, cluster, { placement: placement!, on: w },
        { parent, provider, dependsOn: [claim(`${name}-${w.name}-claim`, provider)] }).name,
    }];
  }));
  // Those with nodes get a copy of the SLURM image.
  const elsewhere = new Map([...others].filter(([ws]) => hasNodes(ws)).map(([ws, o]) => [ws, {
    ...o,
    image: copiedImage(`${name}-slurm-image-copy-${ws}`, { imageId: image.imageId, tag: dockerNames(cluster).image("slurm"), from: dockerHost, to: o.engine.dockerHost }, { parent }),
  }]));
  const platformNetwork = placement
    ? new docker.Network(`${name}-platform-network`, {
      name: dockerNames(cluster).platformNetwork, driver: "bridge", labels: dockerLabels({ [CLUSTER_LABEL]: cluster }),
    }, { parent, dependsOn: [network], deleteBeforeReplace: true }).name
    : network.name;
  return { platform, network, platformNetwork, elsewhere, others };
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
