import * as fs from "node:fs";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { BackupRepositoryConfig, dockerNames, s3Endpoint, S3RepositoryConfig } from "../config";
import { CLUSTER_LABEL, clusterVolume, Container, containerCommand, Engine, hardenedContainer, shellQuote } from "../docker";
import { CMD, copiedImage, ImageBuild, RoleImage } from "../images";
import { sshKey } from "../tls";

/** The user pgBackRest logs in as (images/backup-repository). */
export const REPOSITORY_USER = "repository";
/** Where the repository's volume is mounted: the paths pgBackRest writes are below it. */
export const REPOSITORY_ROOT = "/repository";
/** The shipper's host name on the platform network, where Prometheus scrapes its node exporter. */
export const SHIPPER_HOST = "backup-shipper";

/** Where pgBackRest writes: the repository container over SFTP, or an S3 bucket. */
export type RepositoryTarget = SftpLogin | S3Login;

/** How a client reaches the repository over SFTP; the key is secret. */
export interface SftpLogin {
  readonly type: "sftp";
  readonly host: string;
  readonly user: string;
  /** SHA-256 of the host key's blob, in hex (what pgBackRest checks). */
  readonly hostFingerprint: pulumi.Output<string>;
  /** The client's private key (PEM). */
  readonly privateKey: pulumi.Output<string>;
}

/** How a client reaches an S3 bucket; the key pair is secret. */
export interface S3Login {
  readonly type: "s3";
  /** Host name or address, and port. */
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  readonly region: string;
  readonly uriStyle: "host" | "path";
  /** The stack's folder in the bucket: `/<cluster>`. */
  readonly prefix: string;
  /** The CA that signed the endpoint's certificate (PEM), when not one of the system's. */
  readonly caPem?: string;
  readonly accessKeyId: pulumi.Output<string>;
  readonly secretAccessKey: pulumi.Output<string>;
}

/** The S3 settings as clients take them; the key pair secret, the CA read from its file. */
export function s3Login(cluster: string, s3: S3RepositoryConfig): S3Login {
  return {
    type: "s3", ...s3Endpoint(s3.endpoint), bucket: s3.bucket, region: s3.region, uriStyle: s3.uriStyle, prefix: `/${cluster}`,
    ...(s3.caFile ? { caPem: fs.readFileSync(s3.caFile, "utf8") } : {}),
    accessKeyId: pulumi.secret(s3.accessKeyId), secretAccessKey: pulumi.secret(s3.secretAccessKey),
  };
}

export interface BackupRepositoryArgs {
  readonly cluster: string;
  readonly config: BackupRepositoryConfig;
  readonly baseImage: string;
  /** The controller's engine, where the shipper runs. */
  readonly controller: Engine;
  /** Where the image is built, when not on the controller's engine. */
  readonly build: ImageBuild;
  /** The repository container's workstation: its engine and the cluster's network there (not with s3). */
  readonly on?: { readonly engine: Engine & { readonly dockerHost: string; readonly provider: docker.Provider }; readonly network: pulumi.Input<string> };
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
 * The stack's backup repository, off the controller's workstation. Either a container on
 * another workstation (Debian's OpenSSH serving SFTP alone in front of one volume, at a
 * fixed LAN address; its host key and the client's key made by the stack, clients checking
 * the host by its key), or an S3-compatible bucket the operator gives (HTTPS; the stack's
 * objects under `<cluster>/`). pgBackRest writes PostgreSQL's backups and WAL there, and the
 * shipper beside the controller copies the file backups (slurmctld's state, MariaDB's
 * dumps) there with restic every shipIntervalMin, so losing the controller's workstation
 * loses no backup. restic's password is made by the stack; every key is secret in state.
 */
export class BackupRepository extends pulumi.ComponentResource {
  /** Where pgBackRest writes. */
  readonly target: RepositoryTarget;
  /** The shipper of the file backups (a scrape host: its node exporter reports each copy). */
  readonly shipper: Container;
  /** The folders the shipper copies (`/ship/<part>`), in order. */
  readonly shippedParts: readonly string[];

