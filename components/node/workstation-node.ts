import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { CLUSTER_LABEL, Container, containerCommand, DAEMON_CAPABILITIES, Engine, hardenedContainer, HardenedContainerArgs, onEngine } from "../docker";
import { MungeKey } from "../munge";
import { CMD } from "../images/commands";
import { TLS_DIR } from "../render";

/** A config file delivered into the node. */
export interface NodeFile {
  /** Absolute path in the container. */
  readonly path: string;
  readonly content: string;
}

/** controller: slurmctld; compute: slurmd; dbd: slurmdbd (accounting). */
export type NodeRole = "controller" | "compute" | "dbd";

export interface WorkstationNodeArgs {
  /** SLURM's name for the node and the container's hostname. */
  readonly hostname: string;
  /** Container name on the Docker host. */
  readonly containerName: string;
  readonly role: NodeRole;
  /** Image ID to run. */
  readonly image: pulumi.Input<string>;
  /** Docker network the cluster shares. */
  readonly network: pulumi.Input<string>;
  /** Networks it joins besides (the controller, on several workstations: the platform's). @default [] */
  readonly alsoOn?: readonly pulumi.Input<string>[];
  /** A fixed address on it. @default - Docker assigns one */
  readonly address?: string;
  /**
   * Names for the LAN's addresses (hosts-file lines), kept in the container's /etc/hosts
   * ahead of DNS, on several workstations. Delivered like the files: a new workstation's
   * range updates every node in place. @default - none
   */
  readonly lanHosts?: string;
  /** CPU limit of the container. */
  readonly cpus: number;
  /** Memory limit of the container, in MiB. */
  readonly memoryMiB: number;
  /** The node's GPUs, as the container gets them. @default - none */
  readonly gpus?: Pick<HardenedContainerArgs, "devices" | "hostFiles" | "gpus" | "cdiDevices">;
  /** Named volumes and where they are mounted. @default [] */
  readonly volumes?: readonly { volume: pulumi.Input<string>; path: string }[];
  /** Extra environment for the entrypoint. @default {} */
  readonly env?: Record<string, string>;
  /**
   * Config files, installed before the key (the entrypoint starts the daemons once the key
   * is there). The controller's slurm configs; compute nodes fetch theirs from it. @default []
   */
  readonly files?: readonly NodeFile[];
  /** Runs after a file changes on a running node (`scontrol reconfigure` on the controller). @default - nothing */
  readonly afterFileUpdate?: readonly string[];
  readonly mungeKey: MungeKey;
  /**
   * Its node exporter's certificate and key, then the CAs to trust (PEM; secret): with it the
   * exporter serves TLS to Prometheus alone (a node on the LAN of several workstations).
   * A renewal installs the new files in place. @default - plain HTTP
   */
  readonly exporterTls?: pulumi.Input<string>;
  /** What installing it waits for (Prometheus trusting the CAs in it). @default [] */
  readonly exporterTlsAfter?: pulumi.Input<pulumi.Resource>[];
  /** What a new key waits for before it is installed (the cluster pauses scheduling first). @default [] */
  readonly keyAfter?: pulumi.Input<pulumi.Resource>[];
  /** Cluster name, as a label on the container. */
  readonly cluster: string;
  /** The engine it runs on: its provider makes the container, `docker exec` goes to its host. @default - the stack's own */
  readonly engine?: Engine;
}

const HEALTH: Record<NodeRole, string> = {
  controller: "scontrol ping | grep -q UP",
  compute: "pgrep -x slurmd >/dev/null && pgrep -x munged >/dev/null",
  dbd: "pgrep -x slurmdbd >/dev/null && pgrep -x munged >/dev/null",
};

