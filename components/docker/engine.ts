import type * as docker from "@pulumi/docker";

/**
 * A Docker engine the cluster runs containers on, built once from the config
 * (HyperscalerCluster): the workstation it is (with hyperscaler:workstations), the Docker
 * host URL that `docker exec` and the CLI use (none: DOCKER_HOST's engine), and the
 * provider that makes the containers there (none: the stack's own, the controller's engine).
 */
export interface Engine {
  readonly workstation?: string;
  readonly dockerHost?: string;
  readonly provider?: docker.Provider;
  /** Where this engine's containers send their output (hyperscaler:monitoring.logs). @default - Docker's json-file only */
  readonly logs?: LogShipping;
}

/**
 * The log store as one engine's dockerd reaches it (it sends from the host's network):
 * 127.0.0.1 and the published port on the store's own workstation, the store's LAN address
 * from the others.
 */
export interface LogShipping {
  readonly url: string;
  readonly cluster: string;
  /** The engine's workstation, as the lines' `source` field names it. */
  readonly workstation: string;
}

/** What the manifest records of an engine: where a container runs, for the scripts. */
export type EngineRecord = Pick<Engine, "workstation" | "dockerHost">;

export function engineRecord(engine: Engine): EngineRecord {
  return { ...(engine.workstation ? { workstation: engine.workstation } : {}), ...(engine.dockerHost ? { dockerHost: engine.dockerHost } : {}) };
}

/** Options that make a resource on ENGINE (its provider, where it has its own). */
export function onEngine(engine: Engine | undefined): { provider?: docker.Provider } {
  return engine?.provider ? { provider: engine.provider } : {};
}
