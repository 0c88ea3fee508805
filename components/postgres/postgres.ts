import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { dockerNames, PostgresConfig } from "../config";
import { CLUSTER_LABEL, clusterVolume, containerCommand, DAEMON_CAPABILITIES, dockerSync, Engine, hardenedContainer, scheduledBackups } from "../docker";
import { CMD, ImageBuild, RoleImage } from "../images";
import { REPOSITORY_ROOT, RepositoryTarget } from "../repository";
import { DatabaseTls, installDatabaseTls } from "../tls";

/** The superuser the image makes. */
export const SUPERUSER = "postgres";
/** PostgreSQL's port inside the cluster network. */
export const POSTGRES_PORT = 5432;

export interface PostgresArgs {
  /** Cluster name: prefix of container and volume names, and the cluster backups belong to. */
  readonly cluster: string;
  readonly config: PostgresConfig;
  /** Password epochs by role; a role not listed is at 0. */
  readonly passwordEpochs: Readonly<Record<string, number>>;
  /** The pgBackRest repository key's epoch (rotation.pitrKeyEpoch). */
  readonly pitrKeyEpoch: number;
  /** The backup repository off the workstation: a container over SFTP, or an S3 bucket. @default - in the backups volume, beside the data */
  readonly repository?: RepositoryTarget;
  readonly baseImage: string;
  /** Where the image is built, when not on the engine it runs on (hyperscaler:buildWorkstation). @default - there */
  readonly build?: ImageBuild;
  /** Docker network the cluster shares; the server is `postgres` there. */
  readonly network: pulumi.Input<string>;
  /** Protect and retain the data and backup volumes (prod). @default false */
  readonly protect?: boolean;
  /** The Docker engine (the provider's `host`). @default - DOCKER_HOST or the local socket */
  readonly engine?: Engine;
  /** A stack with a CA: the server takes TCP logins over TLS only. @default - TLS optional */
  readonly tls?: DatabaseTls & {
    /** The CAs to trust (PEM): what applications with a `caFile` get. */
    readonly trust: pulumi.Input<string>;
  };
}

/** How an application reaches its database; the password is secret. */
export interface PostgresLogin {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: pulumi.Output<string>;
}

/**
 * The platform's PostgreSQL 17 (Debian's, on the project's base image): data and backups
 * on named volumes, random passwords rotated by epoch (a keeper) and applied in the
 * running server, and scheduled backups verified by a test restore. Reachable on the
 * cluster network as `postgres`, on the host only at 127.0.0.1 when asked; logins over
 * TCP only from the networks it is on, and where the stack has a CA, over TLS only.
 */
export class Postgres extends pulumi.ComponentResource {
  readonly containerName: pulumi.Output<string>;
  /** Logins by application role. */
  readonly logins: Record<string, PostgresLogin>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:postgres:Postgres", name, {}, opts);
    const { cluster, config } = args;
    // Data outlives the container; in prod it is protected and kept even if the stack goes.
    const keep = { parent: this, protect: !!args.protect, retainOnDelete: !!args.protect };
    const { engine } = args;
    const data = clusterVolume(`${name}-data`, cluster, "postgres-data", keep);
    const backups = clusterVolume(`${name}-backups`, cluster, "postgres-backups", keep);
    const image = new RoleImage(`${name}-image`, { role: "postgres", baseImage: config.image ?? args.baseImage, tag: dockerNames(cluster).image("postgres") , ...args.build }, { parent: this });

    const container = hardenedContainer(name, {
      name: dockerNames(cluster).container("postgres"),
      image: image.imageId,
      hostname: "postgres",
      network: args.network,
      env: { HYPERSCALER_CLUSTER: cluster, ...(args.tls ? { HYPERSCALER_DATABASE_TLS: "1" } : {}) },
      capabilities: [...DAEMON_CAPABILITIES],
      volumes: [{ volume: data.name, path: "/var/lib/postgresql/data" }, { volume: backups.name, path: "/backups" }],
      localPorts: config.publishPort ? [{ host: config.publishPort, container: POSTGRES_PORT }] : [],
      memoryMiB: config.memoryMiB,
      cpus: config.cpus,
      healthCommand: "pg_isready -q -h /run/postgresql",
      labels: { [CLUSTER_LABEL]: cluster, "hyperscaler.role": "postgres" },
      logs: engine?.logs,
    }, { parent: this });
    this.containerName = container.name;
    const triggers = [container.id];

