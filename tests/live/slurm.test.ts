import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterSpec, ComputeNodeSpec, HostMapping } from "../../components/config";
import { compressHostlist, computeNodeEnv, renderCgroupConf, renderGresConf, renderSlurmConf } from "../../components/render";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configFrom, mixedValues } from "../support/config";
import { REPO, run } from "../support/run";
import { checkoutOf, DEBIAN_12_COMMIT, debian12Base } from "../support/previous";
import { jobState as slurmJobState, nodeState } from "../support/slurm";
import { waitFor } from "../support/wait";
import { buildRoleImage, docker, dockerTry, envList, newMungeKey } from "../support/docker";

// The rendered configs and a MUNGE key, consumed by real slurmctld, slurmd and munged in
// plain unprivileged containers, through the same image scripts the components call.
const cluster = `hslive${process.pid}`;
const net = `${cluster}-net`;
const spec = clusterSpec(configFrom({
  clusterName: cluster,
  nodeGroups: { cpu: { count: 2, cpus: 1, memoryMiB: 256 }, gpu: { count: 1, cpus: 1, memoryMiB: 256, gpus: { count: 2, type: "a100", hostDevices: ["/dev/null", "/dev/zero"], controlDevices: [] } } },
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

/** A cluster of plain containers: their names, network, the controller's configs, and docker run flags of their own. */
interface LiveCluster { name: (host: string) => string; net: string; files: Record<string, string>; flags?: string[]; image?: string }
function start(host: string, env: string[], mungeKey: Buffer, devices: readonly HostMapping[] = [], cluster: LiveCluster = { name: container, net, files }) {
  docker(["run", "-d", "--name", cluster.name(host), "--hostname", host, "--network", cluster.net, ...(cluster.flags ?? []),
    // Stand-in GPUs: any host device file works for SLURM's count-by-device-file.
    ...devices.flatMap((d) => ["--device", `${d.host}:${d.node}`]),
    "--cap-drop", "ALL", "--cap-add", "CHOWN", "--cap-add", "DAC_OVERRIDE", "--cap-add", "FOWNER", "--cap-add", "SETUID",
    "--cap-add", "SETGID", "--cap-add", "KILL", "--security-opt", "no-new-privileges", ...env.flatMap((e) => ["-e", e]), cluster.image ?? image]);
  const put = (path: string, mode: string, owner: string, content: string | Buffer) =>
    docker(["exec", "-i", cluster.name(host), "hyperscaler-install", path, mode, owner], content);
  // Configs to the controller only: compute nodes fetch theirs from it (configless).
  if (host === "controller") for (const [path, text] of Object.entries(cluster.files)) put(path, "0644", "root:root", text);
  put("/etc/munge/munge.key", "0400", "munge:munge", mungeKey);
}
const startNode = (node: ComputeNodeSpec, mungeKey = key) =>
  start(node.name, ["HYPERSCALER_ROLE=compute", ...envList(computeNodeEnv(spec, node))], mungeKey, node.gpus?.devices);
const jobState = (id: string) => slurmJobState(ctl, id);
let monitoringImage: string;
/** What a node's exporter serves, fetched from inside the cluster network. */
const scrape = (host: string) => docker(["run", "--rm", "--network", net, "--entrypoint", "curl", monitoringImage, "-fsS", `http://${host}:9100/metrics`]);

describe("rendered configs in a real SLURM cluster", () => {
  beforeAll(() => {
    image = buildRoleImage("slurm", "hyperscaler/slurm:test");
    monitoringImage = buildRoleImage("monitoring", "hyperscaler/monitoring:test");
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

  it("publishes SLURM metrics that agree with sinfo and squeue, and drains the stack made as planned", async () => {
    const running = ctl("sbatch", "--parsable", "-w", "cpu001", "--wrap", "sleep 60").trim();
    await waitFor("job to start", () => jobState(running) === "RUNNING");
    const pending = ctl("sbatch", "--parsable", "-w", "cpu001", "--wrap", "true").trim();
    ctl("scontrol", "update", "nodename=gpu001", "state=drain", "reason=disk errors");
    ctl("scontrol", "update", "nodename=cpu002", "state=drain", "reason=hyperscaler: maintenance");
    try {
      const text = ctl("hyperscaler-slurm-metrics");
      const value = (series: string) => {
        const m = text.match(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m"));
        if (!m) throw new Error(`no ${series} in:\n${text}`);
        return Number(m[1]);
      };
      expect(value("slurm_controller_up")).toBe(1);
      const states = Object.fromEntries(ctl("sinfo", "-h", "-N", "-o", "%N %T").trim().split("\n").map((l) => l.split(" ")));
      expect(states).toEqual({ cpu001: "allocated", cpu002: "drained", gpu001: "drained" });
      expect(value('slurm_nodes{state="allocated"}')).toBe(1);
      expect(value('slurm_nodes{state="drained"}')).toBe(2);
      expect(value('slurm_nodes{state="idle"}')).toBe(0);
      expect(value('slurm_node_state{node="gpu001",state="drained",planned="false"}')).toBe(1);
      expect(value('slurm_node_state{node="cpu002",state="drained",planned="true"}')).toBe(1);
      const count = (state: string) => ctl("squeue", "-h", "-t", state, "-o", "%i").trim().split("\n").filter(Boolean).length;
      expect(value('slurm_jobs{state="running"}')).toBe(count("R"));
      expect(value('slurm_jobs{state="pending"}')).toBe(count("PD"));
      expect(count("PD")).toBeGreaterThanOrEqual(1);
      // The longest wait is the oldest pending job's age, by SLURM's own clock.
      const oldest = Number(ctl("sh", "-c", "squeue -h -t PD -o %V | sort | head -1 | xargs -I{} date -d {} +%s").trim());
      const now = Number(ctl("date", "+%s").trim());
      expect(Math.abs(value("slurm_queue_wait_seconds_max") - (now - oldest))).toBeLessThanOrEqual(20);
      // %C is allocated/idle/other/total CPUs of the partition.
      const [alloc, idle, other, total] = ctl("sinfo", "-h", "-p", "batch", "-o", "%C").trim().split("/").map(Number);
      expect([alloc, idle, other, total]).toEqual([1, 0, 2, 3]);
      expect(value('slurm_partition_cpus{partition="batch",state="allocated"}')).toBe(alloc);
      expect(value('slurm_partition_cpus{partition="batch",state="other"}')).toBe(other);
      expect(value('slurm_partition_cpus{partition="batch",state="total"}')).toBe(total);
      expect(value('slurm_partition_nodes{partition="batch"}')).toBe(3);
      // The node exporter serves them (textfile collector) with MUNGE's health, on every node.
      await waitFor("controller's exporter to serve SLURM metrics", () => scrape("controller").includes("slurm_controller_up 1"), 40);
      await waitFor("cpu001's exporter to report MUNGE working", () => /^hyperscaler_munge_ok 1$/m.test(scrape("cpu001")), 20);
      expect(scrape("cpu001")).toMatch(/^node_cpu_seconds_total\{/m);
    } finally {
      ctl("scancel", running, pending);
      ctl("scontrol", "update", "nodename=gpu001,cpu002", "state=resume");
    }
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

  it("brings a restarted node back each time slurmctld reads its first seconds as a reboot", async () => {
    const state = () => nodeState(ctl, "cpu001");
    const since = String(Math.floor(Date.now() / 1000));
    docker(["restart", "-t", "5", container("cpu001")]);
    await waitFor("cpu001 to be resumed after its restart", () => /resumed after its container \(re\)start/.test(docker(["logs", "--since", since, container("cpu001")])), 60);
    await waitFor("cpu001 to be idle", () => state() === "idle", 30);
    // What slurmctld does when a second registration comes in the node's first seconds
    // (seen in CI: the node stayed DOWN and an srun waited for it for an hour).
    ctl("scontrol", "update", "nodename=cpu001", "state=down", "reason=Node unexpectedly rebooted");
    await waitFor("cpu001 to be resumed again", () => state() === "idle", 15);
    expect(ctl("srun", "-N1", "-w", "cpu001", "--immediate=30", "hostname").trim()).toBe("cpu001");
  });

  it("keeps out a node whose key is wrong, says which node is missing, and counts the rejected credentials", async () => {
    const rejected = () => (dockerTry(["exec", container("controller"), "cat", "/var/log/munge/munged.log"]).stdout.match(/Invalid credential/g) ?? []).length;
    const before = rejected();
    startNode({ name: "cpu009", group: "cpu", cpus: 1, memoryMiB: 256, features: ["cpu"] }, newMungeKey());
    const r = dockerTry(["exec", container("controller"), "hyperscaler-validate", "cpu[001,009]", "10"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/missing: cpu009/);
    // The controller's munged says why: the new node's credentials do not decode with the cluster's key.
    expect(rejected()).toBeGreaterThan(before);
    // The controller's munged counts the credentials it rejected: what MungeCredentialFailures alerts on.
    await waitFor("the controller's exporter to count rejected credentials", () =>
      Number(scrape("controller").match(/^hyperscaler_munge_credential_errors_total (\d+)$/m)?.[1] ?? 0) > 0, 40);
  });

  it("scales in: drains, waits for the job running on the node, then removes it from SLURM", async () => {
    const job = ctl("sbatch", "--parsable", "-w", "cpu002", "--wrap", "sleep 5").trim();
    await waitFor("job to start", () => jobState(job) === "RUNNING");
    expect(ctl("hyperscaler-node-remove", "cpu002", "60")).toMatch(/cpu002: drained after \d+s and removed from SLURM/);
    expect(jobState(job)).toBe("COMPLETED");
    expect(ctl("sinfo", "-h", "-N", "-o", "%N")).not.toContain("cpu002");
    expect(ctl("hyperscaler-node-remove", "cpu002")).toMatch(/already removed/);
  });

  it("takes the throughput tuning profile by scontrol reconfigure, and runs jobs with it", async () => {
    const tuned = renderSlurmConf({ ...spec, tuning: "throughput" });
    install("controller", "/etc/slurm/slurm.conf", "0644", "root:root", tuned);
    ctl("scontrol", "reconfigure");
    const config = ctl("scontrol", "show", "config");
    expect(config).toMatch(/DefMemPerCPU\s*=\s*256/);
    expect(config).toMatch(/SchedulerParameters\s*=\s*default_queue_depth=1000/);
    // Configless: reconfigure pushed the new file to the compute nodes' config cache.
    await waitFor("cpu001 to get the new slurm.conf", () =>
      dockerTry(["exec", container("cpu001"), "cat", "/run/slurm/conf/slurm.conf"]).stdout === tuned);
    expect(ctl("srun", "-N1", "-w", "cpu001", "hostname").trim()).toBe("cpu001");
    // The profile's do-nothing Epilog runs after each job: a batch job completes and leaves
    // its node idle (an Epilog that failed would drain it).
    expect(config).toMatch(/^Epilog(\[0\])?\s*=\s*\/bin\/true$/m);
    const job = ctl("sbatch", "--parsable", "-w", "cpu001", "-o", "/dev/null", "--wrap", "true").trim();
    await waitFor(`job ${job} to complete`, () => /JobState=COMPLETED/.test(ctl("scontrol", "show", "job", job)));
    await waitFor("cpu001 to be idle after the epilog", () => ctl("sinfo", "-h", "-n", "cpu001", "-o", "%t").trim() === "idle");
  });

  it("keeps a job running on a dynamic node across scontrol reconfigure; the node is idle after it and can be deleted", async () => {
    // SLURM 22.05 lost dynamic nodes' ports on reconfigure (the node stayed ALLOCATED after
    // its job): every config change then needed a slurmctld restart. 24.11 keeps them.
    const job = ctl("sbatch", "--parsable", "-w", "cpu001", "-o", "/dev/null", "--wrap", "sleep 4").trim();
    await waitFor(`job ${job} to run`, () => jobState(job) === "RUNNING");
    ctl("hyperscaler-reconfigure");
    expect(jobState(job)).toBe("RUNNING");
    await waitFor(`job ${job} to complete after the reconfigure`, () => jobState(job) === "COMPLETED", 60);
    await waitFor("cpu001 to be idle after its job", () => ctl("sinfo", "-h", "-n", "cpu001", "-o", "%t").trim() === "idle", 30);
    expect(ctl("srun", "-N1", "-w", "cpu001", "hostname").trim()).toBe("cpu001");
    docker(["rm", "-f", container("cpu001")]);
    ctl("scontrol", "update", "nodename=cpu001", "state=down", "reason=removed");
    ctl("scontrol", "delete", "nodename=cpu001");
    expect(dockerTry(["exec", container("controller"), "scontrol", "show", "node", "cpu001"]).output).toMatch(/not found/i);
  });

  it("reads the mixed layout's golden slurm.conf and gres.conf in a real slurmctld: partitions over node sets, the hidden one first", async () => {
    // The reviewed golden files themselves (tests/render keeps them equal to what the renderer makes).
    const golden = (f: string) => fs.readFileSync(path.join(REPO, "tests/render/golden", f), "utf8");
    const mixed = { name: (host: string) => `${cluster}-mixed-${host}`, net: `${cluster}-mixed`,
      files: { "/etc/slurm/slurm.conf": golden("mixed.slurm.conf"), "/etc/slurm/gres.conf": golden("mixed.gres.conf"), "/etc/slurm/cgroup.conf": renderCgroupConf() } };
    const mixedSpec = clusterSpec(configFrom(mixedValues));
    docker(["network", "create", mixed.net]);
    try {
      start("controller", ["HYPERSCALER_ROLE=controller"], key, [], mixed);
      // One node of each group, registered the way the stack registers them (dynamic, its group's node set).
      for (const name of ["cpu001", "gpu001"]) {
        const node = mixedSpec.nodes.find((n) => n.name === name)!;
        start(name, ["HYPERSCALER_ROLE=compute", ...envList(computeNodeEnv(mixedSpec, node))], key,
          node.gpus ? [{ host: "/dev/null", node: "/dev/nvidia0" }, { host: "/dev/zero", node: "/dev/nvidia1" }] : [], mixed);
      }
      const mctl = (...cmd: string[]) => docker(["exec", mixed.name("controller"), ...cmd]);
      await waitFor("both nodes to register with the mixed controller", () =>
        /cpu001/.test(dockerTry(["exec", mixed.name("controller"), "sinfo", "-h", "-p", "batch", "-N", "-o", "%N %t"]).stdout) &&
        /gpu001 idle/.test(dockerTry(["exec", mixed.name("controller"), "sinfo", "-h", "-p", "gpu", "-N", "-o", "%N %t"]).stdout), 90);
      const partitions = mctl("scontrol", "show", "partition", "-o");
      expect(partitions).toMatch(/PartitionName=batch .*Default=YES.*MaxTime=UNLIMITED.*Nodes=cpu001/);
      expect(partitions).toMatch(/PartitionName=gpu .*MaxTime=04:00:00.*Nodes=cpu001,gpu001|PartitionName=gpu .*MaxTime=04:00:00.*Nodes=gpu001,cpu001/);
      expect(partitions).toMatch(/PartitionName=hyperscaler .*Hidden=YES.*PriorityTier=65533/);
      expect(mctl("sinfo", "-h", "-p", "batch", "-N", "-o", "%N").trim()).toBe("cpu001");
      expect(mctl("srun", "-p", "gpu", "-w", "gpu001", "--gres=gpu:a100:2", "hostname").trim()).toBe("gpu001");
    } finally {
      const names = docker(["ps", "-aq", "--filter", `name=^${cluster}-mixed-`]).split("\n").filter(Boolean);
      if (names.length) dockerTry(["rm", "-f", ...names]);
      dockerTry(["network", "rm", mixed.net]);
    }
  });
});

describe("on a cgroup v2 host, as an unprivileged container sees it", () => {
  // /sys/fs/cgroup a read-only cgroup2 mount in the container's own cgroup namespace: what
  // Docker gives every container on a cgroup v2 workstation, made here on a v1 host.
  const v2: LiveCluster = { name: (host) => `${cluster}-v2-${host}`, net: `${cluster}-v2`, files, flags: [] };
  let view = "";
  const v2ctl = (...cmd: string[]) => docker(["exec", v2.name("controller"), ...cmd]);
  beforeAll(() => {
    view = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-cgroup2-"));
    execFileSync("mount", ["-t", "cgroup2", "none", view]);
    v2.flags = ["--cgroupns", "private", "-v", `${view}:/sys/fs/cgroup:ro`];
    if (!image) image = buildRoleImage("slurm", "hyperscaler/slurm:test");
    docker(["network", "create", v2.net]);
  });
  afterAll(() => {
    const names = docker(["ps", "-aq", "--filter", `name=^${cluster}-v2`]).split("\n").filter(Boolean);
    if (names.length) dockerTry(["rm", "-f", ...names]);
    dockerTry(["network", "rm", v2.net]);
    if (view) { run("umount", [view]); fs.rmSync(view, { recursive: true, force: true }); }
  });

  it("sees cgroup2 read-only: the view is what the test says it is", () => {
    const r = dockerTry(["run", "--rm", ...v2.flags!, "--entrypoint", "sh", image, "-c", "stat -fc %T /sys/fs/cgroup; touch /sys/fs/cgroup/x"]);
    expect(r.stdout.trim()).toBe("cgroup2fs");
    expect(r.stderr).toMatch(/Read-only file system/);
  });

  it("registers slurmctld and two dynamic slurmd, runs a job across them, and kills a step past its --mem", async () => {
    start("controller", ["HYPERSCALER_ROLE=controller"], key, [], v2);
    for (const node of spec.nodes.filter((n) => n.group === "cpu")) {
      start(node.name, ["HYPERSCALER_ROLE=compute", ...envList(computeNodeEnv(spec, node))], key, [], v2);
    }
    await waitFor("both nodes to register", () => /^cpu\[001-002\] idle$/m.test(dockerTry(["exec", v2.name("controller"), "sinfo", "-h", "-p", "batch", "-o", "%N %t"]).stdout), 90);
    expect(v2ctl("srun", "-N2", "-p", "batch", "hostname").trim().split("\n").sort()).toEqual(["cpu001", "cpu002"]);
    // 150 MiB held for 20 s against --mem=32M: the next memory poll (5 s) kills it.
    const job = v2ctl("sbatch", "--parsable", "-p", "batch", "--mem=32M", "-o", "/tmp/oom.out",
      "--wrap", "{ head -c 150M /dev/zero; sleep 20; } | tail -c 150M >/dev/null").trim();
    await waitFor(`job ${job} to end`, () => !/JobState=(PENDING|RUNNING|COMPLETING)/.test(v2ctl("scontrol", "show", "job", job)), 60);
    // Polling kills the step with SIGKILL; slurmstepd writes why into the job's output.
    expect(v2ctl("scontrol", "show", "job", job)).toMatch(/JobState=(OUT_OF_MEMORY|FAILED Reason=RaisedSignal:9)/);
    const node = /BatchHost=(\S+)/.exec(v2ctl("scontrol", "show", "job", job))![1];
    expect(docker(["exec", v2.name(node), "cat", "/tmp/oom.out"])).toMatch(/exceeded (job )?memory limit/i);
    // A job within its --mem runs to the end.
    const fits = v2ctl("sbatch", "--parsable", "-p", "batch", "--mem=64M", "-o", "/dev/null", "--wrap", "{ head -c 16M /dev/zero; sleep 6; } | tail -c 16M >/dev/null").trim();
    await waitFor(`job ${fits} to complete`, () => /JobState=COMPLETED/.test(v2ctl("scontrol", "show", "job", fits)), 60);
  });

  it("is where the Debian 12 image (SLURM 22.05, its own configs) cannot start slurmd: the difference is the release", async () => {
    const old = checkoutOf(DEBIAN_12_COMMIT, "debian12");
    try {
      const oldImage = buildRoleImage("slurm", "hyperscaler/slurm:debian12", debian12Base(old), path.join(old, "images"));
      const golden = (f: string) => fs.readFileSync(path.join(old, "tests/render/golden", f), "utf8");
      const oldCgroup = /renderCgroupConf\(\): string \{\s*return \[HEADER, ([^\]]+)\]/.exec(fs.readFileSync(path.join(old, "components/render/slurm.ts"), "utf8"))![1]
        .split(",").map((x) => x.trim().replace(/^"|"$/g, "")).join("\n");
      const old22: LiveCluster = { ...v2, name: (host) => `${cluster}-v2old-${host}`, net: `${cluster}-v2old`, image: oldImage,
        files: { "/etc/slurm/slurm.conf": golden("dev.slurm.conf").replace(/ClusterName=dev/, `ClusterName=${cluster}`), "/etc/slurm/cgroup.conf": oldCgroup + "\n", "/etc/slurm/gres.conf": golden("dev.gres.conf") } };
      expect(docker(["run", "--rm", "--entrypoint", "slurmd", oldImage, "-V"])).toMatch(/slurm-wlm 22\.05/);
      docker(["network", "create", old22.net]);
      start("controller", ["HYPERSCALER_ROLE=controller"], key, [], old22);
      const node = spec.nodes.find((n) => n.name === "cpu001")!;
      start("cpu001", ["HYPERSCALER_ROLE=compute", ...envList(computeNodeEnv(spec, node))], key, [], old22);
      await waitFor("the 22.05 slurmd to give up", () => /cgroup|Hybrid mode/i.test(dockerTry(["logs", old22.name("cpu001")]).output) &&
        !/slurmd/.test(dockerTry(["exec", old22.name("cpu001"), "pgrep", "-l", "slurmd"]).stdout), 90);
      expect(dockerTry(["logs", old22.name("cpu001")]).output).toMatch(/fatal|Plugin init\(\) callback failed|Hybrid mode is not supported/);
    } finally {
      const names = docker(["ps", "-aq", "--filter", `name=^${cluster}-v2old-`]).split("\n").filter(Boolean);
      if (names.length) dockerTry(["rm", "-f", ...names]);
      dockerTry(["network", "rm", `${cluster}-v2old`]);
      fs.rmSync(old, { recursive: true, force: true });
    }
  });
});
