import { Accounting } from "../accounting";
import * as pulumi from "@pulumi/pulumi";
import { ACCOUNTING_DATABASE, applicationRoles, cdiDeviceName, ClusterSpec, clusterSpec, ComputeNodeSpec, CONTROLLER_HOST, DBD_HOST, dockerNames, GpuSpec, GRAFANA_DB_ROLE, lanHosts, MARIADB_HOST, platformDockerHost, StackConfig } from "../config";
import { clusterVolume, containerCommand, engineRecord } from "../docker";
import { CMD, RoleImage } from "../images";
import { ClusterManifest, clusterManifest } from "./manifest";
import { placeCluster } from "./placement";
import { Monitoring } from "../monitoring";
import { MungeKey } from "../munge";
import { pitrKeyEpochs, Postgres } from "../postgres";
import { BackupRepository, SHIPPER_HOST } from "../repository";
import { WorkstationNode, WorkstationNodeArgs } from "../node";
import { CertificatesRecord, ClusterCertificates } from "../tls";
import { compressHostlist, computeNodeEnv, contentHash, renderCgroupConf, renderGresConf, renderSlurmConf, ScrapeHost } from "../render";

/** Seconds `pulumi up` waits for every node to answer before it fails the update. */
export const VALIDATION_TIMEOUT_SEC = 180;
/** Seconds scale-in waits for the jobs on a node before it gives up (the node stays, drained). */
export const DRAIN_TIMEOUT_SEC = 3600;
/** A new node's slurmd registers within seconds once slurmctld runs; more is a fault to name. */
export const REGISTER_TIMEOUT_SEC = 300;

export interface HyperscalerClusterArgs {
  /** The parsed stack config (components/config). */
  readonly config: StackConfig;
  /** The stack that deploys it (stackIdentity, as its claim first recorded it): its claim on the cluster's name on each engine. */
  readonly stack: string;
  /** The certificates' record from the stack's last update (its manifest's `tls`): renewal is decided from it. @default - none yet */
  readonly previousTls?: CertificatesRecord;
}

/**
 * A SLURM cluster on one workstation's Docker engine, or on several (hyperscaler:workstations):
 * a network, the SLURM image, the
 * MUNGE key, a controller and the compute nodes of every node group. Compute nodes are
 * SLURM dynamic nodes, so adding or removing one touches no other node; removing one
 * drains it and waits for its jobs first. Every update ends by running a job step
 * across all compute nodes, and fails if one does not answer.
 */
export class HyperscalerCluster extends pulumi.ComponentResource {
  readonly spec: ClusterSpec;
  readonly manifest: pulumi.Output<ClusterManifest>;
  /** The platform's PostgreSQL, when the config has one. */
  readonly postgres?: Postgres;
  /** Prometheus, Alertmanager (and Grafana), when the config has monitoring. */
  readonly monitoring?: Monitoring;
  /** slurmdbd, MariaDB and the declared accounts, users and QOS, when the config has accounting. */
  readonly accounting?: Accounting;
  /** The stack's CA and the certificates of the LAN's TLS endpoints (several workstations). */
  readonly certificates?: ClusterCertificates;

