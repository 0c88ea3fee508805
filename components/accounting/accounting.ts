import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AccountingConfig, AccountingSpec, DBD_HOST, dockerNames, MARIADB_HOST } from "../config";
import { CLUSTER_LABEL, clusterVolume, containerCommand, DAEMON_CAPABILITIES, hardenedContainer, scheduledBackups } from "../docker";
import { CMD, ImageBuild, RoleImage } from "../images";
import { WorkstationNode, WorkstationNodeArgs } from "../node";
import { renderSlurmdbdConf, TLS_DIR } from "../render";
import { installDatabaseTls } from "../tls";
import { AccountingEntity, declaredEntities } from "./sacctmgr";

/** The MariaDB login slurmdbd uses (StorageUser). */
export const STORAGE_USER = "slurm";

export interface AccountingArgs {
  /** Cluster name: prefix of container and volume names. */
  readonly cluster: string;
  readonly config: AccountingConfig;
  readonly spec: AccountingSpec;
  /** Epoch of the database password (a keeper: a new epoch is a new password). */
  readonly passwordEpoch: number;
  readonly baseImage: string;
  /** Where the image is built, when not on the engine it runs on (hyperscaler:buildWorkstation). @default - there */
  readonly build?: ImageBuild;
  readonly network: pulumi.Input<string>;
  /** Protect and retain the database's volumes (prod). @default false */
  readonly protect?: boolean;
  /** What slurmdbd's container shares with the SLURM nodes: image, network, MUNGE key, engine. */
  readonly node: Omit<WorkstationNodeArgs, "hostname" | "containerName" | "role" | "cpus" | "memoryMiB">;
  /** Where sacctmgr runs (the controller's container) and what it waits for. */
  readonly sacctmgr: { readonly container: string; readonly after: pulumi.Input<pulumi.Resource>[] };
  /**
   * A stack with a CA: MariaDB takes TCP clients over TLS only, and slurmdbd checks its
   * certificate. @default - TLS optional, unchecked
   */
  readonly tls?: {
    /** MariaDB's certificate and key, then the CAs to trust (PEM); secret. */
    readonly bundle: pulumi.Input<string>;
    /** The CAs slurmdbd trusts (PEM). */
    readonly trust: pulumi.Input<string>;
  };
}

/**
 * SLURM accounting: MariaDB (Debian's, data and verified backups on volumes), slurmdbd
 * in a container of the SLURM image (with the cluster's MUNGE key), its password random
 * and rotated by epoch (set in the server first, then slurmdbd restarted with it while
 * slurmctld queues its records), and the QOS, accounts and users of the config kept in
 * the database by sacctmgr.
 */
export class Accounting extends pulumi.ComponentResource {
  readonly mariadbContainer: pulumi.Output<string>;
  /** The volume of MariaDB's verified dumps. */
  readonly backupsVolume: pulumi.Output<string>;
  readonly dbd: WorkstationNode;
  /** slurmdbd runs with the current password and config. */
  readonly ready: command.local.Command;

