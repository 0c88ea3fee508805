import * as fs from "node:fs";
import * as https from "node:https";
import * as aws4 from "aws4";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { cdiDeviceName, containerSizes, dockerNames, GpuSpec, gpuSpec, groupWorkstation, s3Endpoint, StackConfig } from "../config";
import { CLUSTER_LABEL, dockerSync } from "../docker";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import type { ClusterManifest } from "./manifest";

/** What the Docker host has: `docker info`'s NCPU and MemTotal. */
export interface HostCapacity { readonly cpus: number; readonly memoryMiB: number }

/**
 * Where the containers ask more than the host has, by config path, with the fix: one
 * container bigger than the host, or every container's CPUs or memory together beyond
 * `hyperscaler:overcommit`.
 */
export function sizeProblems(config: StackConfig, host: HostCapacity, workstation?: string): string[] {
  const problems: string[] = [];
  const sizes = containerSizes(config).filter((s) => s.workstation === workstation);
  const has = `the Docker host has ${host.cpus} CPUs and ${host.memoryMiB} MiB`;
  for (const path of [...new Set(sizes.map((s) => s.path))]) {
    const s = sizes.find((x) => x.path === path)!;
    if (s.cpus > host.cpus) problems.push(`hyperscaler:${path}.cpus: ${s.cpus} CPUs for ${s.container} but ${has}; give it at most ${host.cpus}`);
    if (s.memoryMiB > host.memoryMiB) problems.push(`hyperscaler:${path}.memoryMiB: ${s.memoryMiB} MiB for ${s.container} but ${has}; give it at most ${host.memoryMiB}`);
  }
  // By config path: "nodeGroups.cpu: 8 x 2" and the like, biggest first.
  const breakdown = (pick: (s: (typeof sizes)[number]) => number, unit: string, only = sizes) => {
    const byPath = new Map<string, { n: number; each: number }>();
    for (const s of only) byPath.set(s.path, { n: (byPath.get(s.path)?.n ?? 0) + 1, each: pick(s) });
    return [...byPath.entries()].sort((a, b) => b[1].n * b[1].each - a[1].n * a[1].each)
      .map(([p, { n, each }]) => (n > 1 ? `${p} ${n} x ${each}` : `${p} ${each}`) + unit).join(", ");
  };
  const cpus = sizes.reduce((n, s) => n + s.cpus, 0);
  if (cpus > host.cpus * config.overcommit.cpu) {
    problems.push(`hyperscaler:overcommit.cpu: the containers ask for ${cpus} CPUs together (${breakdown((s) => s.cpus, "")}), ` +
      `${config.overcommit.cpu > 1 ? `over ${config.overcommit.cpu} x ` : ""}the host's ${host.cpus}; lower counts or cpus, ` +
      `or let them share CPUs: pulumi config set --path hyperscaler:overcommit.cpu ${Math.ceil((cpus / host.cpus) * 10) / 10}`);
  }
  const memory = sizes.reduce((n, s) => n + s.memoryMiB, 0);
  if (memory > host.memoryMiB * config.overcommit.memory) {
    problems.push(`hyperscaler:overcommit.memory: the containers' memory limits add up to ${memory} MiB (${breakdown((s) => s.memoryMiB, " MiB")}), ` +
      `${config.overcommit.memory > 1 ? `over ${config.overcommit.memory} x ` : ""}the host's ${host.memoryMiB} MiB; lower counts or memoryMiB, ` +
      `or accept that they cannot all use their limit at once: pulumi config set --path hyperscaler:overcommit.memory ${Math.ceil((memory / host.memoryMiB) * 10) / 10}`);
  }
  return problems;
}

/**
 * What on the Docker host(s) stands in the way of this config, by config path, checked
 * before any resource is registered: an engine that does not answer, a missing base or
 * PostgreSQL image, GPU device or application container, or containers bigger than their
 * host, would otherwise fail an update halfway. On several workstations, each is checked
 * for what runs on it.
 */