/** A compute node's place in SLURM, held by the same command that delivers its key. */
export interface Membership {
  /** The controller's container, where the node is drained and deleted from SLURM. */
  readonly controller: string;
  readonly controllerEngine: Engine;
  /** What creating it waits for besides the node's own container: slurmctld's inputs, as it waits for slurmctld. */
  readonly after: pulumi.Resource[];
  /** The drain's limit. */
  readonly drainTimeoutSec: number;
  /** How long the key delivery waits for the node's slurmd to register. */
  readonly registerTimeoutSec: number;
}

/**
 * Installs the key from stdin: on a new container the entrypoint starts munged once the
 * key is there; on a running one munged reads its key only at start, so a changed key
 * restarts it in place. The same key again restarts nothing (a delivery to a re-created
 * container, or a stack's first update after its node resources moved). Whether munged
 * runs is read before the key lands: after it, the entrypoint may be starting munged
 * itself, and a second start beside it would race it.
 */
const INSTALL_KEY = [
  "set -e; k=/etc/munge/munge.key; t=$(mktemp /etc/munge/.key.XXXXXX); trap 'rm -f \"$t\"' EXIT; cat >\"$t\"",
  "running=; [ -s /run/munge/munged.pid ] && running=1",
  "if [ -n \"$running\" ] && cmp -s \"$t\" \"$k\"; then echo \"munge key unchanged\"; else",
  `  ${CMD.install} "$k" 0400 munge:munge <"$t"`,
  `  if [ -n "$running" ]; then ${CMD.mungeRestart}; fi`,
  "fi",
].join("\n");

/**
 * After the key, a compute node's membership waits until slurmctld knows this start of its
 * slurmd (the entrypoint's file, written once slurmctld shows it registered): an update
 * that re-created the node returns with the node known, so an operator's resume right
 * after it is not undone by the reboot the registration reports. A node that registered
 * but that slurmctld says it does not know (a controller re-created without its state,
 * after its workstation was lost) is told to register again (slurmd reconfigures on
 * SIGHUP), then sets its address there.
 */
const joinedWithin = (seconds: number) => [
  `i=0 nudged='' out=''`,
  `until [ -e /run/hyperscaler-registered ] && out=$(scontrol show node "$(hostname)" 2>&1); do`,
  `  if [ $i -ge ${seconds * 5} ]; then echo "$(hostname): slurmd has not registered with slurmctld after ${seconds}s; its log: docker logs <its container>, and the controller's" >&2; exit 1; fi`,
  // Only once slurmctld answers that it does not know the node: a slurmctld still starting
  // would fail the reconfiguration's config fetch.
  `  case "$out" in *"not found"*) [ -n "$nudged" ] || { pkill -HUP -x slurmd; nudged=1; } ;; esac`,
  `  sleep 0.2; i=$((i + 1))`,
  `done`,
  `if [ -n "$nudged" ]; then ${CMD.nodeAddress}; fi`,
].join("\n");

/**
 * One SLURM node as a hardened container on a workstation's Docker engine, with its
 * files and the MUNGE key delivered by `docker exec` (`command.local.Command`, secrets
 * on stdin; written atomically inside the running container). A new key is installed and
 * munged restarted in place, so a rotation replaces no container and kills no job. A
 * re-created container gets every file again.
 *
 * Its resources are the parent's children, not a component's: at a thousand nodes every
 * resource counts (a compute node is its container and its membership, no more). Stacks
 * made when a node was a component (`hyperscaler:node:WorkstationNode`) keep their
 * containers and deliveries through aliases; the component itself goes, deleting nothing.
 */
export class WorkstationNode {
  /** The container's name (known before it exists; depend on `container` for it to be there). */
  readonly containerName: string;
  /** The engine it runs on. */
  readonly engine: Engine;
  readonly container: Container;
  /** The container's address on the cluster network. */
  readonly address: pulumi.Output<string>;
  /** The deliveries of `files`. */
  readonly filesInstalled: command.local.Command[];
  /**
   * The key delivery; depend on it to know munged runs with the current key. For a compute
   * node, also its membership (`membership`): deleting it drains the node first.
   */
  readonly keyInstalled: command.local.Command;
  /** The delivery of its exporter's certificate, when it has one. */
  readonly tlsInstalled?: command.local.Command;

