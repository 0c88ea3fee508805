import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterSpec, ComputeNodeSpec } from "../../components/config";
import { compressHostlist, nodeConf, renderCgroupConf, renderGresConf, renderSlurmConf } from "../../components/render";
import { configFrom } from "../support/config";
import { jobState as slurmJobState } from "../support/slurm";
import { waitFor } from "../support/wait";
import { buildRoleImage, docker, dockerTry, newMungeKey } from "../support/docker";

// The rendered configs and a MUNGE key, consumed by real slurmctld, slurmd and munged in
// plain unprivileged containers, through the same image scripts the components call.
const cluster = `hslive${process.pid}`;
const net = `${cluster}-net`;
const spec = clusterSpec(configFrom({
  clusterName: cluster,
  nodeGroups: { cpu: { count: 2, cpus: 1, memoryMiB: 256 }, gpu: { count: 1, cpus: 1, memoryMiB: 256, gpus: { count: 2, type: "a100", hostDevices: ["/dev/null", "/dev/zero"] } } },
}));
const files = {
  "/etc/slurm/slurm.conf": renderSlurmConf(spec),
  "/etc/slurm/cgroup.conf": renderCgroupConf(),
  "/etc/slurm/gres.conf": renderGresConf(spec),
};
let image: string;
let key = newMungeKey();

const container = (host: string) => `${cluster}-${host}`;
const ctl = (...cmd: string[]) => docker(["exec", container("controller"), ...cmd]);
const install = (host: string, path: string, mode: string, owner: string, content: string | Buffer) =>
  docker(["exec", "-i", container(host), "hyperscaler-install", path, mode, owner], content);

function start(host: string, env: string[], mungeKey: Buffer, devices: readonly string[] = []) {
  docker(["run", "-d", "--name", container(host), "--hostname", host, "--network", net,
    // Stand-in GPUs: any host device file works for SLURM's count-by-device-file.
    ...devices.flatMap((d, i) => ["--device", `${d}:/dev/nvidia${i}`]),
    "--cap-drop", "ALL", "--cap-add", "CHOWN", "--cap-add", "DAC_OVERRIDE", "--cap-add", "FOWNER", "--cap-add", "SETUID",
    "--cap-add", "SETGID", "--cap-add", "KILL", "--security-opt", "no-new-privileges", ...env.flatMap((e) => ["-e", e]), image]);
  for (const [path, text] of Object.entries(files)) install(host, path, "0644", "root:root", text);
  install(host, "/etc/munge/munge.key", "0400", "munge:munge", mungeKey);
}
const startNode = (node: ComputeNodeSpec, mungeKey = key) =>
  start(node.name, ["HYPERSCALER_ROLE=compute", `HYPERSCALER_NODE_CONF=${nodeConf(node)}`], mungeKey, node.gpus?.hostDevices);
const jobState = (id: string) => slurmJobState(ctl, id);

describe("rendered configs in a real SLURM cluster", () => {
  beforeAll(() => {
    image = buildRoleImage("slurm", "hyperscaler/slurm:test");
    docker(["network", "create", net]);
    start("controller", ["HYPERSCALER_ROLE=controller"], key);
    spec.nodes.forEach((n) => startNode(n));
  });
  afterAll(() => {
    const names = docker(["ps", "-aq", "--filter", `name=^${cluster}-`]).split("\n").filter(Boolean);
    if (names.length) dockerTry(["rm", "-f", ...names]);
    dockerTry(["network", "rm", net]);
  });

  const all = () => compressHostlist(spec.nodes.map((n) => n.name));

  it("ships no MUNGE key in the image: every node waits for the cluster's", () => {
    const r = dockerTry(["run", "--rm", "--entrypoint", "ls", image, "-A", "/etc/munge"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout.trim()).toBe("");
  });

  it("brings every node up and runs a job step across all of them", () => {
    expect(all()).toBe("cpu[001-002],gpu001");
    expect(ctl("hyperscaler-validate", all(), "120")).toMatch(/validated: 3 nodes/);
  });

  it("agrees with SLURM on hostlist expressions", () => {
    expect(ctl("scontrol", "show", "hostnames", all()).trim().split("\n")).toEqual(spec.nodes.map((n) => n.name));
  });

  it("registers each dynamic node with the CPUs, memory, features and GPUs its group asks for", () => {
    const gpu = ctl("scontrol", "show", "node", "gpu001");
    expect(gpu).toMatch(/CPUTot=1 /);
    expect(gpu).toMatch(/RealMemory=256 /);
    expect(gpu).toMatch(/AvailableFeatures=gpu\b/);
    expect(gpu).toMatch(/Gres=gpu:a100:2/);
    expect(ctl("sinfo", "-h", "-p", "batch", "-o", "%N")).toContain("gpu001");
    expect(ctl("srun", "-w", "gpu001", "--gres=gpu:a100:2", "sh", "-c", "echo $CUDA_VISIBLE_DEVICES").trim()).toBe("0,1");
  });

  it("rotates the MUNGE key in place: a running job completes and new jobs run", async () => {
    const job = ctl("sbatch", "--parsable", "-w", "cpu002", "--wrap", "sleep 6").trim();
    await waitFor("job to start", () => jobState(job) === "RUNNING");
    key = newMungeKey();
    for (const host of ["controller", ...spec.nodes.map((n) => n.name)]) {
      install(host, "/etc/munge/munge.key", "0400", "munge:munge", key);
      expect(docker(["exec", container(host), "hyperscaler-munge-restart"])).toMatch(/munge key sha256:/);
    }
    expect(ctl("srun", "-N1", "-w", "cpu001", "hostname").trim()).toBe("cpu001");
    await waitFor("job to finish", () => jobState(job) !== "RUNNING");
    expect(jobState(job)).toBe("COMPLETED");
  });

  it("keeps out a node whose key is wrong, and says which node is missing", () => {
    startNode({ name: "cpu009", group: "cpu", cpus: 1, memoryMiB: 256, features: ["cpu"] }, newMungeKey());
    const r = dockerTry(["exec", container("controller"), "hyperscaler-validate", "cpu[001,009]", "10"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/missing: cpu009/);
    expect(docker(["logs", container("cpu009")]) + docker(["logs", container("controller")])).toMatch(/(Invalid credential|Unauthorized|authentication|munge)/i);
  });

  it("scales in: drains, waits for the job running on the node, then removes it from SLURM", async () => {
    const job = ctl("sbatch", "--parsable", "-w", "cpu002", "--wrap", "sleep 5").trim();
    await waitFor("job to start", () => jobState(job) === "RUNNING");
    expect(ctl("hyperscaler-node-remove", "cpu002", "60")).toMatch(/cpu002: drained after \d+s and removed from SLURM/);
    expect(jobState(job)).toBe("COMPLETED");
    expect(ctl("sinfo", "-h", "-N", "-o", "%N")).not.toContain("cpu002");
    expect(ctl("hyperscaler-node-remove", "cpu002")).toMatch(/already removed/);
  });
});