export function hostProblems(config: StackConfig): string[] {
  if (!config.workstations) {
    return engineProblems(config, { dockerHost: config.dockerHost, at: "hyperscaler:dockerHost", groups: Object.keys(config.nodeGroups), platform: true, builds: true });
  }
  const platform = config.controller.workstation;
  const builder = config.buildWorkstation ?? platform;
  return Object.entries(config.workstations).flatMap(([ws, w]) => {
    const groups = Object.keys(config.nodeGroups).filter((g) => groupWorkstation(config, g) === ws);
    const runsCluster = ws === platform || groups.length > 0 || config.backupRepository?.workstation === ws;
    if (!runsCluster && ws !== builder) return [];
    // One that only builds gets no cluster network.
    const lan = runsCluster ? { network: dockerNames(config.clusterName).network, ...w, subnet: config.network!.subnet } : undefined;
    return engineProblems(config, { dockerHost: w.dockerHost, workstation: ws, at: `hyperscaler:workstations.${ws}.dockerHost`, groups, platform: ws === platform, builds: ws === builder, ...(lan ? { lan } : {}) })
      .map((p) => `workstation ${ws} (${w.dockerHost}): ${p}`);
  });
}

interface Engine {
  readonly dockerHost?: string;
  /** Its name in hyperscaler:workstations, when the cluster spans several. */
  readonly workstation?: string;
  /** The config path that sets dockerHost. */
  readonly at: string;
  /** The node groups placed on it. */
  readonly groups: readonly string[];
  /** Whether the controller (and PostgreSQL, monitoring, accounting) run on it. */
  readonly platform: boolean;
  /** Whether the role images are built on it (hyperscaler:buildWorkstation, else the controller's). */
  readonly builds: boolean;
  /** On several workstations: the cluster network it will have. */
  readonly lan?: { network: string; interface: string; addresses: string; subnet: string };
}

function engineProblems(config: StackConfig, engine: Engine): string[] {
  const problems: string[] = [];
  const docker = (...args: string[]) => dockerSync(args, engine.dockerHost);
  const host = engine.dockerHost ?? process.env.DOCKER_HOST;
  // The base image is needed where role images are built; other workstations get copies.
  const r = engine.builds ? docker("image", "inspect", "--format", "{{.Id}}", config.baseImage) : docker("version", "--format", "{{.Server.Version}}");
  if (r.error) return [`cannot run docker (${r.error.message}); run scripts/setup.sh, which installs and starts it`];
  if (r.status !== 0 && engine.builds && /no such image|not found/i.test(r.stderr)) {
    problems.push(`hyperscaler:baseImage: image '${config.baseImage}' is not on the Docker host; ` +
      "run scripts/setup.sh (it makes hyperscaler/debian-base:trixie), or `docker pull debian:trixie-slim` and set that, " +
      "or fix the name with: pulumi config set hyperscaler:baseImage <image>");
  } else if (r.status !== 0) {
    const why = r.stderr.trim().split("\n").pop();
    return [engine.workstation
      ? `${engine.at}: the Docker engine did not answer (${why}); start it (or its sshd), or fix the address with: pulumi config set --path ${engine.at} <url>`
      : engine.dockerHost
        ? `hyperscaler:dockerHost: the Docker engine at ${engine.dockerHost} did not answer (${why}); start it, or fix the address with: pulumi config set hyperscaler:dockerHost <url>`
        : `the Docker engine did not answer (${why}); run scripts/setup.sh, which starts it`];
  }
  const info = docker("info", "--format", "{{.NCPU}} {{.MemTotal}}");
  const [ncpu, memBytes] = info.stdout.trim().split(" ").map(Number);
  if (info.status === 0 && ncpu > 0 && memBytes > 0) problems.push(...sizeProblems(config, { cpus: ncpu, memoryMiB: Math.floor(memBytes / 2 ** 20) }, engine.workstation));
  if (engine.lan) problems.push(...lanProblems(engine.lan, engine.workstation!, docker));
  // Device paths are the host's own only when the engine is local.
  const local = !host || host.startsWith("unix://");
  for (const name of engine.groups) {
    const group = config.nodeGroups[name];
    const gpus = group.gpus && gpuSpec(group.gpus);
    // The toolkit and CDI probes run the base image: where it is missing, that is the problem to report.
    if (gpus) problems.push(...gpuProblems(`hyperscaler:nodeGroups.${name}.gpus`, gpus, { local, baseImage: engine.builds && r.status === 0 ? config.baseImage : undefined, docker }));
  }
  // An official PostgreSQL image is used as it is where images are built: no pull in the middle of an update.
  const pgImage = config.postgres?.image;
  if (engine.builds && pgImage && docker("image", "inspect", pgImage).status !== 0) {
    problems.push(`hyperscaler:postgres.image: image '${pgImage}' is not on the Docker host; run \`docker pull ${pgImage}\` first, ` +
      "or remove postgres.image to use Debian's postgresql-17 on the base image");
  }
  if (!engine.platform) return problems;
  // The data volumes' versions are read with the base image, where it is (a controller's
  // engine that does not build may not have it; its volumes are then new, or adopted).
  if (r.status === 0 && (engine.builds || docker("image", "inspect", config.baseImage).status === 0)) problems.push(...dataProblems(config, docker));
  if (r.status === 0) problems.push(...portProblems(config, docker, local));
  // Applications that get rotated passwords must be there to receive them.
  for (const [app, a] of Object.entries(config.postgres?.applications ?? {})) {
    const state = docker("inspect", "--format", "{{.State.Running}}", a.container);
    if (state.stdout.trim() !== "true") {
      problems.push(`hyperscaler:postgres.applications.${app}.container: container '${a.container}' is ${state.status === 0 ? "not running" : "not on the Docker host"}; ` +
        "start it first (it receives the role's password), or remove the application from the config");
    }
  }
  return problems;
}

