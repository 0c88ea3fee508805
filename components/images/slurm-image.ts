import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalImage } from "../docker";

/** The SLURM image's build context in this repository. */
export const SLURM_IMAGE_CONTEXT = path.resolve(__dirname, "../../images/slurm");

export interface SlurmImageArgs {
  /** Image every role derives from (config `baseImage`). */
  readonly baseImage: string;
  /** Local tag. */
  readonly tag: string;
}

/**
 * The one image for every SLURM role: Debian's slurm-wlm and munge on the configured
 * base, built on the Docker host and never pushed. Rebuilt when a file of its context
 * or the base changes.
 */
export class SlurmImage extends pulumi.ComponentResource {
  /** Image ID; containers use it, so a rebuilt image shows in preview as their replacement. */
  readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: SlurmImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:images:SlurmImage", name, {}, opts);
    const image = new LocalImage(`${name}-build`, {
      tag: args.tag,
      context: SLURM_IMAGE_CONTEXT,
      contextHash: hashFolder(SLURM_IMAGE_CONTEXT),
      buildArgs: { BASE_IMAGE: args.baseImage },
    }, { parent: this });
    this.imageId = image.imageId;
    this.registerOutputs({ imageId: this.imageId });
  }
}

/** Hash of every file's name and content under `dir`, in sorted order. */
export function hashFolder(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else h.update(path.relative(dir, p)).update("\0").update(fs.readFileSync(p)).update("\0");
    }
  };
  walk(dir);
  return "sha256:" + h.digest("hex").slice(0, 16);
}

