import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { clusterSpec } from "../components/config";
import { renderSlurmConf } from "../components/render";
import { configFrom } from "../tests/support/config";
import { buildMocked, mockedCluster } from "../tests/support/mocks";
import { median, report, RUNS, since } from "./report";

// The Pulumi program under mocks (no engine, no Docker): how its time and the rendered
// slurm.conf grow with the node count. Homogeneous nodes must not grow slurm.conf.
// Two groups (a group holds at most 999 nodes), each homogeneous.
const values = (count: number) => ({ clusterName: "bench", nodeGroups: { cpu: { count: count / 2, cpus: 2, memoryMiB: 1024 }, big: { count: count / 2, cpus: 4, memoryMiB: 4096 } },
  slurm: { maxNodeCount: Math.max(count, 1024) }, postgres: { roles: { app: { database: "appdb" } } }, monitoring: {} });

describe("program (mocks)", () => {
  it("times the program and sizes slurm.conf for 10, 100 and 1000 compute nodes", async () => {
    const cluster = await mockedCluster();
    const sizes: number[] = [];
    for (const count of [10, 100, 1000]) {
      const times: number[] = [];
      let resources = 0;
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        const { c, registered } = buildMocked(cluster, values(count));
        await new Promise<void>((resolve) => pulumi.output(c.manifest).apply(() => resolve()));
        times.push(since(t0));
        resources = registered.length;
      }
      const size = Buffer.byteLength(renderSlurmConf(clusterSpec(configFrom(values(count)))));
      sizes.push(size);
      report(`program time, ${count} nodes (mocks)`, median(times), "s", `${resources} resources; runs: ${times.map((t) => t.toFixed(2)).join(", ")}`);
      report(`slurm.conf size, ${count} nodes`, size, "bytes");
    }
    expect(new Set(sizes).size, "slurm.conf must not grow with the node count").toBe(1);
  });
});
