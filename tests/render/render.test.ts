import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { clusterSpec } from "../../components/config";
import { contentHash, nodeConf, renderCgroupConf, renderGresConf, renderSlurmConf, renderSlurmdbdConf } from "../../components/render";
import { accountingValues, configFrom, devValues, mixedValues } from "../support/config";

const GOLDEN = path.join(__dirname, "golden");

/** Compares with the reviewed golden file; UPDATE_GOLDEN=1 rewrites it (review the diff). */
function expectGolden(name: string, text: string) {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(file, text);
  expect(text).toBe(fs.readFileSync(file, "utf8"));
}

describe.each([["dev", devValues], ["mixed", mixedValues], ["accounting", accountingValues]])("the %s cluster's artifacts", (name, values) => {
  const spec = clusterSpec(configFrom(values));
  it("match the golden files", () => {
    expectGolden(`${name}.slurm.conf`, renderSlurmConf(spec));
    // The accounting cluster is the mixed one plus accounting: its nodes are the mixed ones.
    if (spec.accounting) {
      expectGolden(`${name}.slurmdbd.conf`, renderSlurmdbdConf(spec.accounting, "PASSWORD"));
      return;
    }
    expectGolden(`${name}.gres.conf`, renderGresConf(spec));
    expectGolden(`${name}.node-conf.txt`, spec.nodes.map((n) => `${n.name}: ${nodeConf(n)}`).join("\n") + "\n");
  });
});

describe("renderers", () => {
  it("render the same bytes whatever order the config lists groups and partitions in", () => {
    const reversed = {
      ...mixedValues,
      nodeGroups: Object.fromEntries(Object.entries(mixedValues.nodeGroups).reverse()),
      partitions: Object.fromEntries(Object.entries(mixedValues.partitions).reverse()),
    };
    expect(renderSlurmConf(clusterSpec(configFrom(reversed)))).toBe(renderSlurmConf(clusterSpec(configFrom(mixedValues))));
    expect(renderGresConf(clusterSpec(configFrom(reversed)))).toBe(renderGresConf(clusterSpec(configFrom(mixedValues))));
  });

  it("keep slurm.conf the same size and hash when a node group scales", () => {
    const at = (count: number) => renderSlurmConf(clusterSpec(configFrom({ ...devValues, nodeGroups: { cpu: { count } } })));
    // 999 nodes, the most a group holds, renders what 1 and 2 do.
    expect(contentHash(at(999))).toBe(contentHash(at(2)));
    expect(contentHash(at(1))).toBe(contentHash(at(2)));
  });

  it("render a GPU group's every possible node in one gres.conf line, so scaling leaves the file as it is", () => {
    const gres = renderGresConf(clusterSpec(configFrom(mixedValues)));
    expect(gres).toContain("NodeName=gpu[001-999] AutoDetect=off Name=gpu Type=a100 File=/dev/nvidia[0-1]");
    const scaled = { ...mixedValues, nodeGroups: { ...mixedValues.nodeGroups, gpu: { ...mixedValues.nodeGroups.gpu, count: 7 } } };
    expect(renderGresConf(clusterSpec(configFrom(scaled)))).toBe(gres);
    expect(renderSlurmConf(clusterSpec(configFrom(mixedValues)))).toContain("GresTypes=gpu");
    expect(renderSlurmConf(clusterSpec(configFrom(devValues)))).not.toContain("GresTypes");
  });

  it("let slurmd find a group's GPUs through NVML when the group asks, and name them by device file otherwise", () => {
    const withGpus = (gpus: Record<string, unknown>) => renderGresConf(clusterSpec(configFrom({ ...devValues,
      nodeGroups: { gpu: { count: 1, gpus: { count: 1, type: "h200", ...gpus } } } })));
    expect(withGpus({ access: "toolkit", autoDetect: "nvml" })).toContain("NodeName=gpu[001-999] AutoDetect=nvml\n");
    expect(withGpus({ access: "toolkit" })).toContain("NodeName=gpu[001-999] AutoDetect=off Name=gpu Type=h200 File=/dev/nvidia0\n");
    expect(withGpus({ ids: [2, 3], count: 2 })).toContain("AutoDetect=off Name=gpu Type=h200 File=/dev/nvidia[2-3]");
  });

  it("hash content, not identity", () => {
    expect(contentHash(renderCgroupConf())).toBe(contentHash(renderCgroupConf()));
    expect(contentHash("a\n")).not.toBe(contentHash("b\n"));
    expect(contentHash("a\n")).toMatch(/^sha256:[0-9a-f]{16}$/);
  });
});
