import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as bcrypt from "bcryptjs";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ALERTMANAGER_SIZE, DASHBOARDS_CPUS, DASHBOARDS_PORT, dockerNames, GRAFANA_SIZE, LOG_INGEST_SIZE, LOG_STORE_PORT, LOGS_CPUS, MonitoringConfig } from "../config";
import { CLUSTER_LABEL, clusterVolume, Container, containerCommand, DAEMON_CAPABILITIES, Engine, hardenedContainer } from "../docker";
import { CMD, IMAGES_DIR, ImageBuild, RoleImage } from "../images";
import type { PostgresLogin } from "../postgres";
import {
  ALERTMANAGER_DIR, AlertSpec, clusterDashboards, Dashboard, contentHash, DashboardSpec, PERSES_DATASOURCE, PERSES_PROMETHEUS_SECRET,
  renderPersesDashboard, renderPersesDatasource, renderPersesProject, renderPersesPrometheusSecret, LOG_STORE_HOST, GRAFANA_DASHBOARDS_DIR,
  GRAFANA_PROVISIONING_DIR, PROMETHEUS_DIR, renderAlertmanagerConfig,
  renderAlertRules, renderGrafanaDashboardProvider, renderGrafanaDashboards, renderGrafanaDatasources, renderNodeTargets,
  renderPrometheusConfig, renderPrometheusWebConfig, PROMETHEUS_TLS, PROMETHEUS_USER, ScrapeHost, TLS_DIR,
} from "../render";

/** Seconds `pulumi up` waits for every node exporter to be scraped before it fails. */
export const TARGETS_TIMEOUT_SEC = 120;
/** The log store's binary, in its image's build context: scripts/setup.sh's `logs` step puts it there. */
export const LOG_STORE_BINARY = path.join(IMAGES_DIR, "logs/bin/victoria-logs");
/** The dashboard server's build (bin/, plugins/), in its image's build context: scripts/setup.sh's `dashboards` step puts it there. */
export const DASHBOARDS_BUILD = path.join(IMAGES_DIR, "dashboards/build");
/** Where the dashboard server reads Prometheus's web password and CAs (several workstations: Prometheus serves TLS with a login). */
const DASHBOARDS_PROMETHEUS_FILES = { password: "/perses/prometheus/password", ca: "/perses/prometheus/ca.pem" };
/** Its front on the LAN (several workstations): where the other engines send. */
const LOG_INGEST_HOST = "logs-ingest";
/** Where the Prometheus container sees Grafana's provisioning volume. */
const GRAFANA_STAGING_DIR = "/grafana-provisioning";
/** The CAs Grafana checks PostgreSQL's certificate with, in its provisioning volume (Grafana reads no other of our files). */
const GRAFANA_DATABASE_CA = "tls/ca.pem";

