import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { parse as parseYaml } from "yaml";
import { containerSizes, dockerNames, groupWorkstation, VOLUMES, type StackConfig } from "../config";
import { CLUSTER_LABEL } from "../docker";

/**
 * The label on a cluster's claim volume (`<cluster>-claim`, one on each engine the cluster
 * uses): which stack holds the cluster's name there. Docker answers a create of an existing
 * volume with that volume, so without the claim a second stack of the same name would take
 * the first one's data into its state, and its `destroy` would delete it.
 */
export const STACK_LABEL = "hyperscaler.stack";

/** Where a stack's state is: the CLI's order (PULUMI_BACKEND_URL, Pulumi.yaml's backend.url, the login). */
function backendUrl(env: NodeJS.ProcessEnv, projectDir: string): string {
  if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined);
  const project = read(path.join(projectDir, "Pulumi.yaml"));
  const url = project && (parseYaml(project) as { backend?: { url?: string } } | null)?.backend?.url;
  if (url) return url;
  const credentials = read(path.join(env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "credentials.json"));
  return (credentials && (JSON.parse(credentials) as { current?: string }).current) || "https://api.pulumi.com";
}

/**
 * The stack, as one string no other stack has: its backend and its fully qualified name.
 * Two checkouts with a backend each, both deploying `dev`, are two stacks; one stack
 * previewed from a fresh clone (CI) is the same one.
 */
export function stackIdentity(fqn: string, env: NodeJS.ProcessEnv = process.env, projectDir = process.cwd()): string {
  return `${withoutCredentials(backendUrl(env, projectDir)).replace(/\/+$/, "")}#${fqn}`;
}

/**
 * A backend URL as it may be shown (a Docker label, the manifest, an error): a password in
 * it (`postgres://user:secret@host/db`) or a query parameter that names one is left out.
 */
function withoutCredentials(url: string): string {
  const [base, query] = url.split("?", 2);
  const kept = query?.split("&").filter((p) => !/pass|secret|token|key|credential/i.test(p.split("=")[0]));
  return base.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, "$1@") + (kept?.length ? `?${kept.join("&")}` : "");
}

/** What one engine has under the cluster's name: the claim's holder, and the objects by kind. */
export interface EngineHoldings {
  /** The claim volume's STACK_LABEL; undefined where there is no claim. */
  readonly claimedBy?: string;
  readonly objects: readonly string[];
}

/**
 * What stands in the way of this stack (CLAIM: its identity as its claims are labelled)
 * taking the cluster's name on an engine, before anything is made. Another stack's claim is refused. Objects without a claim are taken
 * only by a stack whose last update deployed this cluster (made before claims existed);
 * otherwise they are someone else's, and refused by name.
 */
export function claimProblems(cluster: string, claim: string, held: EngineHoldings, deployedBefore: boolean, where = ""): string[] {
  const volume = dockerNames(cluster).volume("claim");
  const choose = `Choose another name (pulumi config set hyperscaler:clusterName <name>)`;
  const objects = held.objects.length > 8 ? `${held.objects.slice(0, 8).join(", ")} and ${held.objects.length - 8} more` : held.objects.join(", ");
  if (held.claimedBy !== undefined && held.claimedBy !== claim) {
    return [`hyperscaler:clusterName: '${cluster}' is held${where} by another stack, ${held.claimedBy || "(unlabelled)"} (volume ${volume}${held.objects.length ? `; its objects: ${objects}` : ""}); ` +
      `nothing was made or adopted. ${choose}, or destroy that stack first (pulumi destroy where it is deployed from). ` +
      `If that stack is gone and nothing needs its objects, remove them with the claim: docker volume rm ${volume}`];
  }
  if (held.claimedBy === undefined && held.objects.length > 0 && !deployedBefore) {
    return [`hyperscaler:clusterName: '${cluster}' is in use${where} by Docker objects this stack did not make: ${objects}; ` +
      `nothing was made or adopted. ${choose}, or, if nothing needs them, remove them (docker rm -f, docker volume rm, docker network rm)`];
  }
  return [];
}

/** What `docker ARGS` printed (one line a row), on DOCKER_HOST's engine or DOCKERHOST's; the engines are asked at once. */
type DockerRows = (args: readonly string[]) => Promise<string[]>;

function dockerRows(dockerHost?: string): DockerRows {
  return (args) => new Promise((resolve) => {
    execFile("docker", [...args], { encoding: "utf8", env: dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env },
      (error, stdout) => resolve(error ? [] : stdout.split("\n").filter((l) => l.trim())));
  });
}

/**
 * The Docker objects on an engine that are, or would be, the cluster's: everything with its
 * label, and every name the config would make there. Three listings, asked together: over
 * ssh:// each one is a round trip.
 */
export async function engineHoldings(config: StackConfig, docker: DockerRows, workstation?: string): Promise<EngineHoldings> {
  const cluster = config.clusterName;
  const names = dockerNames(cluster);
  const row = (line: string) => line.split("\t");
  const labels = `{{.Label "${CLUSTER_LABEL}"}}`;
  const [containerRows, volumeRows, networkRows] = await Promise.all([
    docker(["ps", "-a", "--format", `{{.Names}}\t${labels}`]),
    docker(["volume", "ls", "--format", `{{.Name}}\t${labels}\t{{.Label "${STACK_LABEL}"}}`]),
    docker(["network", "ls", "--format", `{{.Name}}\t${labels}`]),
  ]);
  // Labelled with the cluster, or named as this config names its objects, whoever made them.
  const ours = (rows: string[], made: readonly string[]) => rows.map(row).filter(([name, label]) => label === cluster || made.includes(name));
  const containers = ours(containerRows, containerSizes(config).filter((s) => s.workstation === workstation).map((s) => names.container(s.container)));
  const volumes = ours(volumeRows, Object.keys(VOLUMES).map((p) => names.volume(p as keyof typeof VOLUMES)));
  const networks = ours(networkRows, [names.network, names.platformNetwork]);
  const claim = volumes.find(([name]) => name === names.volume("claim"));
  return {
    ...(claim ? { claimedBy: claim[2] ?? "" } : {}),
    objects: [
      ...containers.map(([c]) => `container ${c}`),
      ...volumes.filter((v) => v !== claim).map(([v]) => `volume ${v}`),
      ...networks.map(([n]) => `network ${n}`),
    ],
  };
}

/**
 * The cluster's name on every engine it would use, checked before anything is made (see
 * claimProblems). `deployedBefore`: this stack's last update deployed this cluster.
 */
export async function nameProblems(config: StackConfig, claim: string, deployedBefore: boolean): Promise<string[]> {
  const engines = config.workstations
    ? Object.entries(config.workstations)
      .filter(([ws]) => ws === config.controller.workstation || Object.keys(config.nodeGroups).some((g) => groupWorkstation(config, g) === ws))
      .map(([ws, w]) => ({ workstation: ws, dockerHost: w.dockerHost }))
    : [{ workstation: undefined, dockerHost: config.dockerHost }];
  const held = await Promise.all(engines.map(({ workstation, dockerHost }) => engineHoldings(config, dockerRows(dockerHost), workstation)));
  return engines.flatMap(({ workstation, dockerHost }, i) =>
    claimProblems(config.clusterName, claim, held[i], deployedBefore, workstation ? ` on workstation ${workstation} (${dockerHost})` : ""));
}
