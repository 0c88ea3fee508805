import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { gpuDevices, StackConfig } from "../config";

/**
 * What on the Docker host stands in the way of this config, by config path, checked
 * before any resource is registered: a missing base or PostgreSQL image, GPU device or
 * application container would otherwise fail an update halfway.
 */
export function hostProblems(config: StackConfig): string[] {
  const problems: string[] = [];
  const r = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", config.baseImage], { encoding: "utf8" });
  if (r.error) return [`cannot run docker (${r.error.message}); run scripts/setup.sh, which installs and starts it`];
  if (r.status !== 0 && /no such image|not found/i.test(r.stderr)) {
    problems.push(`hyperscaler:baseImage: image '${config.baseImage}' is not on the Docker host; ` +
      "run scripts/setup.sh (it makes hyperscaler/debian-base:bookworm), or `docker pull debian:bookworm-slim` and set that, " +
      "or fix the name with: pulumi config set hyperscaler:baseImage <image>");
  } else if (r.status !== 0) {
    return [`the Docker engine did not answer (${r.stderr.trim()}); run scripts/setup.sh, which starts it`];
  }
  // Device paths are the host's own only when the engine is local.
  const local = !process.env.DOCKER_HOST || process.env.DOCKER_HOST.startsWith("unix://");
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
  if (pgImage && spawnSync("docker", ["image", "inspect", pgImage], { encoding: "utf8" }).status !== 0) {
    problems.push(`hyperscaler:postgres.image: image '${pgImage}' is not on the Docker host; run \`docker pull ${pgImage}\` first, ` +
      "or remove postgres.image to use Debian's postgresql-15 on the base image");
  }
  // Applications that get rotated passwords must be there to receive them.
  for (const [app, a] of Object.entries(config.postgres?.applications ?? {})) {
    const state = spawnSync("docker", ["inspect", "--format", "{{.State.Running}}", a.container], { encoding: "utf8" });
    if (state.stdout.trim() !== "true") {
      problems.push(`hyperscaler:postgres.applications.${app}.container: container '${a.container}' is ${state.status === 0 ? "not running" : "not on the Docker host"}; ` +
        "start it first (it receives the role's password), or remove the application from the config");
    }
  }
  return problems;
}