export interface MonitoringArgs {
  /** Cluster name: prefix of container and volume names, and Prometheus's `cluster` label. */
  readonly cluster: string;
  readonly config: MonitoringConfig;
  readonly baseImage: string;
  /** Where the image is built, when not on the engine it runs on (hyperscaler:buildWorkstation). @default - there */
  readonly build?: ImageBuild;
  /** Docker network the cluster shares; Prometheus scrapes by hostname there. */
  readonly network: pulumi.Input<string>;
  /** On several workstations, the LAN network Prometheus joins besides, to scrape the nodes. @default - none */
  readonly lan?: pulumi.Input<string>;
  /** Every host running a node exporter: the controller, each compute node, PostgreSQL. */
  readonly scrapeHosts: readonly ScrapeHost[];
  /** Addresses to scrape hosts at, by host, where the network's DNS does not know them (other workstations). @default {} */
  readonly scrapeAddresses?: Record<string, pulumi.Input<string>>;
  /** Some node group has GPUs: the GPU dashboard. @default false */
  readonly gpus?: boolean;
  /** The platform's PostgreSQL, to scrape and to alert on its backups. @default - none */
  readonly postgres?: AlertSpec["postgres"];
  /** SLURM accounting's database, when the cluster has accounting. */
  readonly accounting?: AlertSpec["accounting"];
  /** The shipper of the file backups to the backup repository (a scrape host too), when the stack has one. @default - none */
  readonly backupShip?: AlertSpec["backupShip"];
  /** Grafana's store in the platform's PostgreSQL. @default - Grafana's own SQLite file */
  readonly grafanaDatabase?: PostgresLogin;
  /** What must exist before the scrape hosts can answer (their containers). @default [] */
  readonly scrapeHostsReady?: pulumi.Input<pulumi.Resource>[];
  /** Protect the metrics volume (prod). @default false */
  readonly protect?: boolean;
  /** The Docker engine (the provider's `host`). @default - DOCKER_HOST or the local socket */
  readonly engine?: Engine;
  /**
   * Several workstations: Prometheus serves TLS with a login, and scrapes the exporters that
   * serve TLS (ScrapeHost.tls) with its certificate. @default - plain HTTP on the cluster network
   */
  readonly tls?: {
    /** Its certificate and key, then the CAs to trust (PEM); secret. */
    readonly bundle: pulumi.Input<string>;
    /** The CAs to trust (PEM): installed first, and for Grafana. */
    readonly trust: pulumi.Input<string>;
    /**
     * What installs the exporters' certificates: Prometheus's own certificate comes after
     * them, so in a CA rotation every exporter trusts the new CA before Prometheus presents
     * a certificate of it (and Prometheus trusts it, from `trust`, before any exporter does).
     */
    readonly exportersInstalled: pulumi.Input<pulumi.Resource>[];
    /** Raising it gives the web login a new password (hyperscaler:rotation.prometheusPasswordEpoch). */
    readonly passwordEpoch: number;
  };
}

/**
 * The bcrypt hash of Prometheus's web password, its salt derived from the password itself:
 * the same password always gives the same config, so an update changes it only when the
 * password changes (a random password of 32 characters needs no salt against precomputation).
 */
export function webPasswordHash(password: string): string {
  const salt = createHash("sha256").update("hyperscaler prometheus web login\0").update(password).digest().subarray(0, 16);
  return bcrypt.hashSync(password, `$2b$10$${bcrypt.encodeBase64(salt, 16)}`);
}

