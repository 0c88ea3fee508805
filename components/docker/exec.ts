import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Engine } from "./engine";

/** Quotes one word for /bin/sh. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface ContainerCommandArgs {
  /** Container the commands run in (`docker exec -i`), by name or ID. */
  readonly container: pulumi.Input<string>;
  /** Command run when the resource is created, as argv. @default - nothing (not even a `docker exec`) */
  readonly create?: readonly string[];
  /** Command run when `stdin` or the commands change. @default - the create command */
  readonly update?: readonly string[];
  /** Command run when the resource is deleted; a container that is gone or stopped counts as done. @default - nothing */
  readonly delete?: readonly string[];
  /** Input for the commands: secrets go here (as secret Outputs), never in argv. @default "" */
  readonly stdin?: pulumi.Input<string>;
  /** Any change here replaces the resource (create runs again). @default [] */
  readonly triggers?: pulumi.Input<unknown>[];
  /** The engine the container runs on (its host as `DOCKER_HOST`). @default - DOCKER_HOST's engine */
  readonly engine?: Engine;
  /** More environment for the commands: a change runs the update, as any input's. @default {} */
  readonly environment?: Record<string, pulumi.Input<string>>;
  /** Another container (on its own engine) where the delete runs instead. @default - the same container */
  readonly deleteIn?: { readonly container: string; readonly engine: Engine };
}

/**
 * Commands run inside a running container at create, update and delete, through
 * `command.local.Command` and the docker CLI: how files and keys reach running nodes (so
 * a rotation replaces no container) and how a node is drained before its container goes.
 * A secret stdin stays encrypted in state; nothing the commands print is logged, only
 * shown in the error when one fails.
 */
export function containerCommand(name: string, args: ContainerCommandArgs, opts?: pulumi.CustomResourceOptions): command.local.Command {
  // Plain strings where the container's name is known (most are): an Output per command
  // line costs memory at a thousand nodes.
  const line = (f: (container: string) => string) =>
    typeof args.container === "string" ? f(shellQuote(args.container)) : pulumi.output(args.container).apply((c) => f(shellQuote(c)));
  const exec = (argv: readonly string[]) => line((c) => `docker exec -i ${c} ${argv.map(shellQuote).join(" ")}`);
  // Deleting from a container that is gone (removed by hand, or already replaced) or stopped is done.
  const running = `"$(docker inspect --format '{{.State.Running}}' "$c" 2>/dev/null)" = true`;
  const removeIn = (c: string) => `c=${c}; if [ ${running} ]; then docker exec "$c" ${args.delete!.map(shellQuote).join(" ")}; fi`;
  const remove = args.delete && (args.deleteIn ? `${dockerHostFor(args.deleteIn.engine, args.engine)}${removeIn(shellQuote(args.deleteIn.container))}` : line(removeIn));
  const environment = { ...(args.engine?.dockerHost ? { DOCKER_HOST: args.engine.dockerHost } : {}), ...args.environment };
  return new command.local.Command(name, {
    create: args.create ? exec(args.create) : "true",
    update: args.update && exec(args.update),
    delete: remove,
    stdin: args.stdin,
    triggers: args.triggers,
    environment: Object.keys(environment).length ? environment : undefined,
    logging: "none",
    addPreviousOutputInEnv: false,
  }, opts);
}

/** Shell that points `docker` at ENGINE from a command whose environment points it at FROM. */
function dockerHostFor(engine: Engine, from: Engine | undefined): string {
  if (engine.dockerHost) return `export DOCKER_HOST=${shellQuote(engine.dockerHost)}; `;
  return from?.dockerHost ? "unset DOCKER_HOST; " : "";
}
