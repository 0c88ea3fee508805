import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ok, SHARED_CPUS, TEST_MONITORING, TestProject } from "../support/stack";
import { docker } from "../support/docker";
import { freePort, run } from "../support/run";
import { dashboardsDrawn } from "../support/browser";
import { jobState } from "../support/slurm";
import { waitFor } from "../support/wait";

// A GPU node group with `devices` access on fake GPUs: device nodes the test makes (mknod,
// the numbers of /dev/null and /dev/zero), the driver's shared devices, and driver files (a
// stand-in nvidia-smi and a library), deployed by the real engine. What the container
// gets, what gres.conf says, what SLURM gives each job, and the GPU metrics in Prometheus.
// The same checks on a real GPU: scripts/gpu-check.sh.
const stack = `gpu${process.pid}`;
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
const ctl = (...cmd: string[]) => docker(["exec", `${stack}-controller`, ...cmd]);
const onNode = (...cmd: string[]) => docker(["exec", `${stack}-gpu001`, ...cmd]);
const fake = fs.mkdtempSync(path.join(os.tmpdir(), `hyperscaler-fake-gpu-${process.pid}-`));

/** nvidia-smi as far as the node uses it: `-L`, and the CSV query of the metrics script, one line per /dev/nvidiaN it can see. */
const FAKE_NVIDIA_SMI = `#!/bin/sh
for d in /dev/nvidia[0-9]*; do
  [ -e "$d" ] || continue
  i=\${d#/dev/nvidia}
  case "$*" in
    *-L*) echo "GPU $i: Fake GPU (UUID: GPU-fake-$i)" ;;
    *--query-gpu*) echo "$i, GPU-fake-$i, Fake GPU, 4$i, 7, 1024, 81559, 70.5" ;;
  esac
done
`;

const dashboardsPort = freePort();

beforeAll(() => {
  for (const [name, minor] of [["nvidia0", 3], ["nvidia1", 5], ["nvidiactl", 3], ["nvidia-uvm", 3]] as const) {
    ok(run("mknod", [path.join(fake, name), "c", "1", String(minor)]));
  }
  fs.writeFileSync(path.join(fake, "nvidia-smi"), FAKE_NVIDIA_SMI, { mode: 0o755 });
  // A real shared object in the driver library's place, so ldconfig has something to index.
  fs.copyFileSync(fs.realpathSync("/usr/lib/x86_64-linux-gnu/libz.so.1"), path.join(fake, "libnvidia-ml.so.1"));
  project.init(stack, [
    `  hyperscaler:clusterName: ${stack}`,
    "  hyperscaler:nodeGroups:",
    "    gpu:",
    "      count: 1",
    "      cpus: 2",
    "      memoryMiB: 512",
    "      gpus:",
    "        count: 2",
    "        type: fake",
    `        hostDevices: [${fake}/nvidia0, ${fake}/nvidia1]`,
    `        controlDevices: ["${fake}/nvidiactl:/dev/nvidiactl", "${fake}/nvidia-uvm:/dev/nvidia-uvm"]`,
    `        driverFiles: ["${fake}/nvidia-smi:/usr/bin/nvidia-smi", "${fake}/libnvidia-ml.so.1:/usr/local/nvidia/lib64/libnvidia-ml.so.1"]`,
    TEST_MONITORING,
    "    dashboards:",
    `      port: ${dashboardsPort}`,
    SHARED_CPUS,
  ].join("\n"));
});
afterAll(() => {
  project.destroy(stack);
  fs.rmSync(fake, { recursive: true, force: true });
});

