import { describe, expect, it } from "vitest";
import { DATA_VOLUMES, dockerNames, isDataVolume, resourcePart, VOLUMES, volumePart } from "../../components/config/names";
import { summarizePreview } from "../../components/report";
import { GOLDEN_STACKS, goldenResources } from "../support/golden";

// The naming module read back over every golden URN list (tests/components/golden): what the
// preview report and the policy pack know of each resource comes from there, by lookup.
describe.each(GOLDEN_STACKS)("the %s stack's resources, as the report and the policy read them", (list) => {
  const resources = goldenResources(list);
  const cluster = resources.find((r) => r.type === "hyperscaler:cluster:HyperscalerCluster")!.name;
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  const computeHosts = resources.map((r) => resourcePart(cluster, r.urn)).filter((p) => p?.part === "membership").map((p) => p!.subject!).sort();
  // The SLURM nodes' containers, by name: the controller, slurmdbd where there is one, each compute node.
  const nodeNames = new Set(["controller", "accounting-slurmdbd", ...computeHosts].map((h) => `${cluster}-${h}`));
  const containers = ofType("docker:index/container:Container");
  const nodeContainers = containers.filter((r) => nodeNames.has(r.name));
  const hosts = nodeContainers.map((r) => resourcePart(cluster, r.urn)?.subject);
  const report = (op: string) => summarizePreview(list, { config: { "hyperscaler:clusterName": cluster }, steps: resources.map((r) => ({ op, urn: r.urn })) });

  it("reads every SLURM node's container as that node, and every key delivery and membership as one of them", () => {
    expect(nodeContainers.length).toBeGreaterThan(1);
    expect(hosts).toEqual(nodeContainers.map((r) => r.name.slice(cluster.length + 1).replace(/^accounting-/, "")));
    expect(hosts).toContain("controller");
    // And no other container (MariaDB's, PostgreSQL's, monitoring's) reads as a node.
    expect(containers.filter((r) => resourcePart(cluster, r.urn)?.part === "node")).toEqual(nodeContainers);
    for (const r of resources) {
      const p = resourcePart(cluster, r.urn);
      if (p?.part === "munge-key" || p?.part === "membership") expect(hosts).toContain(p.subject);
    }
    expect(computeHosts.length).toBeGreaterThan(0);
  });

  it("knows every volume, by the name Docker gives it", () => {
    for (const v of ofType("docker:index/volume:Volume")) {
      const part = resourcePart(cluster, v.urn)?.subject;
      expect(part, v.name).toBeDefined();
      expect(volumePart(dockerNames(cluster).volume(part as keyof typeof VOLUMES))).toBe(part);
    }
  });

  it("reports every compute node a replacement touches, and every volume whose loss it risks", () => {
    const replaced = report("replace");
    expect(replaced.touchedNodes).toEqual(computeHosts);
    for (const h of hosts.filter((h) => h !== "slurmdbd")) expect(replaced.risks).toContain(`restarts ${h}`);
    const deleted = report("delete");
    const claims = ofType("docker:index/volume:Volume").filter((v) => v.name.endsWith("-claim"));
    const volumes = ofType("docker:index/volume:Volume").filter((v) => !claims.includes(v));
    for (const v of volumes) expect(deleted.risks).toContain(`deletes volume ${v.name}: its data is lost unless retained`);
    expect(claims.length).toBe(list === "workstations" ? 2 : 1);
    expect(deleted.risks.filter((r) => r.startsWith("releases the cluster's name"))).toHaveLength(claims.length);
    expect(report("create").actions.filter((a) => a.startsWith("claim the cluster's name for this stack"))).toHaveLength(claims.length);
    for (const h of computeHosts) expect(deleted.risks).toContain(`removes compute node ${h}`);
  });
});

describe("data volumes (the policy's data-volumes-protected rule)", () => {
  it("are the prod stack's SLURM state and both databases' data and backups, found in its golden list (and the backup repository, on another workstation)", () => {
    const prod = goldenResources("prod").filter((r) => r.type === "docker:index/volume:Volume").map((r) => resourcePart("prod", r.urn)!.subject!);
    expect(prod.filter((v) => VOLUMES[v as keyof typeof VOLUMES].data).sort()).toEqual(DATA_VOLUMES.filter((v) => v !== "backup-repository").sort());
    expect(DATA_VOLUMES.map((v) => isDataVolume(dockerNames("prod").volume(v)))).toEqual(DATA_VOLUMES.map(() => true));
    expect(isDataVolume("prod-prometheus-data")).toBe(false);
    expect(isDataVolume("prod-unknown-data")).toBe(false);
  });
});
