// migrate-to-providers --stack STACK [--yes] [--reason TEXT]
// Moves a stack made before the components ran on the docker, command and random
// providers (its resources are `pulumi-nodejs:dynamic:Resource`) onto them, keeping the
// data: slurmctld's state volume, PostgreSQL's data and backup volumes and the metrics
// volumes are adopted as they are (`import`), never re-created. Without --yes it only
// prints the plan. With --yes: the state is exported to a backup file, the old resources
// are dropped from state (the components stay), the old containers are stopped cleanly
// (slurmctld saves its state, PostgreSQL shuts down) and removed with their network, and
// `scripts/up.sh` deploys the new resources around the kept volumes: a new MUNGE key and
// new PostgreSQL passwords, running batch jobs requeued. docs/operations/maintenance.md.
import { spawnSync, SpawnSyncOptions } from "node:child_process";
import * as path from "node:path";
import { ADOPT_VOLUMES_ENV, CLUSTER_LABEL } from "../components/docker";
import { dockerNames } from "../components/config/names";
import { cliArgs } from "./lib/args";
import { backUpState, dropFromState, ExportedState, importState } from "./lib/state";

const OLD_TYPE = "pulumi-nodejs:dynamic:Resource";
const usage = "migrate-to-providers --stack STACK [--yes] [--reason TEXT]";
const values = cliArgs(usage, { stack: { type: "string" }, yes: { type: "boolean", default: false }, reason: { type: "string" } });
const stack = values.stack;
if (!stack) fail(`usage: ${usage}`, 64);

function fail(message: string, code = 1): never {
  console.error(`migrate-to-providers: ${message}`);
  process.exit(code);
}
function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 30, ...opts, encoding: "utf8" });
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${String(r.stderr ?? "").trim()}`);
  return String(r.stdout ?? "");
}
const pulumi = (...args: string[]) => run("pulumi", [...args, "--stack", stack, "--non-interactive"]);
const docker = (...args: string[]) => run("docker", args);

const exported: ExportedState = JSON.parse(pulumi("stack", "export"));
const resources = exported.deployment?.resources ?? [];
const old = resources.filter((r) => r.type === OLD_TYPE);
if (old.length === 0) {
  console.log(`stack '${stack}' has no dynamic-provider resources: nothing to move`);
  process.exit(0);
}
const cluster = pulumi("config", "get", "hyperscaler:clusterName").trim();
const containers = docker("ps", "-a", "--filter", `label=${CLUSTER_LABEL}=${cluster}`, "--format", "{{.Names}}").split("\n").filter(Boolean).sort();
const volumes = docker("volume", "ls", "--filter", `label=${CLUSTER_LABEL}=${cluster}`, "--format", "{{.Name}}").split("\n").filter(Boolean).sort();
const network = dockerNames(cluster).network;

console.log([
  `stack '${stack}' (cluster '${cluster}'): ${old.length} dynamic-provider resources to move`,
  `  drop from state:  ${old.map((r) => r.urn.slice(r.urn.lastIndexOf("::") + 2)).join(", ")}`,
  `  stop and remove:  ${containers.join(", ") || "(no containers)"}; network ${network}`,
  `  adopt as they are: ${volumes.join(", ") || "(no volumes)"}`,
  "  then deploy the new resources: a new MUNGE key and new PostgreSQL passwords; running batch jobs are requeued",
].join("\n"));
if (!values.yes) {
  console.log("dry run: nothing changed; run again with --yes to move");
  process.exit(0);
}

// 1. A backup of the state as it is, to put back with `pulumi stack import`.
backUpState(stack, exported, "providers");

// 2. The state without the old resources, nor any reference to them.
try {
  importState(stack, dropFromState(exported, old.map((r) => r.urn)));
} catch (e) {
  fail((e as Error).message);
}
console.log(`dropped ${old.length} resources from state`);

// 3. The old containers, stopped cleanly (30 s, as the provider does), then removed; their network.
if (containers.length > 0) {
  docker("stop", "--time", "30", ...containers);
  docker("rm", ...containers);
}
if (spawnSync("docker", ["network", "inspect", network]).status === 0) docker("network", "rm", network);
console.log(`stopped and removed ${containers.length} containers and network ${network}`);

// 4. The new resources around the kept volumes.
const up = spawnSync("bash", [path.join(__dirname, "up.sh"), "--stack", stack, "--reason", values.reason ?? "move onto the docker, command and random providers", "--yes", "--non-interactive"], {
  stdio: "inherit", env: { ...process.env, [ADOPT_VOLUMES_ENV]: volumes.join(" ") },
});
if (up.status !== 0) fail(`pulumi up failed; fix what it says, then run this again (the state no longer has dynamic resources, so run: ${ADOPT_VOLUMES_ENV}="${volumes.join(" ")}" bash scripts/up.sh --stack ${stack} --reason ... --yes)`);
console.log(`moved: stack '${stack}' runs on the providers; volumes kept: ${volumes.join(", ")}`);
