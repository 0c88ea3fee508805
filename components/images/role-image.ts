import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalImage } from "../docker";

/** The build context of every role image: images/ in this repository. */
export const IMAGES_DIR = path.resolve(__dirname, "../../images");

/** Role images built from images/<role>/Dockerfile; images/common is shared by all. */
export type ImageRole = "slurm" | "postgres" | "monitoring";

export interface RoleImageArgs {
  readonly role: ImageRole;
  /** Image every role derives from (config `baseImage`). */
  readonly baseImage: string;
  /** Local tag. */
  readonly tag: string;
}

/**
 * A role image (Debian's packages on the configured base), built on the Docker host and
 * never pushed. Rebuilt when a file it is made from, or the base, changes.
 */
export class RoleImage extends pulumi.ComponentResource {
  /** Image ID; containers use it, so a rebuilt image shows in preview as their replacement. */
  readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: RoleImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // Was SlurmImage before the PostgreSQL image joined: the alias keeps existing stacks' image.
    const aliases = args.role === "slurm" ? [{ type: "hyperscaler:images:SlurmImage" }] : [];
    super("hyperscaler:images:RoleImage", name, {}, { ...opts, aliases: [...(opts?.aliases ?? []), ...aliases] });
    const image = new LocalImage(`${name}-build`, {
      tag: args.tag,
      context: IMAGES_DIR,
      dockerfile: path.join(IMAGES_DIR, args.role, "Dockerfile"),
      contextHash: imageSourceHash(args.role),
      buildArgs: { BASE_IMAGE: args.baseImage },
    }, { parent: this });
    this.imageId = image.imageId;
    this.registerOutputs({ imageId: this.imageId });
  }
}

/** Hash of every file's name and content under images/common and images/<role>, in sorted order. */
export function imageSourceHash(role: ImageRole): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else h.update(path.relative(IMAGES_DIR, p)).update("\0").update(fs.readFileSync(p)).update("\0");
    }
  };
  walk(path.join(IMAGES_DIR, "common"));
  walk(path.join(IMAGES_DIR, role));
  return "sha256:" + h.digest("hex").slice(0, 16);
}
