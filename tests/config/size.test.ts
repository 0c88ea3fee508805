import { describe, expect, it } from "vitest";
import { sizeProblems } from "../../components/cluster/preflight";
import { configFrom, devValues } from "../support/config";

// Preflight's host-size check, on configs and hosts given here (the e2e suite runs it
// against the real Docker host): refused by config path, with what was asked, what the
// host has and the fix.
const host = { cpus: 4, memoryMiB: 8192 };

describe("sizeProblems", () => {
  it("accepts the dev stack on a 4-CPU, 8 GiB host", () => {
    expect(sizeProblems(configFrom(devValues), host)).toEqual([]);
  });

  it("refuses one container bigger than the host, by its config path", () => {
    const p = sizeProblems(configFrom({ ...devValues, nodeGroups: { cpu: { count: 1, cpus: 8, memoryMiB: 16384 } } }), host);
    expect(p).toContain("hyperscaler:nodeGroups.cpu.cpus: 8 CPUs for cpu001 but the Docker host has 4 CPUs and 8192 MiB; give it at most 4");
    expect(p).toContain("hyperscaler:nodeGroups.cpu.memoryMiB: 16384 MiB for cpu001 but the Docker host has 4 CPUs and 8192 MiB; give it at most 8192");
  });

  it("refuses containers whose CPUs together pass the host's, the controller included, naming the overcommit setting", () => {
    const values = { clusterName: "lab", nodeGroups: { cpu: { count: 3, cpus: 2 }, gpu: { count: 1, cpus: 1 } } };
    expect(sizeProblems(configFrom(values), host)).toEqual([
      "hyperscaler:overcommit.cpu: the containers ask for 8 CPUs together (nodeGroups.cpu 3 x 2, controller 1, nodeGroups.gpu 1), the host's 4; " +
        "lower counts or cpus, or let them share CPUs: pulumi config set --path hyperscaler:overcommit.cpu 2",
    ]);
    expect(sizeProblems(configFrom({ ...values, overcommit: { cpu: 2 } }), host)).toEqual([]);
  });

  it("counts every container's memory: controller, nodes, PostgreSQL and monitoring", () => {
    const values = { ...devValues, nodeGroups: { cpu: { count: 2, memoryMiB: 2048 } }, postgres: { memoryMiB: 2048 }, monitoring: {} };
    // 1024 controller + 2 x 2048 + 2048 postgres + 1024 prometheus + 256 alertmanager = 8448
    const roomy = { ...host, cpus: 8 }; // 6 CPUs asked: only memory is short here
    expect(sizeProblems(configFrom(values), roomy)).toEqual([
      "hyperscaler:overcommit.memory: the containers' memory limits add up to 8448 MiB (nodeGroups.cpu 2 x 2048 MiB, postgres 2048 MiB, " +
        "controller 1024 MiB, monitoring.prometheus 1024 MiB, monitoring.alertmanager 256 MiB), the host's 8192 MiB; lower counts or memoryMiB, " +
        "or accept that they cannot all use their limit at once: pulumi config set --path hyperscaler:overcommit.memory 1.1",
    ]);
    expect(sizeProblems(configFrom({ ...values, overcommit: { memory: 1.1 } }), roomy)).toEqual([]);
  });

  it("refuses an overcommit below 1", () => {
    expect(() => configFrom({ ...devValues, overcommit: { cpu: 0.5 } })).toThrow(/hyperscaler:overcommit\.cpu: must be at least 1 \(no overcommit\)/);
  });
});
