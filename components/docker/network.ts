import * as pulumi from "@pulumi/pulumi";
import { docker, dockerTry, isNotFound } from "./cli";

interface NetworkInputs { name: string; labels: Record<string, string> }

const provider: pulumi.dynamic.ResourceProvider<NetworkInputs, NetworkInputs> = {
  async create(inputs) {
    const labels = Object.entries(inputs.labels).sort().flatMap(([k, v]) => ["--label", `${k}=${v}`]);
    const id = await docker(["network", "create", "--driver", "bridge", ...labels, inputs.name]);
    return { id, outs: inputs };
  },
  async read(id, props) {
    const r = await dockerTry(["network", "inspect", "--format", "{{.Id}}", id]);
    if (isNotFound(r)) return { id: "" }; // gone: refresh drops it from state
    if (r.code !== 0) throw new Error(`docker network inspect ${id} failed: ${r.stderr.trim()}`);
    return { id, props: props! };
  },
  async diff(_id, olds, news) {
    const changed = olds.name !== news.name || JSON.stringify(olds.labels) !== JSON.stringify(news.labels);
    return { changes: changed, replaces: changed ? ["name"] : [], deleteBeforeReplace: true };
  },
  async delete(id) {
    const r = await dockerTry(["network", "rm", id]);
    if (r.code !== 0 && !isNotFound(r)) throw new Error(`docker network rm ${id} failed: ${r.stderr.trim()}`);
  },
};

export interface NetworkArgs {
  readonly name: pulumi.Input<string>;
  /** @default {} */
  readonly labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** A user-defined bridge network: nodes find each other by hostname; nothing is published. */
export class Network extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { labels: {}, ...args }, { deleteBeforeReplace: true, ...opts });
  }
}
