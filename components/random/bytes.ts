import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "node:crypto";
import { contentHash } from "../render/hash";

interface BytesInputs { length: number; epoch: number; epochPath: string }
interface BytesOutputs extends BytesInputs { base64: string; fingerprint: string }

const provider: pulumi.dynamic.ResourceProvider<BytesInputs, BytesOutputs> = {
  async check(olds, news) {
    // Going back to an old epoch would not restore the old key, only hide the rotation.
    if (olds && typeof olds.epoch === "number" && news.epoch < olds.epoch) {
      return { inputs: news, failures: [{ property: "epoch",
        reason: `${news.epochPath} went backwards (${olds.epoch} -> ${news.epoch}); epochs only grow: set it to ${olds.epoch + 1} to rotate again` }] };
    }
    return { inputs: news };
  },
  async create(inputs) {
    const bytes = randomBytes(inputs.length);
    return {
      id: contentHash(bytes),
      outs: { ...inputs, base64: bytes.toString("base64"), fingerprint: contentHash(bytes) },
    };
  },
  async diff(_id, olds, news) {
    const replaces = (["length", "epoch"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0 || olds.epochPath !== news.epochPath, replaces };
  },
  async update(_id, olds, news) {
    return { outs: { ...olds, epochPath: news.epochPath } };
  },
};

export interface SecretBytesArgs {
  /** Number of random bytes. */
  readonly length: number;
  /** Rotation epoch: raising it replaces the bytes; lowering it is refused. */
  readonly epoch: number;
  /** The config key the epoch comes from, named in the error when it goes backwards. */
  readonly epochPath: string;
}

/**
 * Random bytes kept only as a secret (`base64`) with a non-secret `fingerprint`; replaced
 * when `epoch` grows. The stand-in for `random.RandomBytes` with a `keepers` epoch,
 * until the components move onto the real providers (see README, 'Provider plugins').
 */
export class SecretBytes extends pulumi.dynamic.Resource {
  declare readonly base64: pulumi.Output<string>;
  declare readonly fingerprint: pulumi.Output<string>;

  constructor(name: string, args: SecretBytesArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, base64: undefined, fingerprint: undefined },
      { ...opts, additionalSecretOutputs: ["base64"] });
  }
}
