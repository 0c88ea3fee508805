import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface ImageCopyArgs {
  /** The image's ID on the engine that built it. */
  readonly imageId: pulumi.Input<string>;
  /** Its tag, which the copy gets too. */
  readonly tag: string;
  /** The engine that has it. @default - DOCKER_HOST or the local socket */
  readonly from?: string;
  /** The engine that needs it. */
  readonly to: string;
}

/**
 * A role image copied to another workstation's engine (`docker save | docker load`, over
 * Docker's own transport): built once, no registry, and the same image ID on every
 * workstation, so a rebuild shows as one change everywhere. Skipped where the engine has
 * it already. Returns the image ID, once it is there.
 */
export function copiedImage(name: string, args: ImageCopyArgs, opts?: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const copy = new command.local.Command(name, {
    interpreter: ["bash", "-c"],
    create: [
      "set -euo pipefail",
      'from=(docker); [ -n "${FROM:-}" ] && from=(docker -H "$FROM")',
      'if ! docker -H "$TO" image inspect "$IMAGE" >/dev/null 2>&1; then "${from[@]}" save "$TAG" | docker -H "$TO" load >/dev/null; fi',
      'docker -H "$TO" tag "$IMAGE" "$TAG"',
      // The tag may have moved on the source since: the copy must be the image asked for.
      'test "$(docker -H "$TO" image inspect --format "{{.Id}}" "$TAG")" = "$IMAGE" || { echo "the copy of $TAG on $TO is not $IMAGE" >&2; exit 1; }',
    ].join("\n"),
    environment: { IMAGE: args.imageId, TAG: args.tag, TO: args.to, ...(args.from ? { FROM: args.from } : {}) },
    triggers: [args.imageId, args.to],
  }, opts);
  return pulumi.all([copy.stdout, args.imageId]).apply(([, id]) => id);
}