/** The ports the config publishes on the controller's engine (127.0.0.1), by config path. */
export function publishedPorts(config: StackConfig): { path: string; port: number }[] {
  const m = config.monitoring;
  return [
    { path: "postgres.publishPort", port: config.postgres?.publishPort },
    { path: "monitoring.prometheus.port", port: m?.prometheus.port },
    { path: "monitoring.alertmanager.port", port: m?.alertmanager.port },
    { path: "monitoring.dashboards.port", port: m?.dashboards?.port },
    { path: "monitoring.logs.port", port: m?.logs?.port },
    { path: "monitoring.grafana.port", port: m?.grafana?.port },
  ].filter((p): p is { path: string; port: number } => typeof p.port === "number");
}

/**
 * A published port another stack's container or another program holds: the update would
 * fail halfway ("port is already allocated") with containers made. The cluster's own
 * containers may hold theirs. A program is seen only where the engine is this machine's.
 */
function portProblems(config: StackConfig, docker: (...args: string[]) => SpawnSyncReturns<string>, local: boolean): string[] {
  const ports = publishedPorts(config);
  const byPort = new Map<number, string[]>();
  for (const p of ports) byPort.set(p.port, [...(byPort.get(p.port) ?? []), p.path]);
  const problems = [...byPort].filter(([, paths]) => paths.length > 1)
    .map(([port, paths]) => `hyperscaler:${paths[1]}: port ${port} is also hyperscaler:${paths[0]}'s; give each its own`);
  const fix = (path: string) => `choose another: pulumi config set --path hyperscaler:${path} <port>${path.startsWith("monitoring.") ? " (or false: none)" : ""}`;
  for (const { path, port } of ports) {
    const holders = docker("ps", "--filter", `publish=${port}`, "--format", `{{.Names}}\t{{.Label "${CLUSTER_LABEL}"}}`).stdout
      .trim().split("\n").filter(Boolean).map((l) => l.split("\t"));
    const other = holders.find(([, cluster]) => cluster !== config.clusterName);
    if (other) problems.push(`hyperscaler:${path}: port ${port} is held by container '${other[0]}'${other[1] ? ` (cluster ${other[1]})` : ""}; ${fix(path)}`);
    else if (holders.length === 0 && local) {
      const held = portHolder(port);
      if (held) problems.push(`hyperscaler:${path}: port ${port} on 127.0.0.1 is held by ${held} on this host; ${fix(path)}`);
    }
  }
  return problems;
}

/** What holds 127.0.0.1:PORT on this machine (a program, by name where `ss` tells), or undefined when it is free. */
function portHolder(port: number): string | undefined {
  const probe = spawnSync(process.execPath, ["-e",
    `require("net").createServer().once("error", (e) => { console.log(e.code); process.exit(1); }).listen(${port}, "127.0.0.1", function () { this.close(); })`],
  { encoding: "utf8", timeout: 10_000 });
  if (probe.status === 0) return undefined;
  const ss = spawnSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
  const name = /users:\(\("([^"]+)",pid=(\d+)/.exec(ss.stdout ?? "");
  return name ? `program ${name[1]} (pid ${name[2]})` : `another program (${probe.stdout.trim() || "in use"})`;
}

