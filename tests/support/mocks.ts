import * as pulumi from "@pulumi/pulumi";
import { configFrom } from "./config";

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
    newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, name: args.inputs.name ?? args.name, imageId: "sha256:image", stdout: "slurm-wlm 24.11.5", result: MOCK_SECRET } }),
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
export function buildMocked(cluster: typeof import("../../components/cluster"), values: Record<string, unknown>) {
  const registered: Registered[] = [];
  const record: pulumi.ResourceTransformation = (a) => {
    const parent = a.opts.parent as pulumi.Resource & { __name?: string } | undefined;
    registered.push({ type: a.type, name: a.name, parent: parent?.__name, props: a.props, opts: a.opts });
    return undefined;
  };
  const c = new cluster.HyperscalerCluster(String(values.clusterName), { config: configFrom(values), stack: "file:///state#organization/hyperscaler/test" }, { transformations: [record] });
  return { c, registered };
}
