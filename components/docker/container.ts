import * as pulumi from "@pulumi/pulumi";
import { docker, dockerTry, isNotFound } from "./cli";

/** Linux capabilities the daemons need (slurmd/slurmctld, munged, postgres: they switch users and own their files); everything else is dropped. */
export const DAEMON_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"] as const;

export interface ContainerArgs {
  /** Container name on the Docker host; also what `docker exec` targets. */
  readonly name: pulumi.Input<string>;
  /** Image ID (not a tag), so a rebuilt image shows as a change. */
  readonly image: pulumi.Input<string>;
  readonly hostname: pulumi.Input<string>;
  /** User-defined network the container joins; reachable by its hostname there. */
  readonly network: pulumi.Input<string>;
  /** @default {} */
  readonly env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Capabilities kept after dropping ALL. @default [] */
  readonly capabilities?: pulumi.Input<readonly string[]>;
  /** Host devices as `host-path:container-path`. @default [] */
  readonly devices?: pulumi.Input<readonly string[]>;
  /** Named volumes as `volume:container-path`. @default [] */
  readonly volumes?: pulumi.Input<readonly pulumi.Input<string>[]>;
  /** Ports published on the host's 127.0.0.1 only, as `host-port:container-port`. @default [] */
  readonly localPorts?: pulumi.Input<readonly string[]>;
  /** Memory limit, in MiB; updated in place. */
  readonly memoryMiB: pulumi.Input<number>;
  /** CPU limit; updated in place. */
  readonly cpus: pulumi.Input<number>;
  /** Shell command Docker runs to judge health. */
  readonly healthCommand: pulumi.Input<string>;
  /** @default {} */
  readonly labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** What the provider sees: ContainerArgs resolved. */
interface ContainerInputs {
  name: string; image: string; hostname: string; network: string; env: Record<string, string>;
  capabilities: string[]; devices: string[]; volumes: string[]; localPorts: string[]; memoryMiB: number; cpus: number; healthCommand: string; labels: Record<string, string>;
}
interface ContainerOutputs extends ContainerInputs {
  /** False when the container exists but is stopped (killed by hand, say); `up` starts it again. */
  running: boolean;
}

/** Inputs Docker can change on a running container; any other change replaces it. (An array: provider code is serialized, and a Set does not survive that.) */
const UPDATABLE = ["memoryMiB", "cpus"];
/** Defaults of the optional inputs, so state written before an input existed does not read as a change. */
const OPTIONAL_DEFAULTS = { env: {}, capabilities: [], devices: [], volumes: [], localPorts: [], labels: {} };

function runArgs(c: ContainerInputs): string[] {
  return [
    "run", "--detach", "--name", c.name, "--hostname", c.hostname, "--network", c.network,
    // Hardening: no privileges to gain, only the capabilities the role needs, ports on loopback only.
    "--cap-drop", "ALL", ...c.capabilities.flatMap((cap) => ["--cap-add", cap]),
    "--security-opt", "no-new-privileges",
    "--restart", "unless-stopped",
    "--memory", `${c.memoryMiB}m`, "--cpus", String(c.cpus),
    "--health-cmd", c.healthCommand, "--health-interval", "10s", "--health-start-period", "60s", "--health-retries", "3",
    ...c.devices.flatMap((d) => ["--device", d]),
    ...c.volumes.flatMap((v) => ["--volume", v]),
    ...c.localPorts.flatMap((p) => ["--publish", `127.0.0.1:${p}`]),
    ...Object.entries(c.env).sort().flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    ...Object.entries(c.labels).sort().flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    c.image,
  ];
}

const provider: pulumi.dynamic.ResourceProvider<ContainerInputs, ContainerOutputs> = {
  async create(inputs) {
    const id = await docker(runArgs(inputs));
    return { id, outs: { ...inputs, running: true } };
  },
  async read(id, props) {
    const r = await dockerTry(["inspect", "--format", "{{json .State.Running}}", id]);
    if (isNotFound(r)) return { id: "" }; // gone: refresh drops it from state
    if (r.code !== 0) throw new Error(`docker inspect ${id} failed: ${r.stderr.trim()}`);
    return { id, props: { ...props!, running: JSON.parse(r.stdout) === true } };
  },
  async diff(_id, oldOutputs, news) {
    const olds = { ...OPTIONAL_DEFAULTS, ...oldOutputs };
    const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((k) => k !== "running") as (keyof ContainerInputs)[];
    const changed = keys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    const replaces = changed.filter((k) => !UPDATABLE.includes(k));
    return { changes: changed.length > 0 || olds.running === false, replaces, deleteBeforeReplace: true };
  },
  async update(id, _olds, news) {
    await docker(["update", "--memory", `${news.memoryMiB}m`, "--memory-swap", `${news.memoryMiB}m`, "--cpus", String(news.cpus), id]);
    await docker(["start", id]);
    return { outs: { ...news, running: true } };
  },
  async delete(id) {
    // Stop first: SIGTERM lets slurmctld save its state and PostgreSQL shut down cleanly.
    await dockerTry(["stop", "--time", "30", id]);
    const r = await dockerTry(["rm", "--force", "--volumes", id]);
    if (r.code !== 0 && !isNotFound(r)) throw new Error(`docker rm ${id} failed: ${r.stderr.trim()}`);
  },
};

/**
 * A hardened container on the Docker host: every capability dropped but the ones asked
 * for, no-new-privileges, restart unless stopped, a healthcheck, no published port.
 * Changing the image, env, devices or capabilities replaces it (delete first: the name
 * is fixed); memory and CPU limits change in place. A stopped container is started again
 * by the next `up`; a removed one shows in `pulumi refresh` and is re-created.
 */
export class Container extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly running: pulumi.Output<boolean>;

  constructor(name: string, args: ContainerArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, {
      ...OPTIONAL_DEFAULTS, ...args,
      running: undefined,
    }, { deleteBeforeReplace: true, ...opts });
  }
}
