import * as pulumi from "@pulumi/pulumi";
import { configFrom } from "./config";

/** One resource the program registered under mocks. */
export interface Registered { type: string; name: string; parent?: string; props: Record<string, unknown>; opts: pulumi.CustomResourceOptions }

/**
 * Pulumi mocks for the component graph: every resource echoes its inputs. Dynamic
 * resources serialize their provider's code at registration, which is slow and breaks
 * under vitest's module transform; the graph is what is tested here (the real providers
 * run in tests/e2e), so they register as plain custom resources. Returns the cluster
 * module, imported after the mocks are in place.
 */
export async function mockedCluster(): Promise<typeof import("../../components/cluster")> {
  await pulumi.runtime.setMocks({
    newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, name: args.inputs.name ?? args.name, imageId: "sha256:image", stdout: "slurm-wlm 22.05.8", fingerprint: "sha256:0123456789abcdef", base64: "a2V5" } }),
    call: (args) => { throw new Error(`unexpected call to ${args.token}`); },
  }, "hyperscaler", "test", false);
  (pulumi.dynamic as { Resource: unknown }).Resource = class extends pulumi.CustomResource {
    constructor(_provider: unknown, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
      super("pulumi-nodejs:dynamic:Resource", name, props, opts);
    }
  };
  return import("../../components/cluster");
}

/** Builds the cluster for a config under mocks, recording every resource it registers (with its parent). */
export function buildMocked(cluster: typeof import("../../components/cluster"), values: Record<string, unknown>) {
  const registered: Registered[] = [];
  const record: pulumi.ResourceTransformation = (a) => {
    const parent = a.opts.parent as pulumi.Resource & { __name?: string } | undefined;
    registered.push({ type: a.type, name: a.name, parent: parent?.__name, props: a.props, opts: a.opts });
    return undefined;
  };
  const c = new cluster.HyperscalerCluster(String(values.clusterName), { config: configFrom(values) }, { transformations: [record] });
  return { c, registered };
}
