import * as pulumi from "@pulumi/pulumi";
import { spawnSync } from "node:child_process";
import { configFrom } from "./config";
import { REPO } from "./run";

/** What a command prints under mocks: the certificate issuer runs for real (it is local and fast), the rest say SLURM's version. */
function mockStdout(inputs: Record<string, unknown>): string {
  if (typeof inputs.create === "string" && inputs.create.includes("tls/issue.js")) {
    // A secret input arrives wrapped ({ <signature>, value }).
    const stdin = typeof inputs.stdin === "object" && inputs.stdin !== null && "value" in inputs.stdin ? inputs.stdin.value : inputs.stdin;
    const issued = spawnSync("node", [`${REPO}/components/tls/issue.js`], { input: String(stdin), encoding: "utf8" });
    if (issued.status !== 0) throw new Error(`the certificate issuer failed: ${issued.stderr}`);
    return issued.stdout;
  }
  return "slurm-wlm 24.11.5";
}

/** One resource the program registered under mocks. */
export interface Registered { type: string; name: string; parent?: string; props: Record<string, unknown>; opts: pulumi.CustomResourceOptions }

/**
 * Pulumi mocks for the component graph: every resource echoes its inputs, plus the
 * outputs the components read (image ID, command stdout, random result). The real
 * providers run in tests/e2e. Returns the cluster module, imported after the mocks are
 * in place.
 */
export async function mockedCluster(): Promise<typeof import("../../components/cluster")> {
  await pulumi.runtime.setMocks({
    newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, name: args.inputs.name ?? args.name, imageId: "sha256:image", stdout: mockStdout(args.inputs), result: MOCK_SECRET } }),
    call: (args) => { throw new Error(`unexpected call to ${args.token}`); },
  }, "hyperscaler", "test", false);
  return import("../../components/cluster");
}

/** What every random resource "generates" under mocks: tests look for it where it must not be. */
export const MOCK_SECRET = "mock-secret-value";

/** A command.local.Command's command line, resolved. */
export function commandLine(props: Record<string, unknown>, key: "create" | "update" | "delete"): Promise<string | undefined> {
  return new Promise((resolve) => pulumi.output(props[key] as pulumi.Input<string> | undefined).apply((v) => resolve(v)));
}

/** Builds the cluster for a config under mocks, recording every resource it registers (with its parent). */
export function buildMocked(cluster: typeof import("../../components/cluster"), values: Record<string, unknown>,
  more: Partial<import("../../components/cluster").HyperscalerClusterArgs> = {}) {
  const registered: Registered[] = [];
  const record: pulumi.ResourceTransformation = (a) => {
    const parent = a.opts.parent as pulumi.Resource & { __name?: string } | undefined;
    registered.push({ type: a.type, name: a.name, parent: parent?.__name, props: a.props, opts: a.opts });
    return undefined;
  };
  const c = new cluster.HyperscalerCluster(String(values.clusterName), { config: configFrom(values), stack: "file:///state#organization/hyperscaler/test", ...more }, { transformations: [record] });
  return { c, registered };
}
