import type { SpawnSyncReturns } from "node:child_process";

/**
 * Runs the docker CLI while the program or a script runs (preflight checks, lookups), on
 * `dockerHost` when given (hyperscaler:dockerHost), else on DOCKER_HOST's engine.
 */
export function dockerSync(args: readonly string[], dockerHost?: string, input?: string): SpawnSyncReturns<string> {
  // Required in the body: dynamic providers serialize this function, and Pulumi's closure
  // serializer turns a built-in's require into a require in the provider's process.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
  return spawnSync("docker", [...args], { encoding: "utf8", input, env: dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env });
}
