import { spawnSync, SpawnSyncReturns } from "node:child_process";
import type { ClusterManifest } from "../../components/cluster";
import { dockerSync } from "../../components/docker";
import { parseSqueue, RunningJob } from "../../components/report";

/** A deployed stack's manifest (`pulumi stack output manifest`); undefined when it has none yet. */
export function stackManifest(stack: string, cwd = process.cwd()): ClusterManifest | undefined {
  const r = spawnSync("pulumi", ["stack", "output", "manifest", "--json", "--stack", stack, "--non-interactive"], { cwd, encoding: "utf8" });
  if (r.status !== 0) return undefined;
  try { return JSON.parse(r.stdout) as ClusterManifest; } catch { return undefined; }
}

/**
 * `docker ARGS` on the engine that runs CONTAINER, as the manifest records it (on several
 * workstations that is not this machine's); a manifest from before engines were recorded
 * means the stack's one engine, `fallbackHost` (hyperscaler:dockerHost) or DOCKER_HOST's.
 */
export function dockerFor(manifest: ClusterManifest, container: string, args: readonly string[], opts: { input?: string; fallbackHost?: string } = {}): SpawnSyncReturns<string> {
  const host = manifest.engines ? manifest.engines[container]?.dockerHost : opts.fallbackHost;
  return dockerSync(args, host, opts.input);
}

/** The running jobs (`squeue` on the controller); undefined when the cluster does not answer. */
export function runningJobs(manifest: ClusterManifest | undefined, fallbackHost?: string): RunningJob[] | undefined {
  if (!manifest) return undefined;
  const r = dockerFor(manifest, manifest.controller.container, ["exec", manifest.controller.container, "squeue", "-h", "-o", "%i|%u|%j|%N"], { fallbackHost });
  return r.status === 0 ? parseSqueue(r.stdout) : undefined;
}
