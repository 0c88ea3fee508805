import * as fs from "node:fs";
import { containerSizes, gpuDevices, StackConfig } from "../config";
import { dockerSync } from "../docker";
import type { ClusterManifest } from "./cluster";

/** What the Docker host has: `docker info`'s NCPU and MemTotal. */
export interface HostCapacity { readonly cpus: number; readonly memoryMiB: number }

/**
 * Where the containers ask more than the host has, by config path, with the fix: one
 * container bigger than the host, or every container's CPUs or memory together beyond
 * `hyperscaler:overcommit`.
 */
export function sizeProblems(config: StackConfig, host: HostCapacity): string[] {
  const problems: string[] = [];
  const sizes = containerSizes(config);
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
 * What on the Docker host stands in the way of this config, by config path, checked
 * before any resource is registered: a missing base or PostgreSQL image, GPU device or
 * application container, or containers bigger than the host, would otherwise fail an
 * update halfway.
 */
export function hostProblems(config: StackConfig): string[] {
  const problems: string[] = [];
  // The engine the docker provider will use: hyperscaler:dockerHost, else DOCKER_HOST.
  const docker = (...args: string[]) => dockerSync(args, config.dockerHost);
  const host = config.dockerHost ?? process.env.DOCKER_HOST;
  const r = docker("image", "inspect", "--format", "{{.Id}}", config.baseImage);
  if (r.error) return [`cannot run docker (${r.error.message}); run scripts/setup.sh, which installs and starts it`];
  if (r.status !== 0 && /no such image|not found/i.test(r.stderr)) {
    problems.push(`hyperscaler:baseImage: image '${config.baseImage}' is not on the Docker host; ` +
      "run scripts/setup.sh (it makes hyperscaler/debian-base:bookworm), or `docker pull debian:bookworm-slim` and set that, " +
      "or fix the name with: pulumi config set hyperscaler:baseImage <image>");
  } else if (r.status !== 0) {
    return [config.dockerHost
      ? `hyperscaler:dockerHost: the Docker engine at ${config.dockerHost} did not answer (${r.stderr.trim()}); start it, or fix the address with: pulumi config set hyperscaler:dockerHost <url>`
      : `the Docker engine did not answer (${r.stderr.trim()}); run scripts/setup.sh, which starts it`];
  }
  const info = docker("info", "--format", "{{.NCPU}} {{.MemTotal}}");
  const [ncpu, memBytes] = info.stdout.trim().split(" ").map(Number);
  if (info.status === 0 && ncpu > 0 && memBytes > 0) problems.push(...sizeProblems(config, { cpus: ncpu, memoryMiB: Math.floor(memBytes / 2 ** 20) }));
  // Device paths are the host's own only when the engine is local.
  const local = !host || host.startsWith("unix://");
  for (const [name, group] of Object.entries(config.nodeGroups)) {
    const devices = group.gpus?.hostDevices ?? gpuDevices(group.gpus?.count ?? 0);
    const missing = local ? devices.filter((d) => !fs.existsSync(d)) : [];
    if (missing.length > 0) {
      problems.push(`hyperscaler:nodeGroups.${name}.gpus.hostDevices: ${missing.join(", ")} not on this host; ` +
        "list the GPU device files the nodes should get (ls /dev/nvidia*), or remove gpus from the group");
    }
  }
  // An official PostgreSQL image is used as it is on the host: no pull in the middle of an update.
  const pgImage = config.postgres?.image;
  if (pgImage && docker("image", "inspect", pgImage).status !== 0) {
    problems.push(`hyperscaler:postgres.image: image '${pgImage}' is not on the Docker host; run \`docker pull ${pgImage}\` first, ` +
      "or remove postgres.image to use Debian's postgresql-15 on the base image");
  }
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
  return problems;
}
