import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { REPO } from "../support/run";
import { ok, SHARED_CPUS, TestProject } from "../support/stack";
import { docker, dockerTry } from "../support/docker";
import { jobState as slurmJobState } from "../support/slurm";
import { waitFor } from "../support/wait";

// Partition layouts other than "one default partition over everything": a group only in a
// non-default partition, a group in two partitions, partitions with MaxTime, a GPU group on
// a stand-in device (/dev/null seen as /dev/nvidia0), and prod's own layout. Each deploys,
// validates, scales, rotates and scales in, with jobs in every partition completing.
const project = new TestProject();
const clusterOf = (stack: string) => stack;
const ctlOf = (cluster: string) => (...cmd: string[]) => docker(["exec", `${cluster}-controller`, ...cmd]);
const containersOf = (cluster: string) => docker(["ps", "-a", "--filter", `label=hyperscaler.cluster=${cluster}`, "--format", "{{.Names}}"])
  .trim().split("\n").filter(Boolean).sort();
const validationOutput = (stack: string, env: NodeJS.ProcessEnv = {}) =>
  JSON.parse(ok(project.pulumiWithEnv(stack, env, "stack", "export")).stdout).deployment.resources
    .find((r: { urn: string }) => r.urn.endsWith(`::${clusterOf(stack)}-validation`)).outputs.stdout as string;

/** Removes what a stack left on the Docker host, protected and retained volumes included. */
function cleanUp(cluster: string): void {
  const left = containersOf(cluster);
  if (left.length) dockerTry(["rm", "-f", ...left]);
  const volumes = docker(["volume", "ls", "-q", "--filter", `label=hyperscaler.cluster=${cluster}`]).trim().split("\n").filter(Boolean);
  if (volumes.length) dockerTry(["volume", "rm", ...volumes]);
  dockerTry(["network", "rm", `${cluster}-net`]);
}