/**
 * Prometheus and Alertmanager (Debian's, on the project's base image), and Grafana from
 * the image the config names. Every config is delivered into the running container and
 * checked by promtool/amtool before it is loaded; node targets are a file Prometheus
 * watches, so scaling the cluster changes what is scraped in the same update with no
 * reload and no new container. Each update waits until every node exporter is scraped.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly prometheusContainer: pulumi.Output<string>;
  readonly alertmanagerContainer: pulumi.Output<string>;
  readonly grafanaContainer?: pulumi.Output<string>;
  /** The log store (monitoring.logs). */
  readonly logsContainer?: pulumi.Output<string>;
  /** The dashboard server (monitoring.dashboards). */
  readonly dashboardsContainer?: pulumi.Output<string>;
  /** Hash of the alert rules Prometheus runs (the manifest shows which thresholds are live). */
  readonly alertRulesHash: string;
  /** Prometheus's address on the LAN (several workstations). */
  readonly lanAddress?: pulumi.Output<string>;
  /** The install of the CAs Prometheus trusts (several workstations): the exporters' certificates come after it. */
  readonly trustInstalled?: pulumi.Resource;
  /** The install of the CAs Grafana checks PostgreSQL's certificate with (a stack with a CA and Grafana on PostgreSQL). */
  readonly grafanaTrustInstalled?: pulumi.Resource;
  /** Prometheus's web login, where it serves TLS; the password is secret. */
  readonly webLogin?: { readonly user: string; readonly password: pulumi.Output<string> };

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:monitoring:Monitoring", name, {}, opts);
    const { cluster, config, engine, tls } = args;
    const password = tls && pulumi.secret(new random.RandomPassword(`${name}-web-password`, {
      length: 32, special: false, keepers: { epoch: String(tls.passwordEpoch) },
    }, { parent: this }).result);
    const labels = { [CLUSTER_LABEL]: cluster };
    const image = new RoleImage(`${name}-image`, { role: "monitoring", baseImage: args.baseImage, tag: dockerNames(cluster).image("monitoring") , ...args.build }, { parent: this });
    const grafanaHost = config.grafana ? "grafana" : undefined;
    // Before anything is made: a store whose image cannot be built fails here, not halfway.
    if (config.logs && !fs.existsSync(LOG_STORE_BINARY)) {
      throw new Error(`hyperscaler:monitoring.logs: ${path.relative(process.cwd(), LOG_STORE_BINARY)} is missing (VictoriaLogs, for the log store's image): run \`bash scripts/setup.sh logs\`, then try again`);
    }
    // Before anything is made: dashboards that do not validate fail here, not halfway.
    const dashboardSpec: DashboardSpec = { thresholds: config.thresholds, postgres: args.postgres, accounting: args.accounting, gpus: args.gpus, logs: !!config.logs };
    const dashboards = config.dashboards && checkedDashboards(cluster, clusterDashboards(dashboardSpec));
    const spec = {
      cluster, scrapeIntervalSec: config.scrapeIntervalSec, thresholds: config.thresholds,
      alertmanagerHost: "alertmanager", grafanaHost, logs: !!config.logs, postgres: args.postgres, accounting: args.accounting, backupShip: args.backupShip, tls: !!tls, certificates: !!tls,
    };

    // Grafana's provisioning is written by the Prometheus container (it has the install tool)
    // into a volume Grafana mounts read-only: any Grafana image works unchanged.
    const grafanaProvisioning = config.grafana && clusterVolume(`${name}-grafana-provisioning`, cluster, "grafana-provisioning", { parent: this });
    type Mount = { volume: pulumi.Input<string>; path: string; readOnly?: boolean };
    const daemon = (role: "prometheus" | "alertmanager", port: number | false, cpus: number, memoryMiB: number, env: Record<string, string> = {}, extraVolumes: Mount[] = []) => {
      const data = clusterVolume(`${name}-${role}-data`, cluster, `${role}-data`, { parent: this, protect: !!args.protect });
      const internal = role === "prometheus" ? 9090 : 9093;
      const secure = role === "prometheus" && !!tls;
      return hardenedContainer(`${name}-${role}`, {
        name: dockerNames(cluster).container(role), image: image.imageId, hostname: role, network: args.network,
        ...(role === "prometheus" && args.lan ? { alsoOn: [args.lan] } : {}),
        env: { HYPERSCALER_ROLE: role, ...(secure ? { HYPERSCALER_TLS: "1" } : {}), ...env },
        capabilities: [...DAEMON_CAPABILITIES],
        volumes: [{ volume: data.name, path: `/${role}` }, ...extraVolumes],
        localPorts: port ? [{ host: port, container: internal }] : [],
        memoryMiB, cpus,
        healthCommand: secure ? `${CMD.prometheusApi} /-/ready -o /dev/null` : `curl -fs -o /dev/null http://127.0.0.1:${internal}/-/ready`,
        labels: { ...labels, "hyperscaler.role": role },
        logs: engine?.logs,
      }, { parent: this });
    };
    const prometheus = daemon("prometheus", config.prometheus.port, config.prometheus.cpus, config.prometheus.memoryMiB,
      { HYPERSCALER_RETENTION: `${config.retentionDays}d` },
      grafanaProvisioning ? [{ volume: grafanaProvisioning.name, path: GRAFANA_STAGING_DIR }] : []);
    const alertmanager = daemon("alertmanager", config.alertmanager.port, ALERTMANAGER_SIZE.cpus, ALERTMANAGER_SIZE.memoryMiB);

    // Files into a running daemon; a change is checked by its own tool, then reloaded.
    const deliver = (container: Container, file: string, content: pulumi.Input<string>, reload: boolean, dependsOn: pulumi.Resource[] = [],
      mode = "0644", owner = "root:root") => {
      const install = [CMD.install, file, mode, owner];
      return containerCommand(`${name}-${path.basename(file)}`, {
        container: container.name,
        create: install,
        update: reload ? ["sh", "-c", `${install.join(" ")} && ${CMD.reload}`] : install,
        stdin: content,
        triggers: [container.id],
        engine,
      }, { parent: this, dependsOn });
    };
    const nodeTargets = args.scrapeAddresses
      ? pulumi.output(args.scrapeAddresses).apply((addresses: Record<string, string>) =>
        renderNodeTargets(args.scrapeHosts.map((h) => (addresses[h.host] ? { ...h, address: addresses[h.host] } : h))))
      : renderNodeTargets(args.scrapeHosts);
    const targets = deliver(prometheus, `${PROMETHEUS_DIR}/targets/node.json`, nodeTargets, false);
    const alertRules = renderAlertRules(spec);
    this.alertRulesHash = contentHash(alertRules);
    const rules = deliver(prometheus, `${PROMETHEUS_DIR}/alerts.yml`, alertRules, true);
    // Its TLS files before the config that names them (promtool checks they are there); all
    // are read again per request or scrape, so a renewal or a new password reloads nothing.
    const installTls = (part: string, stdin: pulumi.Input<string>, dependsOn: pulumi.Input<pulumi.Resource>[]) => containerCommand(`${name}-${part}`, {
      container: prometheus.name, create: [CMD.tlsInstall, TLS_DIR, "prometheus:prometheus"], stdin, triggers: [prometheus.id], engine,
    }, { parent: this, dependsOn });
    if (tls) this.trustInstalled = installTls("prometheus-trust", tls.trust, []);
    const secured = tls ? [
      installTls("prometheus-tls", tls.bundle, [this.trustInstalled!, ...tls.exportersInstalled]),
      deliver(prometheus, PROMETHEUS_TLS.passwordFile, password!, false, [], "0400", "prometheus:prometheus"),
      deliver(prometheus, PROMETHEUS_TLS.netrc, pulumi.interpolate`machine localhost login ${PROMETHEUS_USER} password ${password!}\n`, false, [], "0400"),
      deliver(prometheus, PROMETHEUS_TLS.webConfig, password!.apply((p) => renderPrometheusWebConfig(webPasswordHash(p))), false, [], "0400", "prometheus:prometheus"),
    ] : [];
    if (password) this.webLogin = { user: PROMETHEUS_USER, password };
    if (args.lan) this.lanAddress = pulumi.all([args.lan, prometheus.networkDatas]).apply(([lan, n]) => n?.find((d) => d.networkName === lan)?.ipAddress ?? "");
    const promConfig = deliver(prometheus, `${PROMETHEUS_DIR}/prometheus.yml`, renderPrometheusConfig(spec), true, [targets, rules, ...secured]);
    deliver(alertmanager, `${ALERTMANAGER_DIR}/alertmanager.yml`, renderAlertmanagerConfig(config.alertmanager), true);

    // The update's proof: every node exporter the cluster has is scraped and up.
    containerCommand(`${name}-targets-up`, {
      container: prometheus.name,
      create: [CMD.waitTargets, "node", String(args.scrapeHosts.length), String(TARGETS_TIMEOUT_SEC)],
      stdin: nodeTargets,
      triggers: [prometheus.id],
      engine,
    }, { parent: this, dependsOn: [promConfig, ...(args.scrapeHostsReady ?? [])] });

    this.prometheusContainer = prometheus.name;
    this.alertmanagerContainer = alertmanager.name;
    if (config.grafana && grafanaProvisioning) {
      const grafana = this.grafana(name, args, config.grafana, prometheus, grafanaProvisioning, dashboardSpec);
      this.grafanaContainer = grafana.container.name;
      this.grafanaTrustInstalled = grafana.trustInstalled;
    }
    if (config.logs) this.logsContainer = this.logStore(name, args, config.logs).name;
    if (config.dashboards && dashboards) this.dashboardsContainer = this.dashboardServer(name, args, config.dashboards, dashboards).name;
    this.registerOutputs({ prometheusContainer: this.prometheusContainer, alertmanagerContainer: this.alertmanagerContainer });
  }

  /**
   * The log store (VictoriaLogs) every container of the cluster sends its output to. Its own
   * output stays in Docker's json-file: it would otherwise send to itself. On several
   * workstations the other engines send to its front on the LAN (at the fixed address), which
   * takes lines and answers no query: the store itself is not on the LAN.
   */
  private logStore(name: string, args: MonitoringArgs, logs: NonNullable<MonitoringConfig["logs"]>): Container {
    const image = new RoleImage(`${name}-logs-image`, { role: "logs", baseImage: args.baseImage, tag: dockerNames(args.cluster).image("logs"), ...args.build }, { parent: this });
    const data = clusterVolume(`${name}-logs-data`, args.cluster, "logs-data", { parent: this, protect: !!args.protect });
    const common = { image: image.imageId, network: args.network, capabilities: [],
      healthCommand: `curl -fs -o /dev/null http://127.0.0.1:${LOG_STORE_PORT}/health` };
    const store = hardenedContainer(`${name}-logs`, {
      ...common, name: dockerNames(args.cluster).container(LOG_STORE_HOST), hostname: LOG_STORE_HOST,
      env: { HYPERSCALER_RETENTION: `${logs.retentionDays}d`, HYPERSCALER_MAX_DISK: `${logs.maxDiskGiB}GiB` },
      volumes: [{ volume: data.name, path: "/logs" }],
      localPorts: [{ host: logs.port, container: LOG_STORE_PORT }],
      memoryMiB: logs.memoryMiB, cpus: LOGS_CPUS,
      labels: { [CLUSTER_LABEL]: args.cluster, "hyperscaler.role": "logs" },
    }, { parent: this });
    if (args.lan && logs.address) {
      hardenedContainer(`${name}-logs-ingest`, {
        ...common, name: dockerNames(args.cluster).container(LOG_INGEST_HOST), hostname: LOG_INGEST_HOST,
        alsoOn: [{ network: args.lan, address: logs.address }],
        env: { HYPERSCALER_FORWARD_TO: `${LOG_STORE_HOST}:${LOG_STORE_PORT}` },
        ...LOG_INGEST_SIZE,
        labels: { [CLUSTER_LABEL]: args.cluster, "hyperscaler.role": "logs-ingest" },
      }, { parent: this });
    }
    return store;
  }

  /**
   * The dashboard server (Perses): its project (the cluster's name), the Prometheus datasource
   * and the dashboards, each checked against the server's schemas, then provisioned and
   * waited for. It keeps no state of its own (read-only; everything comes from here), so it
   * has no volume: a new container is provisioned again.
   */
  private dashboardServer(name: string, args: MonitoringArgs, cfg: NonNullable<MonitoringConfig["dashboards"]>, dashboards: Record<string, string>): Container {
    const { cluster, engine } = args;
    const image = new RoleImage(`${name}-dashboards-image`, { role: "dashboards", baseImage: args.baseImage, tag: dockerNames(cluster).image("dashboards"), ...args.build }, { parent: this });
    const container = hardenedContainer(`${name}-dashboards`, {
      name: dockerNames(cluster).container("dashboards"), image: image.imageId, hostname: "dashboards", network: args.network,
      capabilities: [],
      localPorts: cfg.port ? [{ host: cfg.port, container: DASHBOARDS_PORT }] : [],
      memoryMiB: cfg.memoryMiB, cpus: DASHBOARDS_CPUS,
      healthCommand: `curl -fs -o /dev/null http://127.0.0.1:${DASHBOARDS_PORT}/api/v1/health`,
      labels: { [CLUSTER_LABEL]: cluster, "hyperscaler.role": "dashboards" },
      logs: engine?.logs,
    }, { parent: this });
    const provision = (resource: string, kind: string, subject: string, content: pulumi.Input<string>, dependsOn: pulumi.Resource[]) => {
      const command = [CMD.dashboardsProvision, kind, subject];
      return containerCommand(`${name}-${resource}`, {
        container: container.name, create: command, update: command, delete: [CMD.dashboardsProvision, "--remove", kind, subject],
        stdin: content, triggers: [container.id], engine,
      }, { parent: this, dependsOn });
    };
    const project = provision("dashboards-project", "Project", cluster, renderPersesProject(cluster, cluster), []);
    // Prometheus serving TLS with a login: its password and CAs as files the proxy reads per
    // request (a new password or CA needs no new resource), named by a Perses secret.
    const login = args.tls && this.webLogin;
    const secured = login ? [project, ...(["password", "ca"] as const).map((file) => containerCommand(`${name}-dashboards-prometheus-${file}`, {
      container: container.name, create: [CMD.install, DASHBOARDS_PROMETHEUS_FILES[file], "0400", "perses:perses"],
      stdin: file === "password" ? login.password : args.tls!.trust, triggers: [container.id], engine,
    }, { parent: this }))] : [];
    if (login) secured.push(provision("dashboards-secret", "Secret", PERSES_PROMETHEUS_SECRET, renderPersesPrometheusSecret(cluster, login.user, DASHBOARDS_PROMETHEUS_FILES), secured));
    const datasource = provision("dashboards-datasource", "Datasource", PERSES_DATASOURCE,
      renderPersesDatasource(cluster, login ? "https://prometheus:9090" : "http://prometheus:9090", login ? PERSES_PROMETHEUS_SECRET : undefined), [project, ...secured]);
    for (const [dashboard, json] of Object.entries(dashboards)) provision(`dashboard-${dashboard}`, "Dashboard", dashboard, json, [datasource]);
    return container;
  }

  /** Grafana from the configured image; with the platform's PostgreSQL, its store is there. */
  private grafana(name: string, args: MonitoringArgs, grafana: NonNullable<MonitoringConfig["grafana"]>, prometheus: Container, provisioning: docker.Volume, dashboardSpec: DashboardSpec) {
    const labels = { [CLUSTER_LABEL]: args.cluster };
    const data = clusterVolume(`${name}-grafana-data`, args.cluster, "grafana-data", { parent: this, protect: !!args.protect });
    const datasource = args.tls && this.webLogin
      ? pulumi.secret(pulumi.all([this.webLogin.password, args.tls.trust]).apply(([password, ca]) =>
        renderGrafanaDatasources("https://prometheus:9090", { user: PROMETHEUS_USER, password, ca })))
      : undefined;
    const db = args.grafanaDatabase;
    // With a CA, Grafana checks PostgreSQL's certificate (it serves TLS only then) against this file.
    const databaseCa = db && args.tls ? { file: GRAFANA_DATABASE_CA, trust: args.tls.trust } : undefined;
    const files: [string, pulumi.Input<string>][] = [
      ["datasources/hyperscaler.yml", datasource ?? renderGrafanaDatasources("http://prometheus:9090")],
      ["dashboards/hyperscaler.yml", renderGrafanaDashboardProvider()],
      ...Object.entries(renderGrafanaDashboards(args.cluster, dashboardSpec)).map(([file, json]) =>
        [`${path.relative(GRAFANA_PROVISIONING_DIR, GRAFANA_DASHBOARDS_DIR)}/${file}`, json] as [string, pulumi.Input<string>]),
      ...(databaseCa ? [[databaseCa.file, databaseCa.trust] as [string, pulumi.Input<string>]] : []),
    ];
    const provisioned = files.map(([rel, content]) => containerCommand(`${name}-grafana-${rel.replace(/[/.]/g, "-")}`, {
      container: prometheus.name,
      create: [CMD.install, `${GRAFANA_STAGING_DIR}/${rel}`, "0644", "root:root"],
      stdin: content,
      triggers: [prometheus.id],
      engine: args.engine,
    }, { parent: this }));
    const env: Record<string, pulumi.Input<string>> = db ? {
      GF_DATABASE_TYPE: "postgres", GF_DATABASE_HOST: `${db.host}:${db.port}`, GF_DATABASE_NAME: db.database,
      GF_DATABASE_USER: db.user, GF_DATABASE_PASSWORD: db.password,
      ...(databaseCa ? { GF_DATABASE_SSL_MODE: "verify-full", GF_DATABASE_CA_CERT_PATH: `${GRAFANA_PROVISIONING_DIR}/${databaseCa.file}` } : {}),
    } : {};
    // Grafana reads its datasources at start: a new login or CA starts it again with them.
    if (datasource) env.HYPERSCALER_DATASOURCE_HASH = datasource.apply(contentHash);
    const container = hardenedContainer(`${name}-grafana`, {
      name: dockerNames(args.cluster).container("grafana"), image: grafana.image, hostname: "grafana", network: args.network,
      env: { ...env, GF_PATHS_PROVISIONING: GRAFANA_PROVISIONING_DIR, GF_ANALYTICS_REPORTING_ENABLED: "false", GF_ANALYTICS_CHECK_FOR_UPDATES: "false" },
      capabilities: [],
      volumes: [{ volume: provisioning.name, path: GRAFANA_PROVISIONING_DIR, readOnly: true }, { volume: data.name, path: "/var/lib/grafana" }],
      localPorts: grafana.port ? [{ host: grafana.port, container: 3000 }] : [],
      ...GRAFANA_SIZE,
      healthCommand: "wget -q -O /dev/null http://127.0.0.1:3000/api/health",
      labels: { ...labels, "hyperscaler.role": "grafana" },
      logs: args.engine?.logs,
    // A rotated database password changes env: Grafana is re-created with it (its state is in PostgreSQL).
    }, { parent: this, dependsOn: provisioned, additionalSecretOutputs: ["envs"] });
    return { container, trustInstalled: databaseCa ? provisioned[provisioned.length - 1] : undefined };
  }
}

