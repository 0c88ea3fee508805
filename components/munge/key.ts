import * as pulumi from "@pulumi/pulumi";
import { SecretBytes } from "../random";

/** Bytes in a MUNGE key: munged needs at least 32; 1024 is what `mungekey` makes. */
export const MUNGE_KEY_BYTES = 1024;

export interface MungeKeyArgs {
  /** Rotation epoch from config: raising it makes a new key. @default 0 */
  readonly epoch?: number;
  /** Config key of the epoch, for the error when it goes backwards. @default "hyperscaler:rotation.mungeKeyEpoch" */
  readonly epochPath?: string;
}

/**
 * The cluster's MUNGE key: random, secret in state and outputs, rotated by an epoch in
 * config (a one-line diff in preview), with a fingerprint safe to show anywhere.
 */
export class MungeKey extends pulumi.ComponentResource {
  /** The key, base64-encoded; secret. */
  readonly keyBase64: pulumi.Output<string>;
  /** `sha256:<16 hex>` of the key bytes; not secret. */
  readonly fingerprint: pulumi.Output<string>;
  readonly epoch: number;

  constructor(name: string, args: MungeKeyArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:munge:MungeKey", name, {}, opts);
    this.epoch = args.epoch ?? 0;
    const bytes = new SecretBytes(`${name}-bytes`, {
      length: MUNGE_KEY_BYTES,
      epoch: this.epoch,
      epochPath: args.epochPath ?? "hyperscaler:rotation.mungeKeyEpoch",
    }, { parent: this });
    this.keyBase64 = pulumi.secret(bytes.base64);
    this.fingerprint = bytes.fingerprint;
    this.registerOutputs({ keyBase64: this.keyBase64, fingerprint: this.fingerprint, epoch: this.epoch });
  }
}
