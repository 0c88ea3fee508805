import { parseStackConfig, StackConfig } from "../../components/config";

/** Parses a stack config given as plain values, the way Pulumi hands them over (objects as JSON). */
export function configFrom(values: Record<string, unknown>): StackConfig {
  return parseStackConfig(Object.fromEntries(Object.entries(values).map(([k, v]) =>
    [`hyperscaler:${k}`, typeof v === "string" ? v : JSON.stringify(v)])));
}

/** Like the dev stack: two CPU nodes. */
export const devValues = { clusterName: "dev", nodeGroups: { cpu: { count: 2, cpus: 1, memoryMiB: 512 } } };

/** A bigger, mixed cluster: two groups, GPUs, two partitions. */
export const mixedValues = {
  clusterName: "lab",
  nodeGroups: {
    cpu: { count: 128, cpus: 2, memoryMiB: 1024, features: ["avx2"] },
    gpu: { count: 3, cpus: 2, memoryMiB: 2048, gpus: { count: 2, type: "a100" } },
  },
  partitions: {
    batch: { nodeGroups: ["cpu"], default: true },
    gpu: { nodeGroups: ["gpu", "cpu"], maxTimeMin: 240 },
  },
};

/** The mixed cluster with accounting: QOS, nested accounts, users, purge settings. */
export const accountingValues = {
  ...mixedValues,
  accounting: {
    qos: { short: { maxJobsPerUser: 2, maxWallMin: 60, priority: 100 }, long: { maxCpusPerUser: 16, usageFactor: 0.5 } },
    accounts: {
      science: { description: "Faculty of science", fairshare: 10 },
      physics: { parent: "science", fairshare: 3, qos: ["normal", "short", "long"] },
      chemistry: { parent: "science", qos: ["short"], maxRunningJobs: 20, maxCpus: 64 },
    },
    users: { alice: { accounts: ["physics", "chemistry"] }, bob: { accounts: ["chemistry"], adminLevel: "operator" } },
    purge: { jobsAfterMonths: 12, stepsAfterMonths: 3 },
  },
};

/** Two workstations in use (a third idle), with accounting entities: the parts only such a stack has. */
export const workstationsValues = {
  ...devValues,
  workstations: {
    main: { dockerHost: "unix:///var/run/docker.sock", interface: "eth0", addresses: "192.168.1.64/27" },
    gpu: { dockerHost: "ssh://ops@gpu1", interface: "enp3s0", addresses: "192.168.1.96/27" },
    idle: { dockerHost: "ssh://ops@idle", interface: "eth0", addresses: "192.168.1.128/27" },
  },
  network: { subnet: "192.168.1.0/24", controllerAddress: "192.168.1.10" },
  controller: { workstation: "main" },
  nodeGroups: { cpu: { count: 1 }, gpu: { count: 1, workstation: "gpu" } },
  accounting: {
    qos: { short: { maxJobsPerUser: 2 } },
    accounts: { physics: { qos: ["normal", "short"] } },
    users: { alice: { accounts: ["physics"] } },
  },
};
