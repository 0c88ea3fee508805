import * as pulumi from "@pulumi/pulumi";
import { docker, dockerTry, isNotFound } from "./cli";

interface ImageInputs {
  tag: string; context: string; dockerfile: string; contextHash: string; buildArgs: Record<string, string>;
}
interface ImageOutputs extends ImageInputs { imageId: string }

/** Label naming what an image was built from: its context hash and build args. */
const SOURCE_LABEL = "hyperscaler.source";

async function build(i: ImageInputs): Promise<string> {
  // What the image is made of: context, build args, and the base image as it is now.
  const base = i.buildArgs.BASE_IMAGE ? (await dockerTry(["image", "inspect", "--format", "{{.Id}}", i.buildArgs.BASE_IMAGE])).stdout.trim() : "";
  const source = `${i.contextHash} ${base} ${JSON.stringify(Object.entries(i.buildArgs).sort())}`;
  // The tag already holds an image built from exactly that: skip the build (about a second
  // even when every layer is cached: the context is sent and each step checked).
  const existing = await dockerTry(["image", "inspect", "--format", `{{.Id}} {{index .Config.Labels "${SOURCE_LABEL}"}}`, i.tag]);
  const [id, ...label] = existing.stdout.trim().split(" ");
  if (existing.code === 0 && label.join(" ") === source) return id;
  const args = Object.entries(i.buildArgs).sort().flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
  await docker(["build", "--quiet", "--tag", i.tag, "--label", `${SOURCE_LABEL}=${source}`, "--file", i.dockerfile, ...args, i.context]);
  return docker(["image", "inspect", "--format", "{{.Id}}", i.tag]);
}

const provider: pulumi.dynamic.ResourceProvider<ImageInputs, ImageOutputs> = {
  async create(inputs) {
    const imageId = await build(inputs);
    return { id: inputs.tag, outs: { ...inputs, imageId } };
  },
  async read(id, props) {
    const r = await dockerTry(["image", "inspect", "--format", "{{.Id}}", id]);
    if (isNotFound(r)) return { id: "" }; // gone: refresh drops it from state
    if (r.code !== 0) throw new Error(`docker image inspect ${id} failed: ${r.stderr.trim()}`);
    return { id, props: { ...props!, imageId: r.stdout.trim() } };
  },
  async diff(_id, olds, news) {
    const keys: (keyof ImageInputs)[] = ["tag", "context", "dockerfile", "contextHash", "buildArgs"];
    const changed = keys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes: changed.length > 0, replaces: changed.includes("tag") ? ["tag"] : [] };
  },
  async update(_id, _olds, news) {
    return { outs: { ...news, imageId: await build(news) } };
  },
  // The image stays on the host: other stacks may use the tag, and a rebuild is cached anyway.
  async delete() {},
};

export interface LocalImageArgs {
  /** Local tag; never pushed anywhere. */
  readonly tag: pulumi.Input<string>;
  /** Build context folder. */
  readonly context: pulumi.Input<string>;
  /** Dockerfile path. */
  readonly dockerfile: pulumi.Input<string>;
  /** Hash of the context's files: a change rebuilds the image. */
  readonly contextHash: pulumi.Input<string>;
  /** @default {} */
  readonly buildArgs?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** An image built on the Docker host from a local context; `imageId` changes when its content does. */
export class LocalImage extends pulumi.dynamic.Resource {
  declare readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: LocalImageArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { buildArgs: {}, ...args, imageId: undefined }, opts);
  }
}
