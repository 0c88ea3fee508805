import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { docker, dockerTry, isNotFound } from "./cli";

export interface ContainerExecArgs {
  /** Container the commands run in (`docker exec -i`). */
  readonly container: pulumi.Input<string>;
  /** Command run when the resource is created, as argv. */
  readonly create: pulumi.Input<readonly string[]>;
  /** Command run when `stdin` or the commands change. @default - the create command */
  readonly update?: pulumi.Input<readonly string[]>;
  /**
   * Command run when the resource is deleted. A container that is already gone counts
   * as done. @default - nothing
   */
  readonly delete?: pulumi.Input<readonly string[]>;
  /** Input for the commands; pass secrets here, never in argv. @default "" */
  readonly stdin?: pulumi.Input<string>;
  /** Any change here replaces the resource: delete runs, then create. @default [] */
  readonly triggers?: pulumi.Input<readonly unknown[]>;
}

interface ExecInputs {
  container: string; create: string[]; update?: string[]; delete?: string[]; stdin?: string; triggers: unknown[];
}
/** State keeps a hash of stdin, never stdin itself, and what the last command printed. */
interface ExecOutputs extends Omit<ExecInputs, "stdin"> {
  stdinHash: string;
  stdout: string;
}

const hashOf = (s: string | undefined) => createHash("sha256").update(s ?? "").digest("hex");
/** Last lines of output are plenty for state and previews. */
const tail = (s: string) => s.trim().split("\n").slice(-20).join("\n");

async function exec(container: string, argv: readonly string[], stdin: string | undefined): Promise<string> {
  return docker(["exec", "--interactive", container, ...argv], stdin);
}

function outputs(i: ExecInputs, stdout: string): ExecOutputs {
  const { stdin, ...rest } = i;
  return { ...rest, stdinHash: hashOf(stdin), stdout: tail(stdout) };
}

const provider: pulumi.dynamic.ResourceProvider<ExecInputs, ExecOutputs> = {
  async create(inputs) {
    const stdout = await exec(inputs.container, inputs.create, inputs.stdin);
    return { id: `${inputs.container}:${hashOf(JSON.stringify(inputs.create)).slice(0, 12)}`, outs: outputs(inputs, stdout) };
  },
  async diff(_id, olds, news) {
    const replaces = ["container", "triggers"].filter((k) =>
      JSON.stringify((olds as unknown as Record<string, unknown>)[k]) !== JSON.stringify((news as unknown as Record<string, unknown>)[k]));
    const updates = JSON.stringify([olds.create, olds.update, olds.delete]) !== JSON.stringify([news.create, news.update, news.delete]) ||
      olds.stdinHash !== hashOf(news.stdin);
    return { changes: replaces.length > 0 || updates, replaces };
  },
  async update(_id, _olds, news) {
    const stdout = await exec(news.container, news.update ?? news.create, news.stdin);
    return { outs: outputs(news, stdout) };
  },
  async delete(_id, olds) {
    if (!olds.delete) return;
    const r = await dockerTry(["exec", olds.container, ...olds.delete]);
    if (r.code === 0 || isNotFound(r) || /is not running/.test(r.stderr)) return;
    throw new Error(`${olds.delete.join(" ")} in ${olds.container} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  },
};

/**
 * Commands run inside a container at create, update and delete: how files and keys are
 * delivered into running nodes (so a rotation never replaces a container) and how a node
 * is drained before its container goes. The stand-in for `command.local.Command` with
 * `docker exec`, until the components move onto the real providers (see README, 'Provider plugins').
 */
export class ContainerExec extends pulumi.dynamic.Resource {
  declare readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: ContainerExecArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { triggers: [], ...args, stdout: undefined, stdinHash: undefined }, opts);
  }
}
