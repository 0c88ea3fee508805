import * as pulumi from "@pulumi/pulumi";
import { docker, dockerTry, isNotFound } from "./cli";

/** Docker objects that are just a name, a driver and labels. */
type Kind = "network" | "volume";
interface NamedInputs { kind: Kind; name: string; driver: string; labels: Record<string, string> }

const provider: pulumi.dynamic.ResourceProvider<NamedInputs, NamedInputs> = {
  async create(inputs) {
    const labels = Object.entries(inputs.labels).sort().flatMap(([k, v]) => ["--label", `${k}=${v}`]);
    await docker([inputs.kind, "create", "--driver", inputs.driver, ...labels, inputs.name]);
    return { id: inputs.name, outs: inputs };
  },
  async read(id, props) {
    const r = await dockerTry([props!.kind, "inspect", id]);
    if (isNotFound(r)) return { id: "" }; // gone: refresh drops it from state
    if (r.code !== 0) throw new Error(`docker ${props!.kind} inspect ${id} failed: ${r.stderr.trim()}`);
    return { id, props: props! };
  },
  async diff(_id, olds, news) {
    const changed = (["kind", "name", "driver", "labels"] as const).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes: changed.length > 0, replaces: changed, deleteBeforeReplace: true };
  },
  async delete(id, olds) {
    const r = await dockerTry([olds.kind, "rm", id]);
    if (r.code !== 0 && !isNotFound(r)) throw new Error(`docker ${olds.kind} rm ${id} failed: ${r.stderr.trim()}`);
  },
};

export interface NamedObjectArgs {
  readonly name: pulumi.Input<string>;
  /** @default {} */
  readonly labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** A user-defined bridge network: nodes find each other by hostname; nothing is published. */
export class Network extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: NamedObjectArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { kind: "network", driver: "bridge", labels: {}, ...args }, { deleteBeforeReplace: true, ...opts });
  }
}

/** A named local volume: state that outlives the container using it (protect it in prod). */
export class Volume extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: NamedObjectArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { kind: "volume", driver: "local", labels: {}, ...args }, { deleteBeforeReplace: true, ...opts });
  }
}