    // Letters and digits only: a password goes into pgpass files and connection strings unquoted.
    const password = (role: string) => new random.RandomPassword(`${name}-${role}-password`, {
      length: 32, special: false, keepers: { epoch: String(args.passwordEpochs[role] ?? 0) },
    }, { parent: this }).result;

    // The first delivery lets the entrypoint initialise a new volume; every delivery (and a
    // rotation) also sets the password in the running server.
    const superuser = containerCommand(`${name}-${SUPERUSER}-login`, {
      container: container.name,
      create: ["sh", "-c", `${CMD.install} /run/hyperscaler/superuser-password 0400 root:root < /dev/stdin && ${CMD.pgSetPassword} ${SUPERUSER} < /run/hyperscaler/superuser-password`],
      stdin: pulumi.secret(password(SUPERUSER)),
      triggers,
      engine,
    }, { parent: this });

    this.logins = {};
    const roleLogins: Record<string, command.local.Command> = {};
    for (const [role, r] of Object.entries(config.roles).sort()) {
      const secret = pulumi.secret(password(role));
      roleLogins[role] = containerCommand(`${name}-${role}-login`, {
        container: container.name,
        create: [CMD.pgSetPassword, role, r.database],
        stdin: secret,
        triggers,
        engine,
      }, { parent: this, dependsOn: [superuser] });
      this.logins[role] = { host: "postgres", port: POSTGRES_PORT, database: r.database, user: role, password: secret };
    }

    // Applications get the new password right after the server has it (dependsOn): the
    // file is replaced atomically; libpq reads a pgpass file at every connection.
    const appsTrust: command.local.Command[] = [];
    for (const [app, a] of Object.entries(config.applications ?? {}).sort()) {
      const login = this.logins[a.role];
      // By ID, the container as it is now (read while the program runs): one its owner
      // re-created gets the file again (a replacement), and removing the file from the old
      // one cannot touch the new one.
      const id = dockerSync(["inspect", "--format", "{{.Id}}", a.container], engine?.dockerHost);
      const appContainer = id.status === 0 ? id.stdout.trim() : a.container;
      if (a.caFile && args.tls) {
        appsTrust.push(containerCommand(`${name}-${app}-ca-file`, {
          container: appContainer,
          create: ["sh", "-c", WRITE_PASSWORD_FILE, "hyperscaler-ca-file", a.caFile, a.owner ?? ""],
          delete: ["rm", "-f", a.caFile],
          triggers: [appContainer],
          stdin: args.tls.trust,
          engine,
        }, { parent: this }));
      }
      containerCommand(`${name}-${app}-password-file`, {
        container: appContainer,
        create: ["sh", "-c", WRITE_PASSWORD_FILE, "hyperscaler-password-file", a.file, a.owner ?? "", ...(a.reload ?? [])],
        delete: ["rm", "-f", a.file],
        // Another container (its owner re-created it): a delivery of its own.
        triggers: [appContainer],
        stdin: pulumi.secret(pulumi.interpolate`${a.format === "pgpass" ? `*:*:${login.database}:${login.user}:` : ""}${login.password}${a.format === "pgpass" ? "\n" : ""}`),
        engine,
      }, { parent: this, dependsOn: [roleLogins[a.role]] });
    }

    // Applications trust a new CA before the server presents a certificate of it (a CA rotation).
    if (args.tls) {
      installDatabaseTls(name, { container: container.name, containerId: container.id, owner: "postgres:postgres",
        tls: { bundle: args.tls.bundle, after: pulumi.output(args.tls.after ?? []).apply((after) => [...after, ...appsTrust]) }, engine }, { parent: this });
    }
    continuousArchiving(name, { cluster, pitr: config.pitr, keyEpoch: args.pitrKeyEpoch, repository: args.repository, container: container.name, triggers, after: superuser, engine }, this);
    scheduledBackups(name, {
      container: container.name, containerId: container.id, databases: Object.values(config.roles).map((r) => r.database).sort(),
      backup: config.backup, command: CMD.pgBackup, after: [superuser], engine,
    }, { parent: this });
    this.registerOutputs({ containerName: this.containerName });
  }
}