describe("several partitions: one group outside the default, one in two, MaxTime, fake GPUs", () => {
  const stack = `parts${process.pid}`;
  const cluster = clusterOf(stack);
  const ctl = ctlOf(cluster);
  const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
  const jobState = (id: string) => slurmJobState(ctl, id);
  const submit = (...args: string[]) => ctl("sbatch", "--parsable", "-o", "/dev/null", ...args).trim();
  /** One job in each partition, each pinned where the layout says it can run. */
  const jobInEachPartition = (seconds: number) => [
    submit("-p", "batch", "-w", "cpu001", "--wrap", `sleep ${seconds}`),
    submit("-p", "long", "-w", "big001", "--wrap", `sleep ${seconds}`),
    submit("-p", "gpu", "--gres=gpu:fake:1", "--wrap", `sleep ${seconds}`),
  ];
  const allComplete = async (jobs: string[]) => {
    await waitFor(`jobs ${jobs.join(", ")} to end`, () => jobs.every((j) => !/PENDING|RUNNING|COMPLETING/.test(jobState(j) ?? "")), 120);
    expect(jobs.map(jobState)).toEqual(jobs.map(() => "COMPLETED"));
  };
  const runningEverywhere = async (jobs: string[]) =>
    waitFor("a job running in every partition", () => jobs.every((j) => jobState(j) === "RUNNING"));

  afterAll(() => {
    pulumi("destroy", "--yes");
    cleanUp(cluster);
  });

  it("deploys and validates every node, whichever partitions hold it", () => {
    project.init(stack, [
      `  hyperscaler:clusterName: ${cluster}`,
      "  hyperscaler:nodeGroups:",
      "    cpu: { count: 1, memoryMiB: 256 }",
      "    big: { count: 1, memoryMiB: 256 }",
      "    gpu: { count: 1, memoryMiB: 256, gpus: { count: 1, type: fake, hostDevices: [/dev/null], controlDevices: [] } }",
      "  hyperscaler:partitions:",
      "    batch: { nodeGroups: [cpu, big], default: true }",
      "    long: { nodeGroups: [big], maxTimeMin: 1440 }",
      "    gpu: { nodeGroups: [gpu], maxTimeMin: 30 }",
      SHARED_CPUS,
    ].join("\n"));
    ok(pulumi("up", "--yes"));
    expect(validationOutput(stack)).toMatch(/validated: 3 nodes \(big001,cpu001,gpu001\) up after \d+s; srun hostname ran on the 3 idle/);
    // Users see their partitions, not the maintenance one, and cannot use it.
    expect(ctl("runuser", "-u", "nobody", "--", "sinfo", "-h", "-o", "%R").trim().split("\n").sort()).toEqual(["batch", "gpu", "long"]);
    const refused = dockerTry(["exec", `${cluster}-controller`, "runuser", "-u", "nobody", "--", "srun", "-p", "hyperscaler", "true"]);
    expect(refused.code, refused.output).not.toBe(0);
    expect(refused.stderr).toMatch(/User's group not permitted to use this partition/);
    expect(ctl("sinfo", "-h", "-p", "gpu", "-N", "-o", "%N").trim()).toBe("gpu001");
  });

  it("runs a job in every partition; a job above a partition's MaxTime is refused at submission", async () => {
    await allComplete(jobInEachPartition(1));
    // The GPU job got the (fake) device gres.conf names.
    expect(ctl("srun", "-p", "gpu", "--gres=gpu:fake:1", "sh", "-c", "echo $CUDA_VISIBLE_DEVICES").trim()).toBe("0");
    // A job that names no partition never lands on the GPU node.
    expect(ctl("srun", "-N2", "hostname").trim().split("\n").sort()).toEqual(["big001", "cpu001"]);
    const tooLong = dockerTry(["exec", `${cluster}-controller`, "sbatch", "-p", "gpu", "--time=31", "--wrap", "true"]);
    expect(tooLong.code).not.toBe(0);
    expect(tooLong.stderr).toMatch(/time limit/i);
  });

  it("scales the GPU group up with jobs running in every partition", async () => {
    const jobs = jobInEachPartition(15);
    await runningEverywhere(jobs);
    project.setConfig(stack, "nodeGroups.gpu.count", "2");
    const up = ok(pulumi("up", "--yes"));
    expect(up.output).not.toMatch(/replaced|deleted/);
    expect(ctl("sinfo", "-h", "-p", "gpu", "-N", "-o", "%N").trim().split("\n").sort()).toEqual(["gpu001", "gpu002"]);
    await allComplete(jobs);
  });

  it("rotates the MUNGE key with jobs running in every partition", async () => {
    const jobs = jobInEachPartition(15);
    await runningEverywhere(jobs);
    project.setConfig(stack, "rotation.mungeKeyEpoch", "1");
    ok(pulumi("up", "--yes"));
    await allComplete(jobs);
    // Every partition is up again after the pause, the maintenance one included.
    expect(ctl("sinfo", "-a", "-h", "-o", "%R %a").trim().split("\n").sort()).toEqual(["batch up", "gpu up", "hyperscaler up", "long up"]);
  });

  it("scales the GPU group in: the node in a non-default partition drains, its job completes", async () => {
    const onGpu002 = submit("-p", "gpu", "-w", "gpu002", "--wrap", "sleep 12");
    const others = jobInEachPartition(5);
    await waitFor("the job on gpu002 to start", () => jobState(onGpu002) === "RUNNING");
    project.setConfig(stack, "nodeGroups.gpu.count", "1");
    ok(pulumi("up", "--yes"));
    expect(jobState(onGpu002)).toBe("COMPLETED");
    expect(ctl("sinfo", "-a", "-h", "-N", "-o", "%N")).not.toContain("gpu002");
    await allComplete(others);
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("destroys everything it created", () => {
    ok(pulumi("destroy", "--yes"));
    expect(containersOf(cluster)).toEqual([]);
  });
});

describe("prod's own layout, with fake GPU devices and a passphrase of its own", () => {
  const stack = `prod${process.pid}`;
  const cluster = clusterOf(stack);
  const ctl = ctlOf(cluster);
  // prod refuses the published dev passphrase (hyperscaler:requireRealPassphrase).
  const env = { PULUMI_CONFIG_PASSPHRASE: `test-only-${process.pid}-${Date.now()}` };
  const pulumi = (...args: string[]) => project.pulumiWithEnv(stack, env, ...args);

  afterAll(() => {
    pulumi("state", "unprotect", "--all", "--yes");
    pulumi("destroy", "--yes");
    cleanUp(cluster);
  });

  it("deploys Pulumi.prod.yaml's layout end to end, protections and backups on", () => {
    const prod = parseYaml(fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8")).config;
    prod["hyperscaler:clusterName"] = cluster;
    // prod's one GPU per node, faked: no toolkit here, so a stand-in device file.
    prod["hyperscaler:nodeGroups"].gpu.gpus = { count: 1, type: "a100", hostDevices: ["/dev/null"], controlDevices: [] };
    // prod's web UIs on 127.0.0.1:9090/9093 would meet a dev stack running beside the tests: none here.
    prod["hyperscaler:monitoring"] = { ...prod["hyperscaler:monitoring"], prometheus: { port: false }, alertmanager: { port: false } };
    // prod asks for 27 CPUs and about 33 GiB; this 2-core, 24 GiB machine lets them share.
    prod["hyperscaler:overcommit"] = { cpu: 14, memory: 2 };
    ok(pulumi("stack", "init"));
    fs.appendFileSync(path.join(project.dir, `Pulumi.${stack}.yaml`), toYaml({ config: prod }));
    ok(pulumi("up", "--yes"));
    expect(validationOutput(stack, env)).toMatch(/validated: 10 nodes \(cpu\[001-008\],gpu\[001-002\]\) up after \d+s/);
    expect(ctl("srun", "-p", "gpu", "-N2", "--gres=gpu:a100:1", "hostname").trim().split("\n").sort()).toEqual(["gpu001", "gpu002"]);
    expect(ctl("srun", "-N8", "hostname").trim().split("\n")).toHaveLength(8);
    // Protected in state, backups scheduled and verified on demand.
    const resources = JSON.parse(ok(pulumi("stack", "export")).stdout).deployment.resources as { urn: string; protect?: boolean }[];
    for (const v of ["slurmctld-state", "postgres-data", "postgres-backups", "accounting-mariadb-data", "accounting-mariadb-backups"]) {
      expect(resources.find((r) => r.urn.endsWith(`::${cluster}-${v}`))?.protect, v).toBe(true);
    }
    expect(docker(["exec", `${cluster}-postgres`, "cat", "/etc/hyperscaler/backup.conf"])).toMatch(/INTERVAL_MIN=60\nRETAIN=48/);
    expect(docker(["exec", `${cluster}-postgres`, "hyperscaler-pg-backup", "appdb"])).toMatch(/^backup appdb-\S+: \d+ bytes, sha256 [0-9a-f]{64}, \d+ tables, verified/m);
    // Accounting: prod's account and QOS, its database's backups as PostgreSQL's.
    expect(ctl("sacctmgr", "-n", "-P", "show", "assoc", "account=research", "format=Account,User,QOS").trim()).toBe("research||normal,short");
    expect(docker(["exec", `${cluster}-mariadb`, "cat", "/etc/hyperscaler/backup.conf"])).toMatch(/INTERVAL_MIN=60\nRETAIN=48/);
  });

  it("refuses to destroy protected resources until they are unprotected; retained volumes stay", () => {
    expect(pulumi("destroy", "--yes").code).not.toBe(0);
    ok(pulumi("state", "unprotect", "--all", "--yes"));
    ok(pulumi("destroy", "--yes"));
    expect(containersOf(cluster)).toEqual([]);
    // retainOnDelete: the databases' volumes outlive the stack; the test removes them itself.
    const retained = ["postgres-data", "postgres-backups", "mariadb-data", "mariadb-backups"];
    for (const v of retained) expect(dockerTry(["volume", "inspect", `${cluster}-${v}`]).code, v).toBe(0);
    cleanUp(cluster);
    for (const v of retained) expect(dockerTry(["volume", "inspect", `${cluster}-${v}`]).code, v).not.toBe(0);
  });
});

afterAll(() => project.remove());