/**
 * Whether the workstation's engine can make the cluster's macvlan network: the interface
 * must be there, and the range free. Tried with a throwaway network (nothing else is
 * made), only while the cluster's network does not exist there yet.
 */
function lanProblems(lan: NonNullable<Engine["lan"]>, ws: string, docker: (...args: string[]) => SpawnSyncReturns<string>): string[] {
  if (docker("network", "inspect", lan.network).status === 0) return [];
  const probe = `${lan.network}-preflight`;
  const r = docker("network", "create", "--driver", "macvlan", "-o", `parent=${lan.interface}`, "--subnet", lan.subnet, "--ip-range", lan.addresses, probe);
  if (r.status === 0) {
    docker("network", "rm", probe);
    return [];
  }
  const why = (r.stderr || r.stdout).trim().split("\n")[0].replace(/^Error response from daemon: /, "");
  return [`hyperscaler:workstations.${ws}.interface: the engine cannot make the cluster's network on '${lan.interface}' with ${lan.addresses} (${why}); ` +
    `name the interface that workstation has on the LAN (ip -br link on it lists them), or give it addresses no other network there uses`];
}

/** What this release's servers read; data older than this is moved by the upgrade procedure, never started on. */
export const DATA_RELEASE = {
  /** SLURM_PROTOCOL_VERSION in slurmctld's state files: 24.11 reads 23.02 (39 << 8) and later. */
  slurmStateMin: 39 << 8,
  slurm: "24.11",
  postgres: 17,
  /** The MariaDB that last opened a data volume holding SLURM's accounting database (10.x: SLURM 22.05's). */
  mariadbMin: 11,
} as const;
export const UPGRADE_GUIDE = "docs/operations/maintenance.md#upgrade-a-stack-from-debian-12";

/** What one look into the stack's existing data volumes found: `docker run` of the base image, each mounted read-only. */
export interface DataVersions { slurmState?: number; postgres?: number; mariadb?: string }

/**
 * Data written by an older release, by volume, with the procedure that moves it: SLURM
 * 24.11 would refuse 22.05's state (or, started with -i, drop it) and its accounting
 * database, and PostgreSQL 17 cannot open 15's data directory. Found before anything is
 * changed, so nothing is touched.
 */
export function dataVersionProblems(cluster: string, found: DataVersions): string[] {
  const problems: string[] = [];
  const stay = `nothing was changed; move it with ${UPGRADE_GUIDE}`;
  const volume = dockerNames(cluster).volume;
  if (found.slurmState !== undefined && found.slurmState < DATA_RELEASE.slurmStateMin) {
    problems.push(`volume ${volume("slurmctld-state")}: slurmctld state of an older SLURM (protocol ${found.slurmState >> 8}.x, SLURM 22.05 or before) ` +
      `that SLURM ${DATA_RELEASE.slurm} cannot read; ${stay}`);
  }
  if (found.postgres !== undefined && found.postgres !== DATA_RELEASE.postgres) {
    problems.push(`volume ${volume("postgres-data")}: a PostgreSQL ${found.postgres} data directory, which PostgreSQL ${DATA_RELEASE.postgres} cannot open; ${stay}`);
  }
  if (found.mariadb !== undefined && Number(found.mariadb.split(".")[0]) < DATA_RELEASE.mariadbMin) {
    problems.push(`volume ${volume("mariadb-data")}: MariaDB ${found.mariadb} data holding SLURM 22.05's accounting database, which slurmdbd ${DATA_RELEASE.slurm} cannot convert; ${stay}`);
  }
  return problems;
}

/** Reads the stack's data volumes (the one reader the upgrade script uses too). */
const DATA_VERSIONS_SCRIPT = path.resolve(__dirname, "../../scripts/lib/data-versions.sh");