  constructor(name: string, args: WorkstationNodeArgs, opts: { parent: pulumi.Resource; membership?: Membership }) {
    // Where these resources were when the node was a component of its own.
    const formerly = { parent: opts.parent, aliases: [{ parent: pulumi.createUrn(name, "hyperscaler:node:WorkstationNode", opts.parent) }] };
    this.container = hardenedContainer(name, {
      name: args.containerName,
      image: args.image,
      hostname: args.hostname,
      network: args.network,
      ...(args.alsoOn ? { alsoOn: args.alsoOn } : {}),
      address: args.address,
      env: { HYPERSCALER_ROLE: args.role, ...(args.exporterTls ? { HYPERSCALER_TLS: "1" } : {}), ...args.env },
      capabilities: [...DAEMON_CAPABILITIES],
      ...args.gpus,
      volumes: [...(args.volumes ?? [])],
      memoryMiB: args.memoryMiB,
      cpus: args.cpus,
      healthCommand: HEALTH[args.role],
      labels: { [CLUSTER_LABEL]: args.cluster, "hyperscaler.role": args.role },
      logs: args.engine?.logs,
    }, { ...formerly, ...onEngine(args.engine) });
    this.containerName = args.containerName;
    this.engine = args.engine ?? {};
    this.address = pulumi.all([args.network, this.container.networkDatas]).apply(([network, n]) => n?.find((d) => d.networkName === network)?.ipAddress ?? "");

    // The container ID as a trigger: a re-created container gets its files again.
    const triggers = [this.container.id];
    const installs = this.filesInstalled = (args.files ?? []).map((f) => {
      const install = [CMD.install, f.path, "0644", "root:root"];
      return containerCommand(`${name}-${path.basename(f.path)}`, {
        container: args.containerName,
        create: install,
        update: args.afterFileUpdate ? ["sh", "-c", `${install.join(" ")} && ${args.afterFileUpdate.join(" ")}`] : install,
        stdin: f.content,
        triggers,
        engine: this.engine,
      }, formerly);
    });
    const hosts = args.lanHosts === undefined ? [] : [containerCommand(`${name}-lan-hosts`, {
      container: args.containerName, create: [CMD.lanHosts], stdin: args.lanHosts, triggers, engine: this.engine,
    }, formerly)];
    if (args.exporterTls) {
      this.tlsInstalled = containerCommand(`${name}-tls`, {
        container: args.containerName, create: [CMD.tlsInstall, TLS_DIR, "prometheus:prometheus"], stdin: args.exporterTls, triggers, engine: this.engine,
      }, { ...formerly, dependsOn: args.exporterTlsAfter ?? [] });
    }
    const keyAfter = [...installs, ...hosts, ...(args.keyAfter ?? [])];
    const member = opts.membership;
    this.keyInstalled = member
      // Never replaced (its delete drains the node and deletes it from SLURM): a re-created
      // container shows as a new ID in its environment, an update that delivers the key again.
      ? containerCommand(`${name}-membership`, {
        container: args.containerName, create: ["sh", "-c", `${INSTALL_KEY}\n${joinedWithin(member.registerTimeoutSec)}`], stdin: args.mungeKey.key, engine: this.engine,
        environment: { HYPERSCALER_CONTAINER_ID: this.container.id },
        delete: [CMD.nodeRemove, args.hostname, String(member.drainTimeoutSec)], deleteIn: { container: member.controller, engine: member.controllerEngine },
      }, { parent: opts.parent, dependsOn: [this.container, ...keyAfter, ...member.after] })
      : containerCommand(`${name}-munge-key`, {
        container: args.containerName, create: ["sh", "-c", INSTALL_KEY], stdin: args.mungeKey.key, triggers, engine: this.engine,
      }, { ...formerly, dependsOn: keyAfter });
  }
}
