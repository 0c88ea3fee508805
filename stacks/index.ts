import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import { ClusterManifest, epochProblems, hostProblems, HyperscalerCluster, nameProblems, s3Problems, stackIdentity } from "../components/cluster";
import { ConfigError, parseStackConfig, platformDockerHost, StackConfig } from "../components/config";

// The SDK takes a stack trace for every promise and resource it makes (kept for leak
// reports), each formatted through the program's source maps: that was over half the
// program's time (1000-node preview 122 s, about 50 s without). Nothing here reads them, so the
// program takes none; HYPERSCALER_STACK_TRACES=1 restores them, source-mapped, for
// debugging the program itself (stacks/start.js turns Node's source maps on for it).
if (!process.env.HYPERSCALER_STACK_TRACES) {
  Error.stackTraceLimit = 0;
  (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined; // V8's own format
  skipPromiseLeakReport();
}

/**
 * For that same leak report the SDK wraps four promises of every output of every resource
 * (`debuggablePromise`: a label, a stack, a set entry and two more promises each): at a
 * thousand nodes 94 MiB of the program's peak and 2-4 s of its time. Without it a promise
 * left pending is not listed at exit; HYPERSCALER_STACK_TRACES=1 brings the report back.
 * tests/engine/program-start.test.ts notices an SDK that no longer has the function.
 */
function skipPromiseLeakReport(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise?: unknown };
  if (typeof debuggable.debuggablePromise === "function") debuggable.debuggablePromise = <T>(p: Promise<T>) => p;
}

/** Stops the program before any resource is registered; Pulumi prints the message alone. */
function refuse(message: string): never {
  throw new pulumi.RunError(message);
}

/** Whether a config key was set with --secret: the SDK's own test (internal to it, so not in its typings). */
function isConfigSecret(key: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("@pulumi/pulumi/runtime/config") as { isConfigSecret: (k: string) => boolean }).isConfigSecret(key);
}

function loadConfig(): StackConfig {
  try {
    return parseStackConfig(pulumi.runtime.allConfig(), isConfigSecret);
  } catch (e) {
    if (e instanceof ConfigError) refuse(e.message);
    throw e;
  }
}

// The benchmark (bench/engine.bench.ts) reads the program's peak memory, in KiB.
const rssFile = process.env.HYPERSCALER_BENCH_RSS_FILE;
if (rssFile) process.on("exit", () => fs.writeFileSync(rssFile, String(process.resourceUsage().maxRSS)));

const config = loadConfig();

if (config.requireRealPassphrase) {
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  const usesFile = !!process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (!usesFile && (!passphrase || passphrase === process.env.HYPERSCALER_DEV_PASSPHRASE)) {
    refuse(
      `stack '${pulumi.getStack()}' requires its own secrets passphrase (hyperscaler:requireRealPassphrase is true), ` +
        "but the dev default from scripts/env.sh is in use: export PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE first.",
    );
  }
}

const problems = hostProblems(config);
if (problems.length > 0) refuse(`${config.workstations ? "the workstations" : "the Docker host"} cannot run this config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);

/** Deploys the cluster; what it returns are the stack's outputs. */
export = async () => {
  // The stack's own last outputs: a rotation epoch may only grow (going back would not
  // bring the old secret back, only hide a rotation).
  const fqn = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
  const self = new pulumi.StackReference(fqn);
  const previous = (await self.getOutputDetails("manifest")).value as ClusterManifest | undefined;
  const backwards = epochProblems(config, previous);
  if (backwards.length > 0) refuse(backwards.join("\n"));
  // The cluster's name must be free on its engines, or this stack's: nothing is adopted. The
  // claim keeps the identity it was made with, so a stack moved to another backend keeps it.
  const stack = previous?.claim ?? stackIdentity(fqn);
  const taken = await nameProblems(config, stack, previous?.cluster === config.clusterName);
  if (taken.length > 0) refuse(taken.join("\n"));
  const bucket = await s3Problems(config, isConfigSecret);
  if (bucket.length > 0) refuse(`the backup repository's bucket cannot be used:\n${bucket.map((p) => `  - ${p}`).join("\n")}`);

  // The controller's Docker engine: `hyperscaler:dockerHost` (else DOCKER_HOST), or the
  // controller's workstation's; the cluster makes one provider for each other workstation.
  const engine = new docker.Provider("workstation", { host: platformDockerHost(config) });
  const cluster = new HyperscalerCluster(config.clusterName, { config, stack, previousTls: previous?.tls }, { providers: [engine] });
  return {
    /** Non-secret facts about the deployment, for people, CI and the audit report. */
    manifest: cluster.manifest,
    /** How applications log in to PostgreSQL, by role; secret (`pulumi stack output --show-secrets`). */
    ...(cluster.postgres ? { postgresLogins: pulumi.secret(cluster.postgres.logins) } : {}),
    /** The stack's CA (PEM): what a client of its TLS endpoints trusts (several workstations). */
    ...(cluster.certificates ? { caCertificate: cluster.certificates.caCertificate } : {}),
    /** Prometheus's web login (several workstations); secret. */
    ...(cluster.monitoring?.webLogin ? { prometheusLogin: pulumi.secret(cluster.monitoring.webLogin) } : {}),
  };
};