  constructor(name: string, args: HyperscalerClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:cluster:HyperscalerCluster", name, {}, opts);
    const { config } = args;
    const spec = (this.spec = clusterSpec(config));
    const cluster = spec.clusterName;
    const names = dockerNames(cluster);
    const keep = { parent: this, protect: config.protect };

    const mungeKey = new MungeKey(`${name}-munge-key`, { epoch: config.rotation.mungeKeyEpoch }, keep);
    const placement = spec.placement;
    const where = placeCluster(name, spec, platformDockerHost(config),
      (build) => new RoleImage(`${name}-slurm-image`, { role: "slurm", baseImage: config.baseImage, tag: names.image("slurm"), ...build }, { parent: this }),
      args.stack, this, config.monitoring?.logs);
    const { image, build } = where;
    const engine = where.platform;
    // On a LAN, what is not SLURM's serves TLS: Prometheus (with a login) and the node
    // exporters of the nodes there (to Prometheus's certificate alone). Prometheus's address
    // there is known once its container is: its certificate names it.
    let prometheusAddress!: (address: pulumi.Output<string>) => void;
    const prometheusLan = new Promise<pulumi.Output<string>>((resolve) => { prometheusAddress = resolve; });
    const certificates = this.certificates = placement && new ClusterCertificates(`${name}-tls`, {
      cluster, tls: config.tls, rotation: config.rotation, previous: args.previousTls,
      ...(config.monitoring ? { prometheus: {
        dnsNames: ["prometheus", "localhost", names.container("prometheus")],
        ipAddresses: pulumi.output(prometheusLan).apply((a) => ["127.0.0.1", ...(a ? [a] : [])]),
      } } : {}),
      // The databases serve TLS to the cluster's own clients (slurmdbd, Grafana, applications).
      servers: {
        ...(config.postgres ? { postgres: ["postgres", names.container("postgres")] } : {}),
        ...(config.accounting ? { mariadb: [MARIADB_HOST, names.container(MARIADB_HOST)] } : {}),
      },
    }, { parent: this });
    const withTrust = (pem: pulumi.Output<string>) => pulumi.secret(pulumi.all([pem, certificates!.trust]).apply(([p, trust]) => p + trust));
    // In a renewal or a CA rotation Prometheus trusts the new CA first, then the exporters take
    // their certificates, then Prometheus takes its own: no scrape meets a CA it does not trust.
    let prometheusTrusts!: (installed: pulumi.Resource) => void;
    const prometheusTrust = new Promise<pulumi.Resource>((resolve) => { prometheusTrusts = resolve; });
    const exporterTls = certificates && {
      exporterTls: pulumi.secret(pulumi.all([certificates.exporter, certificates.trust]).apply(([pem, trust]) => pem + trust)),
      exporterTlsAfter: config.monitoring ? [prometheusTrust] : [],
    };

    const files = [
      { path: "/etc/slurm/slurm.conf", content: renderSlurmConf(spec) },
      { path: "/etc/slurm/cgroup.conf", content: renderCgroupConf() },
      { path: "/etc/slurm/gres.conf", content: renderGresConf(spec) },
    ];
    // A rotation installs the key on every node at once, but not in the same instant: for
    // that moment scheduling is paused (jobs wait in the queue rather than fail across
    // nodes holding different keys). The pause runs on the controller, made below.
    let pauseMade!: (r: pulumi.Resource) => void;
    const paused = new Promise<pulumi.Resource>((resolve) => { pauseMade = resolve; });
    const common = {
      image: image.imageId, network: where.network.name, mungeKey, cluster, keyAfter: [paused], engine,
      ...(placement ? { lanHosts: lanHosts({ ...placement, controllerHost: CONTROLLER_HOST }) } : {}),
    };
    // slurmctld's state (jobs, dynamic node records) outlives a re-created controller container.
    const controllerState = clusterVolume(`${name}-slurmctld-state`, cluster, "slurmctld-state", keep);
    const controller = new WorkstationNode(`${name}-${CONTROLLER_HOST}`, {
      ...common, hostname: CONTROLLER_HOST, containerName: names.container(CONTROLLER_HOST), role: "controller", files,
      address: placement?.controllerAddress,
      ...(placement ? { alsoOn: [where.platformNetwork] } : {}),
      volumes: [{ volume: controllerState.name, path: "/var/spool/slurmctld" }], ...exporterTls,
      cpus: config.controller.cpus, memoryMiB: config.controller.memoryMiB,
      afterFileUpdate: [CMD.reconfigure],
      // slurmctld loads its accounting plugin only at start: turning accounting on or off
      // restarts it in a new container (its state stays on the volume).
      env: spec.accounting ? { HYPERSCALER_DBD: `${spec.accounting.dbdHost}:${spec.accounting.dbdPort}` } : {},
    }, { parent: this });

    // Only an update (a new key) pauses and resumes; creating them does nothing.
    const rotation = (step: "pause" | "resume", dependsOn: pulumi.Resource[]) => containerCommand(`${name}-rotation-${step}`, {
      container: controller.containerName, update: [CMD.scheduling, step], stdin: mungeKey.fingerprint, engine,
    }, { parent: this, dependsOn });
    pauseMade(rotation("pause", [controller.container]));

    const accounting = this.accounting = config.accounting && spec.accounting && new Accounting(`${name}-accounting`, {
      cluster, config: config.accounting, spec: spec.accounting, passwordEpoch: config.rotation.accountingPasswordEpoch,
      baseImage: config.baseImage, build, network: where.platformNetwork, protect: config.protect, node: { ...common, network: where.platformNetwork },
      sacctmgr: { container: controller.containerName, after: [controller.keyInstalled, ...controller.filesInstalled] },
      ...(certificates ? { tls: { bundle: withTrust(certificates.servers.mariadb), trust: certificates.trust } } : {}),
    }, { parent: this });

    // What slurmctld needs before it runs: with accounting, a slurmdbd that has its config
    // (its first start waits for slurmdbd). Commands that wait for slurmctld come after it,
    // or, at the engine's parallelism, they could hold every slot while slurmdbd's config waits.
    const slurmctldNeeds = [controller.container, ...controller.filesInstalled, ...(accounting ? [accounting.ready] : [])];
    const compute = spec.nodes.map((node) => {
      const elsewhere = node.workstation ? where.elsewhere.get(node.workstation) : undefined;
      const on = elsewhere ? { ...common, engine: elsewhere.engine, network: elsewhere.network, image: elsewhere.image } : common;
      return this.computeNode(name, node, { ...on, ...exporterTls }, controller, names.container(node.name), [controller.keyInstalled, ...slurmctldNeeds]);
    });
    const resumed = rotation("resume", [controller.keyInstalled, ...controller.filesInstalled, ...compute.map((c) => c.node.keyInstalled), ...(accounting ? [accounting.dbd.keyInstalled] : [])]);

    const hostlist = compressHostlist(spec.nodes.map((n) => n.name));
    const ready = [controller.keyInstalled, resumed, ...slurmctldNeeds, ...compute.map((c) => c.node.keyInstalled)];
    if (spec.nodes.length > 0) {
      // The update's own proof: every compute node runs a job step. Re-runs when the node
      // set, the configs, the image or the key change.
      containerCommand(`${name}-validation`, {
        container: controller.containerName,
        create: [CMD.validate, hostlist, String(VALIDATION_TIMEOUT_SEC)],
        stdin: pulumi.interpolate`${image.imageId} ${mungeKey.fingerprint} ${files.map((f) => contentHash(f.content)).join(" ")}\n`,
        engine,
      }, { parent: this, dependsOn: ready });
    }
    const roles = applicationRoles(config);
    // Grafana trusts a new CA before PostgreSQL presents a certificate of it (a CA rotation).
    let grafanaTrusts!: (installed: pulumi.Resource[]) => void;
    const grafanaTrust = new Promise<pulumi.Resource[]>((resolve) => { grafanaTrusts = resolve; });
    const repositoryAt = config.backupRepository;
    const repository = repositoryAt && new BackupRepository(`${name}-backup-repository`, {
      cluster, config: repositoryAt, baseImage: config.baseImage, controller: engine, build,
      ...(repositoryAt.workstation ? { on: where.others.get(repositoryAt.workstation)! } : {}),
      postgresKeyEpochs: pitrKeyEpochs(config.rotation.pitrKeyEpoch), protect: config.protect,
      ship: { network: where.platformNetwork, volumes: [
        { part: "slurmctld-state", volume: controllerState.name },
        ...(accounting ? [{ part: "mariadb-backups", volume: accounting.backupsVolume }] : []),
      ] },
    }, { parent: this });
    const postgres = this.postgres = config.postgres && new Postgres(`${name}-postgres`, {
      cluster, config: { ...config.postgres, roles }, passwordEpochs: config.rotation.postgresPasswordEpochs, pitrKeyEpoch: config.rotation.pitrKeyEpoch,
      ...(repository ? { repository: repository.target } : {}),
      baseImage: config.baseImage, build, network: where.platformNetwork, protect: config.protect, engine,
      ...(certificates ? { tls: { bundle: withTrust(certificates.servers.postgres), trust: certificates.trust, after: grafanaTrust } } : {}),
    }, { parent: this });

    const databases = Object.values(roles).map((r) => r.database).sort();
    const scrapeHosts: ScrapeHost[] = [
      { host: CONTROLLER_HOST, role: "controller", tls: !!certificates },
      ...spec.nodes.map((n): ScrapeHost => ({ host: n.name, role: "compute", group: n.group, tls: !!certificates })),
      ...(postgres ? [{ host: "postgres", role: "postgres" } as const] : []),
      ...(accounting ? [{ host: DBD_HOST, role: "dbd" } as const, { host: MARIADB_HOST, role: "mariadb" } as const] : []),
      ...(repository ? [{ host: SHIPPER_HOST, role: "backup-shipper" } as const] : []),
    ];
    const monitoring = this.monitoring = config.monitoring && new Monitoring(`${name}-monitoring`, {
      cluster, config: config.monitoring, baseImage: config.baseImage, build, network: where.platformNetwork, scrapeHosts, protect: config.protect,
      gpus: Object.values(config.nodeGroups).some((g) => !!g.gpus),
      ...(placement ? { lan: where.network.name } : {}),
      postgres: config.postgres && { databases, backupIntervalMin: config.postgres.backup.intervalMin, pitr: config.postgres.pitr },
      accounting: config.accounting && { database: ACCOUNTING_DATABASE, backupIntervalMin: config.accounting.backup.intervalMin },
      ...(repository && repositoryAt ? { backupShip: { intervalMin: repositoryAt.shipIntervalMin, parts: repository.shippedParts } } : {}),
      grafanaDatabase: postgres?.logins[GRAFANA_DB_ROLE], scrapeHostsReady: [...ready, ...(repository ? [repository.shipper] : [])], engine,
      ...(certificates?.prometheus ? { tls: {
        bundle: pulumi.secret(pulumi.all([certificates.prometheus, certificates.trust]).apply(([pem, trust]) => pem + trust)),
        trust: certificates.trust, passwordEpoch: config.rotation.prometheusPasswordEpoch,
        exportersInstalled: [controller, ...compute.map((c) => c.node)].flatMap((n) => (n.tlsInstalled ? [n.tlsInstalled] : [])),
      } } : {}),
      // On several workstations, nodes elsewhere are scraped at their addresses (no shared DNS).
      ...(where.elsewhere.size ? { scrapeAddresses: Object.fromEntries(compute.filter((c) => where.elsewhere.has(c.workstation ?? "")).map((c) => [c.name, c.node.address])) } : {}),
    }, { parent: this });

    prometheusAddress(monitoring && monitoring.lanAddress ? monitoring.lanAddress : pulumi.output(""));
    if (monitoring && monitoring.trustInstalled) prometheusTrusts(monitoring.trustInstalled);
    grafanaTrusts(monitoring?.grafanaTrustInstalled ? [monitoring.grafanaTrustInstalled] : []);

    const version = containerCommand(`${name}-slurm-version`, {
      container: controller.containerName,
      create: ["slurmctld", "-V"],
      triggers: [image.imageId],
      engine,
    }, { parent: this, dependsOn: [controller.keyInstalled] });

    this.manifest = clusterManifest(config, spec, {
      controller: controller.containerName, slurmVersion: version.stdout, mungeFingerprint: mungeKey.fingerprint, image: image.imageId, files,
      postgres: postgres?.containerName,
      monitoring: monitoring && { prometheus: monitoring.prometheusContainer, alertmanager: monitoring.alertmanagerContainer, grafana: monitoring.grafanaContainer,
        scrapedNodes: scrapeHosts.length, alertRulesHash: monitoring.alertRulesHash },
      accounting: accounting ? { slurmdbd: accounting.dbd.containerName, mariadb: accounting.mariadbContainer } : undefined,
      platformEngine: engineRecord(engine), stack: args.stack, tls: certificates?.record,
      nodeEngines: Object.fromEntries(compute.map((c) => [names.container(c.name), engineRecord(c.node.engine)])),
    });
    this.registerOutputs({ manifest: this.manifest });
  }