  constructor(name: string, args: AccountingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:accounting:Accounting", name, {}, opts);
    const { cluster, config, spec } = args;
    const { engine } = args.node;
    const keep = { parent: this, protect: !!args.protect, retainOnDelete: !!args.protect };
    const data = clusterVolume(`${name}-mariadb-data`, cluster, "mariadb-data", keep);
    const backups = clusterVolume(`${name}-mariadb-backups`, cluster, "mariadb-backups", keep);
    const image = new RoleImage(`${name}-mariadb-image`, { role: "mariadb", baseImage: args.baseImage, tag: dockerNames(cluster).image("mariadb") , ...args.build }, { parent: this });
    const mariadb = hardenedContainer(`${name}-mariadb`, {
      name: dockerNames(cluster).container(MARIADB_HOST),
      image: image.imageId,
      hostname: MARIADB_HOST,
      network: args.network,
      env: { HYPERSCALER_CLUSTER: cluster, ...(args.tls ? { HYPERSCALER_DATABASE_TLS: "1" } : {}) },
      capabilities: [...DAEMON_CAPABILITIES],
      volumes: [{ volume: data.name, path: "/var/lib/mysql" }, { volume: backups.name, path: "/backups" }],
      memoryMiB: config.mariadb.memoryMiB,
      cpus: config.mariadb.cpus,
      healthCommand: "mariadb-admin ping --silent",
      labels: { [CLUSTER_LABEL]: cluster, "hyperscaler.role": "mariadb" },
      logs: engine?.logs,
    }, { parent: this });
    this.mariadbContainer = mariadb.name;
    this.backupsVolume = backups.name;

    // Letters and digits only: it goes into slurmdbd.conf unquoted.
    const password = pulumi.secret(new random.RandomPassword(`${name}-password`, {
      length: 32, special: false, keepers: { epoch: String(args.passwordEpoch) },
    }, { parent: this }).result);
    // A new password is set in the server first; connections already open keep working.
    const login = containerCommand(`${name}-mariadb-login`, {
      container: mariadb.name,
      create: [CMD.mariadbSetPassword, STORAGE_USER, spec.database],
      stdin: password,
      triggers: [mariadb.id],
      engine,
    }, { parent: this });
    scheduledBackups(`${name}-mariadb`, {
      container: mariadb.name, containerId: mariadb.id, databases: [spec.database],
      backup: config.backup, command: CMD.mariadbBackup, after: [login], engine,
    }, { parent: this });

    this.dbd = new WorkstationNode(`${name}-${DBD_HOST}`, {
      ...args.node, hostname: DBD_HOST, containerName: dockerNames(cluster).container(DBD_HOST), role: "dbd",
      cpus: config.slurmdbd.cpus, memoryMiB: config.slurmdbd.memoryMiB,
    }, { parent: this });
    // slurmdbd trusts a new CA before MariaDB presents a certificate of it (a CA rotation).
    const trusted = args.tls && containerCommand(`${name}-${DBD_HOST}-tls`, {
      container: this.dbd.containerName, create: [CMD.tlsInstall, TLS_DIR, "slurm:slurm"], stdin: args.tls.trust, triggers: [this.dbd.container.id], engine,
    }, { parent: this });
    if (trusted) {
      installDatabaseTls(`${name}-mariadb`, { container: mariadb.name, containerId: mariadb.id, owner: "mysql:mysql", tls: { bundle: args.tls!.bundle, after: [trusted] }, engine }, { parent: this });
    }
    // Then slurmdbd gets it: on a new container the entrypoint starts slurmdbd once this
    // and the key are there; on a running one slurmdbd restarts with it.
    const install = [CMD.install, "/etc/slurm/slurmdbd.conf", "0600", "slurm:slurm"];
    this.ready = containerCommand(`${name}-slurmdbd.conf`, {
      container: this.dbd.containerName,
      create: install,
      update: ["sh", "-c", `${install.join(" ")} && ${CMD.dbdRestart}`],
      stdin: pulumi.secret(password.apply((p) => renderSlurmdbdConf(spec, p, trusted ? `${TLS_DIR}/ca.pem` : undefined))),
      triggers: [this.dbd.container.id],
      engine,
    }, { parent: this, dependsOn: [login, this.dbd.container, ...(trusted ? [trusted] : [])] });

    // The declared QOS, accounts and users, parents first (removal goes the other way).
    const made = new Map<string, AccountingEntity>();
    for (const e of declaredEntities(config)) {
      made.set(`${e.kind}/${e.name}`, new AccountingEntity(`${name}-${e.kind}-${e.name}`, {
        container: args.sacctmgr.container, dockerHost: engine?.dockerHost ?? "", cluster, kind: e.kind, name: e.name, settings: e.settings,
      }, { parent: this, dependsOn: [...args.sacctmgr.after, this.ready, this.dbd.keyInstalled, ...e.after.map((k) => made.get(k)!)] }));
    }
    this.registerOutputs({ mariadbContainer: this.mariadbContainer });
  }
}