/** Reads the versions out of the stack's data volumes that exist (one throwaway container, no network). */
function dataProblems(config: StackConfig, docker: (...args: string[]) => SpawnSyncReturns<string>): string[] {
  const cluster = config.clusterName;
  const volume = dockerNames(cluster).volume;
  const volumes = { slurm: volume("slurmctld-state"), postgres: volume("postgres-data"), mariadb: volume("mariadb-data") };
  const present = Object.entries(volumes).filter(([, v]) => docker("volume", "inspect", v).status === 0);
  if (present.length === 0) return [];
  const r = docker("run", "--rm", "--pull", "never", "--network", "none", ...present.flatMap(([k, v]) => ["-v", `${v}:/d/${k}:ro`]),
    "--entrypoint", "sh", config.baseImage, "-c", fs.readFileSync(DATA_VERSIONS_SCRIPT, "utf8"));
  if (r.status !== 0) return [`the stack's data volumes (${present.map(([, v]) => v).join(", ")}) could not be read to check their versions: ${(r.stderr || r.stdout).trim().split("\n")[0]}`];
  const line = (k: string) => new RegExp(`^${k} (\\S+)$`, "m").exec(r.stdout)?.[1];
  const slurm = line("slurm"), postgres = line("postgres");
  return dataVersionProblems(cluster, {
    slurmState: slurm !== undefined ? Number(slurm) : undefined,
    postgres: postgres !== undefined ? Number(postgres) : undefined,
    // MariaDB itself upgrades in place: only SLURM 22.05's accounting database in it is a problem.
    mariadb: /^mariadb-accounting$/m.test(r.stdout) ? line("mariadb") : undefined,
  });
}

/**
 * Whether the Docker host can give a group's nodes their GPUs the way `access` says:
 * `devices`: the files exist (checked where the engine is this machine); `toolkit` and
 * `cdi`: a throwaway container gets the GPUs (the toolkit, or the CDI spec and an engine
 * that reads it, and the GPUs themselves must be there).
 */
function gpuProblems(at: string, gpus: GpuSpec, host: { local: boolean; baseImage?: string; docker: (...args: string[]) => SpawnSyncReturns<string> }): string[] {
  const tryContainer = (image: string, ...flags: string[]) => host.docker("run", "--rm", "--pull", "never", "--network", "none", ...flags, "--entrypoint", "true", image);
  const why = (r: SpawnSyncReturns<string>) => (r.stderr || r.stdout).trim().split("\n")[0].replace(/^docker: /, "");
  switch (gpus.access) {
    case "devices": {
      if (!host.local) return [];
      const missing = (paths: string[]) => paths.filter((p) => !fs.existsSync(p));
      const gpuFiles = missing(gpus.devices.slice(0, gpus.count).map((d) => d.host));
      const control = missing(gpus.devices.slice(gpus.count).map((d) => d.host));
      const driver = missing(gpus.driverFiles.map((f) => f.host));
      return [
        ...(gpuFiles.length ? [`${at}.hostDevices: ${gpuFiles.join(", ")} not on this host; list the GPU device files the nodes should get (ls /dev/nvidia*) or their numbers in ${at}.ids, or remove gpus from the group`] : []),
        ...(control.length ? [`${at}.controlDevices: ${control.join(", ")} not on this host; CUDA needs the driver's shared devices (nvidia-modprobe -u -c=0 makes nvidia-uvm's), or list the ones the host has`] : []),
        ...(driver.length ? [`${at}.driverFiles: ${driver.join(", ")} not on this host; scripts/gpu-driver-files.sh lists this host's driver files`] : []),
      ];
    }
    case "toolkit": {
      if (!host.baseImage) return [];
      const r = tryContainer(host.baseImage, "--gpus", `device=${gpus.ids.join(",")}`);
      return r.status === 0 ? [] : [`${at}.access: the Docker host cannot give a container GPUs ${gpus.ids.join(",")} with the NVIDIA container toolkit (${why(r)}); ` +
        "install the toolkit there (nvidia-ctk runtime configure --runtime=docker, then restart dockerd), fix ids, or use access: devices"];
    }
    case "cdi": {
      const specProblems = host.local ? cdiSpecProblems(CDI_SPEC_DIRS, gpus.ids.map(cdiDeviceName)) : [];
      if (specProblems.length) return [`${at}.ids: ${specProblems.join("; ")}; generate the spec with nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml, or fix ids`];
      const version = host.docker("version", "--format", "{{.Server.Version}}").stdout.trim();
      if (Number(version.split(".")[0]) < 25) {
        return [`${at}.access: CDI devices need Docker Engine 25 or newer with CDI on; this engine is ${version}: upgrade it, or use access: toolkit or devices`];
      }
      if (!host.baseImage) return [];
      const r = tryContainer(host.baseImage, ...gpus.ids.flatMap((id) => ["--device", cdiDeviceName(id)]));
      return r.status === 0 ? [] : [`${at}.access: the Docker host cannot give a container the CDI devices ${gpus.ids.map(cdiDeviceName).join(", ")} (${why(r)}); ` +
        "turn CDI on in dockerd (\"features\": {\"cdi\": true} before Engine 28), generate the spec with nvidia-ctk cdi generate, or use access: toolkit or devices"];
    }
  }
}