  private computeNode(
    name: string, node: ComputeNodeSpec, common: Omit<WorkstationNodeArgs, "hostname" | "containerName" | "role" | "cpus" | "memoryMiB">,
    controller: WorkstationNode, container: string, slurmctldRuns: pulumi.Resource[],
  ) {
    // Two resources: the container, and its membership, which delivers the key. Scale-in:
    // deleting the membership (before the node's container, which it depends on) drains
    // the node, waits for its jobs, and removes it from SLURM. It is never replaced: a new
    // image replaces the containers under it, and SLURM requeues the jobs they were running.
    // That every node runs a job step is the cluster's validation's to show.
    const computeNode = new WorkstationNode(`${name}-${node.name}`, {
      ...common, hostname: node.name, containerName: container, role: "compute",
      cpus: node.cpus, memoryMiB: node.memoryMiB, gpus: node.gpus && gpuAccess(node.gpus),
      env: computeNodeEnv(this.spec, node),
    }, { parent: this, membership: {
      controller: controller.containerName, controllerEngine: controller.engine,
      after: slurmctldRuns, drainTimeoutSec: DRAIN_TIMEOUT_SEC, registerTimeoutSec: REGISTER_TIMEOUT_SEC,
    } });
    return { name: node.name, workstation: node.workstation, node: computeNode };
  }
}

/** How a node's container gets its GPUs, by the group's `access`. */
function gpuAccess(gpus: GpuSpec): NonNullable<WorkstationNodeArgs["gpus"]> {
  switch (gpus.access) {
    case "toolkit": return { gpus: `device=${gpus.ids.join(",")}` };
    case "cdi": return { cdiDevices: gpus.ids.map(cdiDeviceName) };
    case "devices": return {
      devices: gpus.devices.map((d) => ({ hostPath: d.host, containerPath: d.node })),
      hostFiles: gpus.driverFiles.map((f) => ({ hostPath: f.host, containerPath: f.node })),
    };
  }
}
