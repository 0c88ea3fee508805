import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { BackupRepositoryConfig, dockerNames } from "../config";
import { CLUSTER_LABEL, clusterVolume, Container, containerCommand, Engine, hardenedContainer } from "../docker";
import { CMD, copiedImage, ImageBuild, RoleImage } from "../images";
import { sshKey } from "../tls";

/** The user pgBackRest logs in as (images/backup-repository). */
export const REPOSITORY_USER = "repository";
/** Where the repository's volume is mounted: the paths pgBackRest writes are below it. */
export const REPOSITORY_ROOT = "/repository";
/** The shipper's host name on the platform network, where Prometheus scrapes its node exporter. */
export const SHIPPER_HOST = "backup-shipper";

/** How a client reaches the repository over SFTP; the key is secret. */
export interface SftpLogin {
  readonly host: string;
  readonly user: string;
  /** SHA-256 of the host key's blob, in hex (what pgBackRest checks). */
  readonly hostFingerprint: pulumi.Output<string>;
  /** The client's private key (PEM). */
  readonly privateKey: pulumi.Output<string>;
}

export interface BackupRepositoryArgs {
  readonly cluster: string;
  readonly config: BackupRepositoryConfig;
  readonly baseImage: string;
  /** The controller's engine, where the shipper runs. */
  readonly controller: Engine;
  /** Where the image is built, when not on the controller's engine. */
  readonly build: ImageBuild;
  /** The repository's workstation: its engine and the cluster's network there. */
  readonly on: { readonly engine: Engine & { readonly dockerHost: string; readonly provider: docker.Provider }; readonly network: pulumi.Input<string> };
  /** PostgreSQL's key epochs to keep (the current one and the one before it). */
  readonly postgresKeyEpochs: readonly number[];
  /**
   * The file backups the shipper copies there (restic), on the controller's engine and the
   * platform's network: each volume, read-only, by the part it is (its folder in a snapshot).
   */
  readonly ship: { readonly network: pulumi.Input<string>; readonly volumes: readonly { readonly part: string; readonly volume: pulumi.Input<string> }[] };
  /** Protect and retain the volume (prod). @default false */
  readonly protect?: boolean;
}

/**
 * The stack's backup repository, on a workstation other than the controller's: Debian's
 * OpenSSH serving SFTP alone in front of one volume, at a fixed LAN address. pgBackRest
 * writes PostgreSQL's backups and WAL there (repo-type=sftp), and the shipper beside the
 * controller copies the file backups (slurmctld's state, MariaDB's dumps) there with restic
 * every shipIntervalMin, so losing the controller's workstation loses no backup. The host
 * key, the client's key and restic's password are made by the stack (kept secret in
 * state); clients check the host by its key.
 */
export class BackupRepository extends pulumi.ComponentResource {
  readonly sftp: SftpLogin;
  /** The shipper of the file backups (a scrape host: its node exporter reports each copy). */
  readonly shipper: Container;
  /** The folders the shipper copies (`/ship/<part>`), in order. */
  readonly shippedParts: readonly string[];