  constructor(name: string, args: BackupRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:repository:BackupRepository", name, {}, opts);
    const { cluster, config } = args;
    const names = dockerNames(cluster);
    const built = new RoleImage(`${name}-image`, { role: "backup-repository", baseImage: args.baseImage, tag: names.image("backup-repository"), ...args.build }, { parent: this });
    // A file delivered into one of this component's containers (root's), again in a new container.
    const install = (part: string, into: Container, at: Engine, file: string, mode: string, content: pulumi.Input<string>) => containerCommand(`${name}-${part}`, {
      container: into.name, create: [CMD.install, file, mode, "root:root"], stdin: content, triggers: [into.id], engine: at,
    }, { parent: this });

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
      logs: args.controller.logs,
    }, { parent: this, provider: args.controller.provider });
    const resticPassword = new random.RandomPassword(`${name}-restic-password`, { length: 64, special: false }, { parent: this }).result;
    install("shipper-password", shipper, args.controller, "/etc/hyperscaler/restic-password", "0600", pulumi.secret(resticPassword));
    const schedule = `INTERVAL_MIN=${config.shipIntervalMin}\nKEEP_DAYS=${config.keepDays}\n`;

    if (config.s3) {
      const s3 = s3Login(cluster, config.s3);
      const caFile = "/etc/hyperscaler/s3-ca.pem";
      install("shipper-settings", shipper, args.controller, "/etc/hyperscaler/ship.conf", "0644",
        `${schedule}S3_URL=https://${config.s3.endpoint}/${s3.bucket}${s3.prefix}/files\nS3_REGION=${s3.region}\n` +
        `S3_BUCKET_LOOKUP=${s3.uriStyle === "path" ? "path" : "dns"}\n${s3.caPem ? `S3_CA_FILE=${caFile}\n` : ""}`);
      install("shipper-s3-credentials", shipper, args.controller, "/etc/hyperscaler/s3-credentials", "0600", pulumi.secret(
        pulumi.interpolate`AWS_ACCESS_KEY_ID=${s3.accessKeyId.apply(shellQuote)}\nAWS_SECRET_ACCESS_KEY=${s3.secretAccessKey.apply(shellQuote)}\n`));
      if (s3.caPem) install("shipper-s3-ca", shipper, args.controller, caFile, "0644", s3.caPem);
      this.target = s3;
    } else {
      const on = args.on!;
      const engine = on.engine;
      const keep = { parent: this, provider: engine.provider, protect: !!args.protect, retainOnDelete: !!args.protect };
      const volume = clusterVolume(`${name}-data`, cluster, "backup-repository", keep);
      const image = copiedImage(`${name}-image-copy`, {
        imageId: built.source.imageId, tag: names.image("backup-repository"), from: built.source.dockerHost ?? args.controller.dockerHost, to: engine.dockerHost,
      }, { parent: this });
      const hostKey = sshKey(`${name}-host-key`, `${cluster} backup repository`, { parent: this });
      const clientKey = sshKey(`${name}-client-key`, `${cluster} pgbackrest`, { parent: this });
      const address = config.address!;
      const container = hardenedContainer(name, {
        name: names.container("backup-repository"),
        image,
        hostname: "backup-repository",
        network: on.network,
        address,
        // sshd: its privilege separation (a chroot, then the user's IDs); the volume's owner at start.
        capabilities: ["CHOWN", "KILL", "SETGID", "SETUID", "SYS_CHROOT"],
        volumes: [{ volume: volume.name, path: REPOSITORY_ROOT }],
        memoryMiB: config.memoryMiB,
        cpus: 1,
        healthCommand: "bash -c '</dev/tcp/127.0.0.1/22'",
        labels: { [CLUSTER_LABEL]: cluster, "hyperscaler.role": "backup-repository" },
        logs: engine.logs,
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
      install("shipper-settings", shipper, args.controller, "/etc/hyperscaler/ship.conf", "0644", `REPOSITORY_HOST=${address}\n${schedule}`);
      install("shipper-key", shipper, args.controller, "/etc/hyperscaler/ssh/key", "0600", pulumi.secret(clientKey.apply((k) => k.key)));
      install("shipper-known-hosts", shipper, args.controller, "/etc/hyperscaler/ssh/known_hosts", "0644", hostKey.apply((k) => `${address} ${k.publicKey}\n`));
      this.target = {
        type: "sftp",
        host: address,
        user: REPOSITORY_USER,
        hostFingerprint: pulumi.unsecret(hostKey.apply((k) => k.fingerprint)),
        privateKey: pulumi.secret(clientKey.apply((k) => k.key)),
      };
    }
    this.shippedParts = args.ship.volumes.map((v) => v.part);
    this.registerOutputs({});
  }
}
