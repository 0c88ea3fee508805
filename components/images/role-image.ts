import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import { buildContext, IMAGES_DIR, ImageRole } from "./context";
import { copiedImage } from "./image-copy";

/**
 * Where a role image is built when not on the engine that runs it
 * (hyperscaler:buildWorkstation), and that engine, which gets a copy. Nothing: built on
 * the stack's engine, as it runs there.
 */
export interface ImageBuild {
  /** The building engine: its Docker host and provider (an Engine of components/docker). */
  readonly builtOn?: { readonly dockerHost?: string; readonly provider?: docker.Provider };
  /** The engine that runs it (its Docker host). */
  readonly deliverTo?: string;
}

export interface RoleImageArgs extends ImageBuild {
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
  /** Image ID, once the engine that runs it has it; containers use it, so a rebuilt image shows in preview as their replacement. */
  readonly imageId: pulumi.Output<string>;
  /** Where it was built, and its ID there (the same ID): where copies to other engines come from. */
  readonly source: { readonly dockerHost?: string; readonly imageId: pulumi.Output<string> };

  constructor(name: string, args: RoleImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // Was SlurmImage before the PostgreSQL image joined: the alias keeps existing stacks' image.
    const aliases = args.role === "slurm" ? [{ type: "hyperscaler:images:SlurmImage" }] : [];
    super("hyperscaler:images:RoleImage", name, {}, { ...opts, aliases: [...(opts?.aliases ?? []), ...aliases] });
    // Built by the engine through the provider, never pushed; kept on the host when the
    // stack goes (other stacks may use the tag, and a rebuild is cached anyway).
    const context = buildContext(args.role);
    const image = new docker.RemoteImage(`${name}-build`, {
      name: args.tag,
      build: {
        // Relative to the project (where Pulumi runs the providers): a checkout elsewhere
        // builds the same image and shows no change.
        context: path.relative(process.cwd(), context.dir) || ".",
        dockerfile: context.dockerfile,
        buildArgs: { BASE_IMAGE: args.baseImage },
        useLegacyBuilder: true,
      },
      // What the image is made of: a change rebuilds it (and replaces the containers on it).
      triggers: { source: imageSourceHash(args.role), base: args.baseImage },
      keepLocally: true,
    }, { parent: this, ...(args.builtOn?.provider ? { provider: args.builtOn.provider } : {}) });
    this.source = { ...(args.builtOn?.dockerHost ? { dockerHost: args.builtOn.dockerHost } : {}), imageId: image.imageId };
    this.imageId = args.builtOn && args.deliverTo !== undefined && args.deliverTo !== args.builtOn.dockerHost
      ? copiedImage(`${name}-copy`, { imageId: image.imageId, tag: args.tag, from: args.builtOn.dockerHost, to: args.deliverTo }, { parent: this })
      : image.imageId;
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