  constructor(name: string, args: BackupRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:repository:BackupRepository", name, {}, opts);
    const { cluster, config, on } = args;
    const engine = on.engine;
    const keep = { parent: this, provider: engine.provider, protect: !!args.protect, retainOnDelete: !!args.protect };
    const names = dockerNames(cluster);
    const volume = clusterVolume(`${name}-data`, cluster, "backup-repository", keep);
    const built = new RoleImage(`${name}-image`, { role: "backup-repository", baseImage: args.baseImage, tag: names.image("backup-repository"), ...args.build }, { parent: this });
    const image = copiedImage(`${name}-image-copy`, {
      imageId: built.source.imageId, tag: names.image("backup-repository"), from: built.source.dockerHost ?? args.controller.dockerHost, to: engine.dockerHost,
    }, { parent: this });
    const hostKey = sshKey(`${name}-host-key`, `${cluster} backup repository`, { parent: this });
    const clientKey = sshKey(`${name}-client-key`, `${cluster} pgbackrest`, { parent: this });
    // A file delivered into one of this component's containers (root's), again in a new container.
    const install = (part: string, into: Container, at: Engine, file: string, mode: string, content: pulumi.Input<string>) => containerCommand(`${name}-${part}`, {
      container: into.name, create: [CMD.install, file, mode, "root:root"], stdin: content, triggers: [into.id], engine: at,
    }, { parent: this });

    const container = hardenedContainer(name, {
      name: names.container("backup-repository"),
      image,
      hostname: "backup-repository",
      network: on.network,
      address: config.address,
      // sshd: its privilege separation (a chroot, then the user's IDs); the volume's owner at start.
      capabilities: ["CHOWN", "KILL", "SETGID", "SETUID", "SYS_CHROOT"],
      volumes: [{ volume: volume.name, path: REPOSITORY_ROOT }],
      memoryMiB: config.memoryMiB,
      cpus: 1,
      healthCommand: "bash -c '</dev/tcp/127.0.0.1/22'",
      labels: { [CLUSTER_LABEL]: cluster, "hyperscaler.role": "backup-repository" },
    }, { parent: this, provider: engine.provider });
    install("host-key-install", container, engine, "/etc/hyperscaler/host_key", "0600", pulumi.secret(hostKey.apply((k) => k.key)));
    const authorized = install("authorized-key-install", container, engine, "/etc/hyperscaler/authorized_keys", "0644", clientKey.apply((k) => `restrict ${k.publicKey}\n`));
    // The repositories of PostgreSQL key epochs the stack no longer has a key for.
    containerCommand(`${name}-prune`, {
      container: container.name,
      create: [CMD.repositoryPrune, "postgres", ...args.postgresKeyEpochs.map((e) => `key${e}`)],
      triggers: [container.id, args.postgresKeyEpochs.join(" ")],
      engine,
    }, { parent: this, dependsOn: [authorized] });

    // The shipper: the same image on the controller's engine, reading the volumes it copies
    // (DAC_READ_SEARCH: every file, whoever owns it; nothing else).
    const shipper = this.shipper = hardenedContainer(`${name}-shipper`, {
      name: names.container("backup-shipper"),
      image: built.imageId,
      hostname: SHIPPER_HOST,
      network: args.ship.network,
      env: { HYPERSCALER_CLUSTER: cluster, HYPERSCALER_ROLE: "shipper" },
      capabilities: ["DAC_READ_SEARCH"],
      volumes: args.ship.volumes.map((v) => ({ volume: v.volume, path: `/ship/${v.part}`, readOnly: true })),
      memoryMiB: config.memoryMiB,
      cpus: 1,
      // Healthy while a round has reached the repository within two intervals.
      healthCommand: `find /run/hyperscaler-shipped -mmin -${2 * config.shipIntervalMin + 1} | grep -q .`,
      labels: { [CLUSTER_LABEL]: cluster, "hyperscaler.role": "backup-shipper" },
    }, { parent: this, provider: args.controller.provider });
    const resticPassword = new random.RandomPassword(`${name}-restic-password`, { length: 64, special: false }, { parent: this }).result;
    install("shipper-settings", shipper, args.controller, "/etc/hyperscaler/ship.conf", "0644",
      `REPOSITORY_HOST=${config.address}\nINTERVAL_MIN=${config.shipIntervalMin}\nKEEP_DAYS=${config.keepDays}\n`);
    install("shipper-key", shipper, args.controller, "/etc/hyperscaler/ssh/key", "0600", pulumi.secret(clientKey.apply((k) => k.key)));
    install("shipper-known-hosts", shipper, args.controller, "/etc/hyperscaler/ssh/known_hosts", "0644", hostKey.apply((k) => `${config.address} ${k.publicKey}\n`));
    install("shipper-password", shipper, args.controller, "/etc/hyperscaler/restic-password", "0600", pulumi.secret(resticPassword));

    this.shippedParts = args.ship.volumes.map((v) => v.part);
    this.sftp = {
      host: config.address,
      user: REPOSITORY_USER,
      hostFingerprint: pulumi.unsecret(hostKey.apply((k) => k.fingerprint)),
      privateKey: pulumi.secret(clientKey.apply((k) => k.key)),
    };
    this.registerOutputs({});
  }
}