/** Where Docker reads CDI specs unless its cdi-spec-dirs says otherwise. */
export const CDI_SPEC_DIRS = ["/etc/cdi", "/var/run/cdi"];

/**
 * The CDI device names (`nvidia.com/gpu=0`) that no spec in `dirs` defines. A spec is a
 * YAML or JSON file with a `kind` and `devices[].name`.
 */
export function cdiSpecProblems(dirs: readonly string[], names: readonly string[]): string[] {
  const defined = new Set<string>();
  const files = dirs.flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => path.join(d, f)) : []));
  for (const file of files) {
    try {
      const spec = parseYaml(fs.readFileSync(file, "utf8")) as { kind?: string; devices?: { name?: string }[] };
      for (const device of spec?.devices ?? []) if (spec.kind && device?.name) defined.add(`${spec.kind}=${device.name}`);
    } catch (e) {
      return [`the CDI spec ${file} does not parse (${(e as Error).message.split("\n")[0]})`];
    }
  }
  const missing = names.filter((n) => !defined.has(n));
  if (!missing.length) return [];
  return [`no CDI spec in ${dirs.join(" or ")} defines ${missing.join(", ")}` + (defined.size ? ` (defined: ${[...defined].sort().join(", ")})` : "")];
}

/**
 * Rotation epochs that went backwards against the stack's last manifest, each with the
 * value that would rotate again: going back would not restore an old secret, only hide
 * a rotation, so it is refused before anything changes.
 */
export function epochProblems(config: StackConfig, previous: ClusterManifest | undefined): string[] {
  if (!previous) return [];
  const problems: string[] = [];
  const check = (path: string, was: number | undefined, now: number) => {
    if (was !== undefined && now < was) problems.push(`hyperscaler:${path} went backwards (${was} -> ${now}); epochs only grow: set it to ${was + 1} to rotate again`);
  };
  check("rotation.mungeKeyEpoch", previous.mungeKey?.epoch, config.rotation.mungeKeyEpoch);
  for (const [role, was] of Object.entries(previous.postgres?.passwordEpochs ?? {})) {
    check(`rotation.postgresPasswordEpochs.${role}`, was, config.rotation.postgresPasswordEpochs[role] ?? 0);
  }
  check("rotation.pitrKeyEpoch", previous.postgres?.pitrKeyEpoch, config.rotation.pitrKeyEpoch);
  check("rotation.accountingPasswordEpoch", previous.accounting?.passwordEpoch, config.rotation.accountingPasswordEpoch);
  check("rotation.caEpoch", previous.tls?.caEpoch, config.rotation.caEpoch);
  check("rotation.certificatesEpoch", previous.tls?.certificatesEpoch, config.rotation.certificatesEpoch);
  check("rotation.prometheusPasswordEpoch", previous.monitoring?.webPasswordEpoch, config.rotation.prometheusPasswordEpoch);
  return problems;
}

/** How long the bucket's preflight waits for an answer. */
const S3_PREFLIGHT_TIMEOUT_MS = 10_000;
/** TLS errors that mean the endpoint's certificate is not trusted (a CA to give in caFile). */
const UNTRUSTED_CERTIFICATE = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE)$/;

/**
 * What stands in the way of the S3 bucket of hyperscaler:backupRepository, by config path,
 * checked from the machine that runs pulumi before any resource is registered: the key pair
 * in plain text, a CA file that cannot be read, an endpoint that does not answer over HTTPS
 * or whose certificate is not trusted, a bucket that is not there or refuses the key pair
 * (a signed HEAD of the bucket, as every S3 client sends).
 */