/**
 * The dashboards as Perses resources, by name, each checked with percli against the plugins'
 * schemas (the ones the server loads) before anything is made: a panel a schema refuses
 * fails the preview, naming the dashboard and the reason.
 */
export function checkedDashboards(cluster: string, list: readonly Dashboard[]): Record<string, string> {
  const plugins = path.join(DASHBOARDS_BUILD, "plugins");
  const percli = path.join(DASHBOARDS_BUILD, "bin/percli");
  if (!fs.existsSync(percli) || !fs.existsSync(plugins)) {
    throw new Error(`hyperscaler:monitoring.dashboards: ${path.relative(process.cwd(), DASHBOARDS_BUILD)} is missing (Perses and its plugins, for the dashboard server's image): run \`bash scripts/setup.sh dashboards\`, then try again`);
  }
  const rendered = Object.fromEntries(list.map((d) => [d.name, renderPersesDashboard(cluster, d)]));
  // percli writes its list of loaded plugins into the plugin folder: a copy keeps the image's source as it is.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-dashboards-"));
  try {
    fs.cpSync(plugins, path.join(work, "plugins"), { recursive: true });
    for (const [dashboard, json] of Object.entries(rendered)) {
      const file = path.join(work, `${dashboard}.json`);
      fs.writeFileSync(file, json);
      const r = spawnSync(percli, ["lint", "-f", file, "--plugin.path", path.join(work, "plugins")], { encoding: "utf8" });
      if (r.status !== 0) {
        throw new Error(`hyperscaler:monitoring.dashboards: dashboard '${dashboard}' does not validate against Perses's schemas: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return rendered;
}
