import { spawnSync, SpawnSyncReturns } from "node:child_process";

/**
 * Runs the docker CLI while the program or a script runs (preflight checks, lookups), on
 * `dockerHost` when given (hyperscaler:dockerHost), else on DOCKER_HOST's engine.
 */
export function dockerSync(args: readonly string[], dockerHost?: string): SpawnSyncReturns<string> {
  return spawnSync("docker", [...args], { encoding: "utf8", env: dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env });
}