export async function s3Problems(config: StackConfig, isSecret: (key: string) => boolean): Promise<string[]> {
  const s3 = config.backupRepository?.s3;
  if (!s3) return [];
  const at = "hyperscaler:backupRepository.s3";
  if (!isSecret("hyperscaler:backupRepository")) {
    return [`${at}.secretAccessKey: is in plain text in the stack's config; set the key pair with --secret: ` +
      `pulumi config set --secret --path '${at}.secretAccessKey' <key> (and the same for accessKeyId)`];
  }
  let ca: string | undefined;
  if (s3.caFile) {
    try {
      ca = fs.readFileSync(s3.caFile, "utf8");
    } catch (e) {
      return [`${at}.caFile: cannot read ${s3.caFile} (${(e as NodeJS.ErrnoException).code}): give the PEM file, on this machine, with the CA that signed ${s3.endpoint}'s certificate`];
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) return [`${at}.caFile: ${s3.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`];
  }
  const { host, port } = s3Endpoint(s3.endpoint);
  const hostname = s3.uriStyle === "host" ? `${s3.bucket}.${host}` : host;
  const hostPort = port === 443 ? hostname : `${hostname}:${port}`;
  const signed = aws4.sign({
    host: hostPort, path: s3.uriStyle === "host" ? "/" : `/${s3.bucket}`,
    method: "HEAD", service: "s3", region: s3.region,
  }, { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
  const answer = await new Promise<{ status: number; bucketRegion?: string } | { error: NodeJS.ErrnoException }>((resolve) => {
    const request = https.request({
      hostname, port, path: signed.path, method: "HEAD", headers: signed.headers as Record<string, string>,
      ...(ca ? { ca } : {}), timeout: S3_PREFLIGHT_TIMEOUT_MS,
    }, (response) => {
      response.resume();
      const region = response.headers["x-amz-bucket-region"];
      resolve({ status: response.statusCode ?? 0, ...(typeof region === "string" ? { bucketRegion: region } : {}) });
    });
    request.on("timeout", () => request.destroy(Object.assign(new Error(`no answer in ${S3_PREFLIGHT_TIMEOUT_MS / 1000} s`), { code: "ETIMEDOUT" })));
    request.on("error", (error: NodeJS.ErrnoException) => resolve({ error }));
    request.end();
  });
  const url = `https://${hostPort}${signed.path}`;
  if ("error" in answer) {
    const { code, message } = answer.error;
    if (code && UNTRUSTED_CERTIFICATE.test(code)) {
      return [`${at}.caFile: ${s3.endpoint}'s certificate is not trusted (${code}): give the CA that signed it${s3.caFile ? ` (${s3.caFile} is not that CA)` : " (a PEM file on this machine)"}`];
    }
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return [`${at}.endpoint: the certificate at ${url} is not for ${hostname} (${message})`];
    if (code === "EPROTO" || /wrong version number|ssl3_get_record/i.test(message)) {
      const why = /wrong version number/i.test(message) ? "its answer to a TLS handshake is not TLS" : message.split("\n")[0];
      return [`${at}.endpoint: ${s3.endpoint} does not speak HTTPS (${why}); pgBackRest reaches S3 over TLS only`];
    }
    return [`${at}.endpoint: ${url} does not answer (${code ?? message}): is the address right, and does this machine (and the controller's workstation) reach it?`];
  }
  switch (answer.status) {
    case 200: return [];
    case 301: case 400: return answer.bucketRegion && answer.bucketRegion !== s3.region
      ? [`${at}.region: bucket '${s3.bucket}' is in ${answer.bucketRegion}, not ${s3.region}`]
      : [`${at}: HEAD ${url} answered ${answer.status}: check region and uriStyle (path for most self-hosted servers)`];
    case 403: return [`${at}.accessKeyId: the endpoint refuses the key pair for bucket '${s3.bucket}' (403): check accessKeyId and secretAccessKey, and the key's rights on the bucket`];
    case 404: return [`${at}.bucket: ${s3.endpoint} has no bucket '${s3.bucket}' (404): make it first (the stack does not create buckets)${s3.uriStyle === "host" ? ", or set uriStyle: path for a server that names buckets in the path" : ""}`];
    default: return [`${at}.endpoint: HEAD ${url} answered ${answer.status}`];
  }
}
