// Renders, with the project's own renderers, the SLURM configs of a one-node GPU cluster for
// tests/device/gpu-native.sh (a GPU machine without Docker): slurm.conf, gres.conf,
// cgroup.conf and the node's environment, written into the folder given.
//   npx tsx tests/device/render-configs.ts .device/conf   (and .device/conf/nvml: the same with autoDetect: nvml)
import * as fs from "node:fs";
import * as path from "node:path";
import { clusterSpec } from "../../components/config";
import { computeNodeEnv, renderCgroupConf, renderGresConf, renderSlurmConf } from "../../components/render";
import { configFrom } from "../support/config";

const out = process.argv[2];
if (!out) throw new Error("usage: render-configs.ts OUTPUT_DIR");
/** The configs of a one-GPU cluster into DIR: its GPU named by File=, or found through NVML. */
function render(dir: string, gpus: { type: string; autoDetect: "off" | "nvml" }) {
  const spec = clusterSpec(configFrom({
    clusterName: "gpucheck",
    nodeGroups: { gpu: { count: 1, cpus: 2, memoryMiB: 4096, gpus: { count: 1, ...gpus, driverFiles: ["/usr/lib/placeholder/libcuda.so.1"] } } },
  }));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "slurm.conf"), renderSlurmConf(spec));
  fs.writeFileSync(path.join(dir, "gres.conf"), renderGresConf(spec));
  fs.writeFileSync(path.join(dir, "cgroup.conf"), renderCgroupConf());
  // The node's environment but the driver library folders, which the device's own files decide.
  const env = Object.entries(computeNodeEnv(spec, spec.nodes[0])).filter(([k]) => k !== "HYPERSCALER_DRIVER_LIBRARY_DIRS");
  fs.writeFileSync(path.join(dir, "node.env"), env.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n") + "\n");
}
render(out, { type: "hopper", autoDetect: "off" });
// NVML names the GPU itself; a group's type must be part of that name (nvidia_h200): GPU_TYPE.
render(path.join(out, "nvml"), { type: process.env.GPU_TYPE ?? "h200", autoDetect: "nvml" });
