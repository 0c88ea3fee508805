import { describe, expect, it } from "vitest";
import { dropFromState, onEngine, StateResource } from "../../scripts/lib/state";

// What scripts/forget-workstation.ts drops from a stack's state, read from an exported
// deployment shaped as Pulumi writes it (provider references are "<provider URN>::<id>").
const urn = (type: string, name: string) => `urn:pulumi:s::hyperscaler::hyperscaler:cluster:Cluster$${type}::${name}`;
const provider = (name: string, host: string): StateResource => ({ urn: `urn:pulumi:s::hyperscaler::pulumi:providers:docker::${name}`, type: "pulumi:providers:docker", id: `${name}-id`, inputs: { host } });
const FAR = "ssh://ops@far";
const resources: StateResource[] = [
  provider("workstation", "unix:///var/run/docker.sock"),
  provider("c-workstation-far", FAR),
  { urn: urn("docker:index/container:Container", "c-controller"), type: "docker:index/container:Container", provider: "urn:pulumi:s::hyperscaler::pulumi:providers:docker::workstation::workstation-id" },
  { urn: urn("docker:index/container:Container", "c-far001"), type: "docker:index/container:Container", provider: "urn:pulumi:s::hyperscaler::pulumi:providers:docker::c-workstation-far::c-workstation-far-id" },
  { urn: urn("docker:index/network:Network", "c-network-far"), type: "docker:index/network:Network", provider: "urn:pulumi:s::hyperscaler::pulumi:providers:docker::c-workstation-far::c-workstation-far-id" },
  // Its membership: delivered there, but its delete (drain, scontrol delete) runs on the controller's engine.
  { urn: urn("command:local:Command", "c-far001-membership"), type: "command:local:Command", inputs: { environment: { DOCKER_HOST: FAR }, delete: "export DOCKER_HOST=unix:///var/run/docker.sock; c=c-controller; hyperscaler-node-remove far001 3600" },
    dependencies: [urn("docker:index/container:Container", "c-far001"), urn("docker:index/container:Container", "c-controller")], propertyDependencies: { environment: [urn("docker:index/container:Container", "c-far001")] } },
  // A file's delivery there: no delete, nothing to do on the lost engine.
  { urn: urn("command:local:Command", "c-far001-lan-hosts"), type: "command:local:Command", inputs: { environment: { DOCKER_HOST: FAR }, create: "hyperscaler-lan-hosts" } },
  // A command whose delete runs in a container there (quoted as shellQuote writes it, or by its own environment).
  { urn: urn("command:local:Command", "c-far-cleanup"), type: "command:local:Command", inputs: { environment: { DOCKER_HOST: FAR }, delete: "docker exec c-far001 true" } },
  { urn: urn("command:local:Command", "c-far-quoted"), type: "command:local:Command", inputs: { delete: `export DOCKER_HOST='${FAR}'; true` } },
];

describe("forgetting a workstation's resources (scripts/lib/state.ts)", () => {
  it("picks what its engine made and the commands whose delete runs there, nothing else", () => {
    expect(onEngine(resources, FAR).map((r) => r.urn.split("::").pop())).toEqual(["c-far001", "c-network-far", "c-far-cleanup", "c-far-quoted"]);
    expect(onEngine(resources, "ssh://ops@elsewhere")).toEqual([]);
  });

  it("drops them and every reference to them, keeping the rest as it was", () => {
    const exported = { deployment: { manifest: { time: "t" }, resources } };
    const gone = onEngine(resources, FAR).map((r) => r.urn);
    const left = dropFromState(exported, gone);
    expect(left.deployment.manifest).toEqual({ time: "t" });
    expect(left.deployment.resources!.map((r) => r.urn)).toEqual(resources.map((r) => r.urn).filter((u) => !gone.includes(u)));
    const membership = left.deployment.resources!.find((r) => r.urn.endsWith("c-far001-membership"))!;
    expect(membership.dependencies).toEqual([urn("docker:index/container:Container", "c-controller")]);
    expect(membership.propertyDependencies).toEqual({ environment: [] });
    expect(exported.deployment.resources).toBe(resources); // the export itself is untouched
  });
});
