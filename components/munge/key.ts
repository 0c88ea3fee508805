import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { contentHash } from "../render/hash";

/** Characters in a MUNGE key: munged needs at least 32 bytes; 1024 is the size `mungekey` makes. */
export const MUNGE_KEY_BYTES = 1024;

export interface MungeKeyArgs {
  /** Rotation epoch from config: raising it makes a new key. @default 0 */
  readonly epoch?: number;
}

/**
 * The cluster's MUNGE key: random, secret in state and outputs, rotated by an epoch in
 * config (a keeper: a one-line diff in preview), with a fingerprint safe to show anywhere.
 * A `random.RandomPassword`: its ID is not the value (RandomBytes keeps its value as ID,
 * in clear in state).
 */
export class MungeKey extends pulumi.ComponentResource {
  /** The key file's content; secret. */
  readonly key: pulumi.Output<string>;
  /** `sha256:<16 hex>` of the key file; not secret. */
  readonly fingerprint: pulumi.Output<string>;
  readonly epoch: number;

  constructor(name: string, args: MungeKeyArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:munge:MungeKey", name, {}, opts);
    this.epoch = args.epoch ?? 0;
    const key = new random.RandomPassword(`${name}-bytes`, {
      length: MUNGE_KEY_BYTES,
      special: true,
      keepers: { epoch: String(this.epoch) },
    }, { parent: this });
    this.key = pulumi.secret(key.result);
    this.fingerprint = pulumi.unsecret(key.result.apply(contentHash));
    this.registerOutputs({ fingerprint: this.fingerprint, epoch: this.epoch });
  }
}