describe("GPU nodes on fake devices (access: devices)", () => {
  it("deploys: the node gets each GPU at /dev/nvidia<id>, the driver's devices and read-only driver files; gres.conf names the GPUs", () => {
    ok(pulumi("up", "--yes"));
    const hc = JSON.parse(docker(["inspect", "--format", "{{json .HostConfig}}", `${stack}-gpu001`]));
    expect(hc.Devices.map((d: { PathOnHost: string; PathInContainer: string }) => `${d.PathOnHost}:${d.PathInContainer}`).sort()).toEqual([
      `${fake}/nvidia-uvm:/dev/nvidia-uvm`, `${fake}/nvidia0:/dev/nvidia0`, `${fake}/nvidia1:/dev/nvidia1`, `${fake}/nvidiactl:/dev/nvidiactl`]);
    expect(hc.Privileged).toBe(false);
    const mounts = JSON.parse(docker(["inspect", "--format", "{{json .Mounts}}", `${stack}-gpu001`]));
    expect(mounts.filter((m: { Type: string }) => m.Type === "bind").map((m: { Destination: string; RW: boolean }) => `${m.Destination} rw=${m.RW}`).sort())
      .toEqual(["/usr/bin/nvidia-smi rw=false", "/usr/local/nvidia/lib64/libnvidia-ml.so.1 rw=false"]);
    // The driver's library directory is on the loader's path.
    expect(onNode("ldconfig", "-p")).toContain("/usr/local/nvidia/lib64/");
    expect(ctl("cat", "/etc/slurm/gres.conf")).toContain("NodeName=gpu[001-999] AutoDetect=off Name=gpu Type=fake File=/dev/nvidia[0-1]");
    expect(ctl("scontrol", "show", "node", "gpu001")).toMatch(/Gres=gpu:fake:2/);
  });

  it("gives a job the GPUs it asked for, two jobs different ones, and a job that asked for none no GPU", async () => {
    const visible = (...gres: string[]) => ctl("srun", "-w", "gpu001", ...gres, "sh", "-c", "env | grep ^CUDA_VISIBLE_DEVICES= || echo unset").trim();
    expect(visible("--gres=gpu:1")).toBe("CUDA_VISIBLE_DEVICES=0");
    expect(visible("--gres=gpu:fake:2")).toBe("CUDA_VISIBLE_DEVICES=0,1");
    // No --gres: set, and empty, so CUDA sees no GPU (the TaskProlog; unprivileged containers have no device cgroup).
    expect(visible()).toBe("CUDA_VISIBLE_DEVICES=");
    // Two one-GPU jobs at once share the node, not a GPU.
    const jobs = [0, 1].map(() => ctl("sbatch", "--parsable", "--gres=gpu:1", "--mem=64", "-o", "/tmp/gpujob-%j.out",
      "--wrap", "echo $CUDA_VISIBLE_DEVICES; sleep 4").trim());
    await waitFor("both GPU jobs to run at once", () => jobs.every((j) => jobState(ctl, j) === "RUNNING"));
    await waitFor("both GPU jobs to end", () => jobs.every((j) => jobState(ctl, j) === "COMPLETED"), 60);
    expect(jobs.map((j) => onNode("cat", `/tmp/gpujob-${j}.out`).trim()).sort()).toEqual(["0", "1"]);
    // The driver's tools run in a job: the mounted nvidia-smi sees both device files.
    expect(ctl("srun", "-w", "gpu001", "--gres=gpu:1", "nvidia-smi", "-L").trim().split("\n"))
      .toEqual(["GPU 0: Fake GPU (UUID: GPU-fake-0)", "GPU 1: Fake GPU (UUID: GPU-fake-1)"]);
  });

  it("publishes each GPU's temperature, use and memory to Prometheus, how many answer, and how many jobs hold", async () => {
    const query = (promql: string): { metric: Record<string, string>; value: [number, string] }[] =>
      JSON.parse(docker(["exec", `${stack}-prometheus`, "curl", "-fsS", "-G", "http://127.0.0.1:9090/api/v1/query", "--data-urlencode", `query=${promql}`])).data.result;
    await waitFor("GPU metrics in Prometheus", () => query('hyperscaler_gpu_temperature_celsius{node="gpu001"}').length === 2, 90);
    const temps = query('hyperscaler_gpu_temperature_celsius{node="gpu001"}').map((r) => `${r.metric.gpu} ${r.metric.uuid} ${r.value[1]}`).sort();
    expect(temps).toEqual(["0 GPU-fake-0 40", "1 GPU-fake-1 41"]);
    expect(query('hyperscaler_gpu_memory_total_bytes{gpu="1"}')[0].value[1]).toBe(String(81559 * 2 ** 20));
    expect(query('hyperscaler_gpu_utilization_ratio{gpu="0"}')[0].value[1]).toBe("0.07");
    expect(query('hyperscaler_gpus_visible{node="gpu001"}')[0].value[1]).toBe("2");
    expect(query('hyperscaler_gpus_expected{node="gpu001"}')[0].value[1]).toBe("2");
    // What slurmctld has given to jobs, for GpuIdleWhileAllocated: both GPUs while a job holds them, none after.
    await waitFor("the controller's GPU allocation in Prometheus", () => query('slurm_node_gpus_allocated{node="gpu001"}').length === 1, 60);
    const holder = ctl("sbatch", "--parsable", "--gres=gpu:2", "--mem=64", "-o", "/dev/null", "--wrap", "sleep 60").trim();
    try {
      await waitFor("the GPU job to run", () => jobState(ctl, holder) === "RUNNING");
      expect(ctl("hyperscaler-slurm-metrics")).toContain('slurm_node_gpus_allocated{node="gpu001"} 2');
    } finally {
      ctl("scancel", holder);
    }
    await waitFor("the GPU job to end", () => !/RUNNING|COMPLETING/.test(jobState(ctl, holder) ?? ""));
    expect(ctl("hyperscaler-slurm-metrics")).toContain('slurm_node_gpus_allocated{node="gpu001"} 0');
    // The rules that watch them are loaded.
    const rules = JSON.parse(docker(["exec", `${stack}-prometheus`, "curl", "-fsS", "http://127.0.0.1:9090/api/v1/rules"])).data.groups
      .flatMap((g: { rules: { name: string }[] }) => g.rules.map((r) => r.name));
    expect(rules).toEqual(expect.arrayContaining(["GpuTemperatureHigh", "GpuMemoryHigh", "GpuMissing", "GpuIdleWhileAllocated"]));
  });
  it("opens the GPU dashboard in a headless browser: each GPU's temperature, use and memory, and the node's GPUs allocated and idle", async () => {
    const drawn = await dashboardsDrawn(dashboardsPort, stack, ["gpus"]);
    expect([...drawn.gpus.find((p) => p.title === "GPU temperature")!.series].sort()).toEqual(["gpu001 GPU 0", "gpu001 GPU 1"]);
  });

  it("scripts/gpu-check.sh walks the checks and says what fake GPUs lack: nvidia-smi lists them, CUDA finds no driver", () => {
    const r = run("bash", ["scripts/gpu-check.sh", "--stack", stack], { cwd: project.dir, env: project.backend.env });
    expect(r.code, r.output).toBe(1);
    expect(r.stdout).toMatch(/^gpu-check: node gpu001, partition batch, Gres=gpu:fake:2/m);
    expect(r.stdout).toMatch(/== 1\. a job given one GPU: nvidia-smi -L\nGPU 0: Fake GPU \(UUID: GPU-fake-0\)\nGPU 1: Fake GPU/);
    expect(r.stdout).toMatch(/== 2\. .*\ncuda-check: no CUDA driver in this node \(libcuda\.so\.1: cannot open shared object file.*\nsrun: error: gpu001: task 0: Exited with exit code 1\nFAILED: the CUDA computation did not run/);
    expect(r.stdout).toMatch(/== 3\. [^\n]*\ncuda-check: no CUDA driver in this node .*\nsrun: error: gpu001: task 0: Exited with exit code 1\nFAILED: CUDA did not run \(exit 1\), so this shows nothing/);
    expect(r.stdout).toMatch(/^gpu-check: FAILED on gpu001$/m);
  });
});