/** The key epochs whose repositories are kept: the current one, and the one the last rotation left. */
export function pitrKeyEpochs(epoch: number): number[] {
  return epoch > 0 ? [epoch, epoch - 1] : [epoch];
}

/**
 * pgBackRest's repository for the server (in the backups volume, or on the backup
 * repository over SFTP or in its S3 bucket; a directory per key) and its schedule: WAL shipped as it is done,
 * a full backup at once when the repository has none. Each key epoch is a repository of
 * its own (a repository's key cannot change); the previous one stays readable for
 * restores until the next rotation.
 */
function continuousArchiving(name: string, args: {
  cluster: string; pitr: PostgresConfig["pitr"]; keyEpoch: number; repository?: RepositoryTarget; container: pulumi.Output<string>;
  triggers: pulumi.Input<string>[]; after: pulumi.Resource; engine?: Engine;
}, parent: pulumi.Resource): void {
  const { cluster, pitr, keyEpoch, repository: target } = args;
  // Over SFTP: the host checked by its key's fingerprint, the key file delivered with the
  // configs. In S3: the key pair in the config (secret as a whole), the CA file delivered with it.
  const where = (epoch: number): pulumi.Output<string> => {
    switch (target?.type) {
      case undefined: return pulumi.output(`repo1-path=/backups/pgbackrest/key${epoch}`);
      case "sftp": return pulumi.interpolate`repo1-type=sftp
repo1-sftp-host=${target.host}
repo1-sftp-host-user=${target.user}
repo1-sftp-private-key-file=/etc/pgbackrest/sftp-key
repo1-sftp-host-key-hash-type=sha256
repo1-sftp-host-key-check-type=fingerprint
repo1-sftp-host-fingerprint=${target.hostFingerprint}
repo1-path=${REPOSITORY_ROOT}/postgres/key${epoch}`;
      case "s3": return pulumi.interpolate`repo1-type=s3
repo1-s3-endpoint=${target.host}
repo1-storage-port=${target.port}
repo1-s3-bucket=${target.bucket}
repo1-s3-region=${target.region}
repo1-s3-uri-style=${target.uriStyle}
repo1-s3-key=${target.accessKeyId}
repo1-s3-key-secret=${target.secretAccessKey}
${target.caPem ? "repo1-storage-ca-file=/etc/pgbackrest/s3-ca.pem\n" : ""}repo1-path=${target.prefix}/postgres/key${epoch}`;
    }
  };
  const repository = (epoch: number) => {
    const key = new random.RandomPassword(`${name}-pitr-key-${epoch}`, { length: 64, special: false }, { parent }).result;
    return pulumi.interpolate`[global]
${where(epoch)}
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=${key}
repo1-retention-full=${pitr.retainFull}
compress-type=zst
start-fast=y
log-level-console=warn
log-level-file=off

[${cluster}]
pg1-path=/var/lib/postgresql/data
pg1-socket-path=/run/postgresql
`;
  };
  const [current, previous] = pitrKeyEpochs(keyEpoch).map(repository);
  const confs = pulumi.interpolate`${current}${previous ? pulumi.interpolate`#previous\n${previous}` : ""}${
    target?.type === "sftp" ? pulumi.interpolate`#sftp-key\n${target.privateKey}` : ""}${target?.type === "s3" && target.caPem ? `#s3-ca\n${target.caPem}` : ""}`;
  containerCommand(`${name}-pitr`, {
    container: args.container,
    create: [CMD.pgPitr, "configure", String(pitr.walMaxDelaySec), String(pitr.backupIntervalMin), String(pitr.fullEveryDays)],
    stdin: pulumi.secret(confs),
    triggers: args.triggers,
    engine: args.engine,
  }, { parent, dependsOn: [args.after] });
}

/** Writes stdin to FILE (mode 0600, owned by OWNER when given) atomically, then runs the reload command, if any: a password file, or a CA file. */
const WRITE_PASSWORD_FILE = 'set -eu; f=$1 owner=$2; shift 2; umask 077; mkdir -p "$(dirname "$f")"; cat >"$f.new"; ' +
  '[ -z "$owner" ] || chown "$owner" "$f.new"; mv "$f.new" "$f"; [ $# -eq 0 ] || "$@"';
