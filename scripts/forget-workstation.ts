// forget-workstation --stack STACK --workstation NAME [--yes]
// For a workstation that is gone for good (a dead disk, a stolen machine): its engine will
// never answer, so an update can neither refresh nor delete what ran there, and stops.
// This drops from the stack's state what lived on that engine (its containers, volumes,
// network, and the commands whose delete would run there), keeping everything else and
// touching no engine. The nodes' memberships stay: the next update, with the workstation
// out of the config (or its node groups moved), drains and deletes those nodes from SLURM
// on the controller. Without --yes it prints what it would drop. The state before is kept
// in a backup file. docs/operations/scaling.md, "A workstation gone for good".
import { spawnSync } from "node:child_process";
import { cliArgs } from "./lib/args";
import { backUpState, dropFromState, ExportedState, importState, onEngine } from "./lib/state";

const usage = "forget-workstation --stack STACK --workstation NAME [--yes]";
const values = cliArgs(usage, { stack: { type: "string" }, workstation: { type: "string" }, yes: { type: "boolean", default: false } });
const { stack, workstation } = values;
if (!stack || !workstation) fail(`usage: ${usage}`, 64);

function fail(message: string, code = 1): never {
  console.error(`forget-workstation: ${message}`);
  process.exit(code);
}
function pulumi(...args: string[]): string {
  const r = spawnSync("pulumi", [...args, "--stack", stack!, "--non-interactive"], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) fail(`pulumi ${args.join(" ")} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

const configured = spawnSync("pulumi", ["config", "get", "hyperscaler:workstations", "--stack", stack, "--non-interactive"], { encoding: "utf8" });
const workstations: Record<string, { dockerHost?: string }> = configured.status === 0 ? JSON.parse(configured.stdout) : {};
const dockerHost = workstations[workstation]?.dockerHost;
if (!dockerHost) {
  fail(`hyperscaler:workstations.${workstation} is not in stack '${stack}''s config (defined: ${Object.keys(workstations).join(", ") || "none"}); ` +
    "forget a workstation before you take it out of the config", 65);
}
// Only for an engine that is gone: one that answers is removed by `up` (scaling.md, "Remove a workstation").
const alive = spawnSync("docker", ["-H", dockerHost, "version", "--format", "{{.Server.Version}}"], { encoding: "utf8", timeout: 30_000 });
if (alive.status === 0) {
  fail(`workstation ${workstation}'s engine (${dockerHost}) answers: take the workstation out of the config and run up, which drains its nodes and removes its containers`, 65);
}

const exported: ExportedState = JSON.parse(pulumi("stack", "export"));
const forgotten = onEngine(exported.deployment.resources ?? [], dockerHost);
const name = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
if (forgotten.length === 0) {
  console.log(`stack '${stack}' has nothing on workstation ${workstation} (${dockerHost}): nothing to forget`);
  process.exit(0);
}
console.log([
  `stack '${stack}': ${forgotten.length} resources on workstation ${workstation} (${dockerHost}), which does not answer, to drop from state:`,
  ...forgotten.map((r) => `  ${r.type} ${name(r.urn)}`),
].join("\n"));
if (!values.yes) {
  console.log("dry run: nothing changed; run again with --yes to forget them");
  process.exit(0);
}
backUpState(stack, exported, `forgetting-${workstation}`);
try {
  importState(stack, dropFromState(exported, forgotten.map((r) => r.urn)));
} catch (e) {
  fail((e as Error).message);
}
console.log(`forgot ${forgotten.length} resources of workstation ${workstation}; now take it out of the config (or move its node groups) and run up`);
