import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A resource of `pulumi stack export`, as far as the scripts read it. */
export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  custom?: boolean;
  provider?: string;
  parent?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  deletedWith?: string;
}

/** An exported deployment: `{ deployment: { resources } }` and whatever else Pulumi keeps there. */
export interface ExportedState { deployment: { resources?: StateResource[] } & Record<string, unknown> }

/** The state without the resources named, nor any reference to them from those that stay. */
export function dropFromState(exported: ExportedState, urns: Iterable<string>): ExportedState {
  const gone = new Set(urns);
  const resources = (exported.deployment.resources ?? []).filter((r) => !gone.has(r.urn)).map((r) => {
    const { deletedWith, ...rest } = r;
    return {
      ...rest,
      ...(deletedWith && !gone.has(deletedWith) ? { deletedWith } : {}),
      ...(r.dependencies ? { dependencies: r.dependencies.filter((d) => !gone.has(d)) } : {}),
      ...(r.propertyDependencies ? { propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.filter((d) => !gone.has(d))])) } : {}),
    };
  });
  return { ...exported, deployment: { ...exported.deployment, resources } };
}

/**
 * Keeps the state as it is in a file (secrets stay encrypted) before a script changes it,
 * and says how to put it back. Returns the file.
 */
export function backUpState(stack: string, exported: ExportedState, why: string): string {
  const dir = process.env.HYPERSCALER_MIGRATION_BACKUPS ?? path.join(os.homedir(), ".cache/hyperscaler/migrations");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stack}-before-${why}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, JSON.stringify(exported, null, 2), { mode: 0o600 });
  console.log(`state backed up to ${file} (restore: pulumi stack import --stack ${stack} --file ${file})`);
  return file;
}

/** Replaces the stack's state with EDITED (through a private temporary file). */
export function importState(stack: string, edited: ExportedState): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-state-"));
  const file = path.join(dir, "state.json");
  try {
    fs.writeFileSync(file, JSON.stringify(edited), { mode: 0o600 });
    const r = spawnSync("pulumi", ["stack", "import", "--file", file, "--stack", stack, "--non-interactive"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`pulumi stack import failed (exit ${r.status}): ${r.stderr.trim()}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The engine a command's delete runs on: the one it names (`export DOCKER_HOST=…;`, a delete run elsewhere), else its own. */
function deleteEngine(r: StateResource): string | undefined {
  const del = r.inputs?.delete;
  if (typeof del !== "string" || del === "") return undefined;
  const named = /^export DOCKER_HOST=(?:'([^']*)'|([^\s;]+)); /.exec(del);
  if (named) return named[1] ?? named[2];
  if (del.startsWith("unset DOCKER_HOST; ")) return "";
  const env = r.inputs?.environment as Record<string, unknown> | undefined;
  return typeof env?.DOCKER_HOST === "string" ? env.DOCKER_HOST : "";
}

/**
 * What of the state lives on the engine at DOCKER_HOST, so that an update that cannot reach
 * it can neither read nor delete it: every resource of a docker provider configured with that
 * host (containers, volumes, networks), and every command whose delete runs there. A
 * command that only ran there (a file's delivery) deletes nothing and stays: the next update
 * drops it; so does a node's membership, whose delete runs on the controller's engine.
 */
export function onEngine(resources: readonly StateResource[], dockerHost: string): StateResource[] {
  const providers = new Set(resources.filter((r) => r.type === "pulumi:providers:docker" && r.inputs?.host === dockerHost).map((r) => r.urn));
  const providerUrn = (ref: string | undefined) => ref?.slice(0, ref.lastIndexOf("::"));
  return resources.filter((r) => providers.has(providerUrn(r.provider) ?? "") ||
    (r.type === "command:local:Command" && deleteEngine(r) === dockerHost));
}
