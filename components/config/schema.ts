import { z } from "zod";

/** Config namespace of every key in Pulumi.<stack>.yaml. */
export const CONFIG_NAMESPACE = "hyperscaler";

/** A DNS label: what Docker, SLURM and MUNGE all accept as a host or cluster name. */
const dnsLabel = z
  .string()
  .regex(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a lowercase DNS label (a-z, 0-9, '-'; starts with a letter)");

/**
 * The stack config: the one source of truth for keys and defaults. Strict, so a typo
 * in Pulumi.<stack>.yaml is an error rather than a silently ignored key.
 */
export const stackConfigSchema = z.strictObject({
  /** Cluster name: prefixes container, network and volume names. */
  clusterName: dnsLabel,
  /**
   * Image every role image derives from. `hyperscaler/debian-base:bookworm` is what
   * scripts/setup.sh makes (debootstrap, or a tagged pull); `debian:bookworm-slim` works
   * where images can be pulled.
   * @default "hyperscaler/debian-base:bookworm"
   */
  baseImage: z.string().min(1).default("hyperscaler/debian-base:bookworm"),
  /** Protect stateful resources from deletion. @default false */
  protect: z.boolean().default(false),
  /** Refuse to run with the dev passphrase (prod). @default false */
  requireRealPassphrase: z.boolean().default(false),
});

export type StackConfig = z.infer<typeof stackConfigSchema>;
