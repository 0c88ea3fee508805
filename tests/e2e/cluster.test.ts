import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, leakedSecrets, readTree, RunResult } from "../support/run";
import { ok, TestProject, SHARED_CPUS } from "../support/stack";
import { docker, dockerTry } from "../support/docker";
import { endJob, jobState as slurmJobState, RUNS_UNTIL_ENDED } from "../support/slurm";
import { waitFor } from "../support/wait";

// The dev stack's whole life with the real engine, the local backend and local Docker:
// deploy, scale up, scale down under a running job, rotate under a running job, refuse
// bad input, drift, destroy. Every step checks the cluster itself, not only the exit code.
const stack = `e2e${process.pid}`;
const cluster = stack;
const project = new TestProject();
const timings: Record<string, number> = {};

const pulumiIn = (stackName: string, ...args: string[]) => project.pulumi(stackName, ...args);
const pulumi = (...args: string[]) => pulumiIn(stack, ...args);
const setConfig = (key: string, value: string) => project.setConfig(stack, key, value);
function timed(step: string, f: () => RunResult): RunResult {
  const start = Date.now();
  const r = ok(f());
  timings[step] = (Date.now() - start) / 1000;
  return r;
}
const ctl = (...cmd: string[]) => docker(["exec", `${cluster}-controller`, ...cmd]);
const jobState = (id: string) => slurmJobState(ctl, id);
const hostnames = (n: number) => ctl("srun", `-N${n}`, "hostname").trim().split("\n").sort();
const containerIds = () => Object.fromEntries(docker(["ps", "-a", "--filter", `label=hyperscaler.cluster=${cluster}`, "--format", "{{.Names}} {{.ID}}"])
  .trim().split("\n").filter(Boolean).map((l) => l.split(" ")));
const manifest = () => project.output(stack, "manifest");
const resourceCount = (stackName: string) => project.resourceCount(stackName);
const submit = async (node: string, seconds: number | "until ended") => {
  const id = ctl("sbatch", "--parsable", "-w", node, "--wrap", seconds === "until ended" ? RUNS_UNTIL_ENDED : `sleep ${seconds}`).trim();
  await waitFor(`job ${id} to start on ${node}`, () => jobState(id) === "RUNNING");
  return id;
};
const stackWith = (name: string, config: string) => project.init(name, config);

beforeAll(() => {
  stackWith(stack, `  hyperscaler:clusterName: ${cluster}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 2\n      memoryMiB: 256\n` + SHARED_CPUS);
});
afterAll(() => {
  pulumi("destroy", "--yes");
  const left = Object.keys(containerIds());
  if (left.length) dockerTry(["rm", "-f", ...left]);
  project.remove();
  console.log(`e2e step times (s): ${JSON.stringify(timings)}`);
});

describe("bad input fails before any resource exists, naming the config path", () => {
  it.each([
    ["a zero count and a typo", "  hyperscaler:clusterName: bad1\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 0\n      cpu: 2\n",
      [/hyperscaler:nodeGroups\.cpu\.count: must be at least 1 node/, /hyperscaler:nodeGroups\.cpu: unknown key 'cpu'/]],
    ["an invalid hostname and an unknown partition group", "  hyperscaler:clusterName: Bad_Name\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n" +
      "  hyperscaler:partitions:\n    batch:\n      nodeGroups: [gpu]\n      default: true\n",
    [/hyperscaler:clusterName: must be a lowercase DNS label .*given: "Bad_Name"/, /partitions\.batch\.nodeGroups\.0: names unknown node group 'gpu'/]],
    ["GPUs without a type and memory below a node's minimum", "  hyperscaler:clusterName: bad3\n  hyperscaler:nodeGroups:\n    gpu:\n      count: 1\n      memoryMiB: 100\n      gpus:\n        count: 1\n",
      [/nodeGroups\.gpu\.gpus\.type: GPUs need a GRES type/, /nodeGroups\.gpu\.memoryMiB: must be at least 256 MiB/]],
    ["a base image that does not exist", "  hyperscaler:clusterName: bad4\n  hyperscaler:baseImage: hyperscaler/no-such-base:1\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n",
      [/hyperscaler:baseImage: image 'hyperscaler\/no-such-base:1' is not on the Docker host; run scripts\/setup\.sh/]],
    ["a GPU device that is not on the host", "  hyperscaler:clusterName: bad6\n  hyperscaler:nodeGroups:\n    gpu:\n      count: 1\n      gpus:\n        count: 1\n        type: a100\n        hostDevices: [/dev/no-such-gpu0]\n",
      [/hyperscaler:nodeGroups\.gpu\.gpus\.hostDevices: \/dev\/no-such-gpu0 not on this host/]],
    ["GPUs through a container toolkit the Docker host does not have", "  hyperscaler:clusterName: bad9\n  hyperscaler:nodeGroups:\n    gpu:\n      count: 1\n      gpus: { count: 1, type: a100, access: toolkit }\n",
      [/hyperscaler:nodeGroups\.gpu\.gpus\.access: the Docker host cannot give a container GPUs 0 with the NVIDIA container toolkit \(.+\); install the toolkit there/]],
    ["CDI GPUs the host's CDI specs do not define", "  hyperscaler:clusterName: bad10\n  hyperscaler:nodeGroups:\n    gpu:\n      count: 1\n      gpus: { count: 2, type: a100, access: cdi }\n",
      [/hyperscaler:nodeGroups\.gpu\.gpus\.ids: no CDI spec in \/etc\/cdi or \/var\/run\/cdi defines nvidia\.com\/gpu=0, nvidia\.com\/gpu=1; generate the spec with nvidia-ctk cdi generate/]],
    ["an official PostgreSQL image that is not on the host", "  hyperscaler:clusterName: bad7\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n  hyperscaler:postgres:\n    image: postgres:17.998-trixie\n",
      [/hyperscaler:postgres\.image: image 'postgres:17\.998-trixie' is not on the Docker host; run `docker pull postgres:17\.998-trixie` first/]],
    ["a node bigger than the Docker host", "  hyperscaler:clusterName: bad8\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n      cpus: 512\n",
      [/hyperscaler:nodeGroups\.cpu\.cpus: 512 CPUs for cpu001 but the Docker host has \d+ CPUs and \d+ MiB; give it at most \d+/,
        /hyperscaler:overcommit\.cpu: the containers ask for 513 CPUs together .* pulumi config set --path hyperscaler:overcommit\.cpu/]],
    ["a prod-like stack given the dev passphrase", "  hyperscaler:clusterName: bad5\n  hyperscaler:requireRealPassphrase: true\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n",
      [/refused, nothing written: the published dev passphrase is for the stack 'dev' only/], { PULUMI_CONFIG_PASSPHRASE: "hyperscaler-dev-only" }],
  ] as [string, string, RegExp[], NodeJS.ProcessEnv?][])("refuses %s", (_what, config, messages, env = {}) => {
    const name = `bad${messages.length}${Math.random().toString(36).slice(2, 8)}`;
    stackWith(name, config);
    const r = project.pulumiWithEnv(name, env, "up", "--yes");
    expect(r.code).not.toBe(0);
    for (const m of messages) expect(r.output).toMatch(m);
    expect(resourceCount(name)).toBe(0);
  });
});

describe("a host port the config publishes, held by someone else", () => {
  const port = freePort();
  const config = (name: string) => `  hyperscaler:clusterName: ${name}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n` +
    `  hyperscaler:monitoring:\n    prometheus:\n      port: ${port}\n    alertmanager:\n      port: ${port}\n`;

  it("refuses it before anything exists, naming the config path and the holder: another program, another stack's container, the same port twice", async () => {
    const name = `port${process.pid}`;
    stackWith(name, config(name));
    const server = net.createServer().listen(port, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    let byProgram;
    try {
      byProgram = project.pulumi(name, "up", "--yes");
    } finally {
      server.close();
    }
    expect(byProgram.code).not.toBe(0);
    expect(byProgram.output).toMatch(new RegExp(`hyperscaler:monitoring\\.prometheus\\.port: port ${port} on 127\\.0\\.0\\.1 is held by program node \\(pid ${process.pid}\\) on this host; choose another: pulumi config set --path hyperscaler:monitoring\\.prometheus\\.port <port>`));
    expect(byProgram.output).toMatch(new RegExp(`hyperscaler:monitoring\\.alertmanager\\.port: port ${port} is also hyperscaler:monitoring\\.prometheus\\.port's; give each its own`));
    expect(resourceCount(name)).toBe(0);

    const holder = `${name}-holder`;
    docker(["run", "-d", "--name", holder, "--label", "hyperscaler.cluster=someone", "-p", `127.0.0.1:${port}:80`, "--entrypoint", "sleep", process.env.HYPERSCALER_BASE_IMAGE!, "300"]);
    let byContainer;
    try {
      byContainer = project.pulumi(name, "up", "--yes");
    } finally {
      dockerTry(["rm", "-f", holder]);
    }
    expect(byContainer.code).not.toBe(0);
    expect(byContainer.output).toMatch(new RegExp(`hyperscaler:monitoring\\.prometheus\\.port: port ${port} is held by container '${holder}' \\(cluster someone\\)`));
    expect(resourceCount(name)).toBe(0);
  });
});

describe("a missing base image with toolkit GPUs", () => {
  it("is the one problem named: the GPU probe, which would run that image, does not run", () => {
    const name = `badgpu${Math.random().toString(36).slice(2, 8)}`;
    stackWith(name, "  hyperscaler:clusterName: bad11\n  hyperscaler:baseImage: hyperscaler/no-such-base:1\n  hyperscaler:nodeGroups:\n" +
      "    gpu:\n      count: 1\n      gpus: { count: 1, type: a100, access: toolkit }\n");
    const r = project.pulumi(name, "up", "--yes");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/hyperscaler:baseImage: image 'hyperscaler\/no-such-base:1' is not on the Docker host/);
    expect(r.output).not.toMatch(/gpus\.access/);
    expect(resourceCount(name)).toBe(0);
  });
});

describe("the dev stack's life with jobs running", () => {
  it("deploys from nothing to a cluster that runs a job on every compute node", () => {
    const up = timed("deploy", () => pulumi("up", "--yes"));
    expect(up.output).toMatch(/\+ 23 created/);
    const validation = JSON.parse(ok(pulumi("stack", "export")).stdout).deployment.resources
      .find((r: { urn: string }) => r.urn.endsWith(`::${cluster}-validation`));
    expect(validation.outputs.stdout).toMatch(/validated: 2 nodes \(cpu\[001-002\]\) up after \d+s; srun hostname ran on the 2 idle, 0 busy with jobs/);
    expect(hostnames(2)).toEqual(["cpu001", "cpu002"]);
    const m = manifest();
    expect(m.computeNodes.map((n: { container: string }) => n.container)).toEqual([`${cluster}-cpu001`, `${cluster}-cpu002`]);
    expect(m.slurmVersion).toMatch(/^slurm-wlm 24\.11/);
    expect(m.mungeKey).toEqual({ fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/), epoch: 0 });
    // The key in the containers is the one the manifest fingerprints, and never in state in any encoding.
    const key = Buffer.from(docker(["exec", `${cluster}-cpu001`, "base64", "-w0", "/etc/munge/munge.key"]), "base64");
    expect(key.length).toBe(1024);
    const logs = Object.keys(containerIds()).map((c) => dockerTry(["logs", c]).output).join("\n");
    expect(leakedSecrets(readTree(project.backend.dir) + up.output + JSON.stringify(m) + logs, { mungeKey: key })).toEqual([]);
  });

  it("holds its cluster's name: a second checkout's stack of that name is refused before it makes or adopts anything", () => {
    const before = containerIds();
    const claim = docker(["volume", "inspect", "--format", '{{index .Labels "hyperscaler.stack"}}', `${cluster}-claim`]).trim();
    expect(claim).toBe(`${project.backend.env.PULUMI_BACKEND_URL}#organization/hyperscaler/${stack}`);
    // Another checkout, its own backend, the same stack and cluster name: what a colleague's clone does.
    const other = new TestProject();
    try {
      other.init(stack, `  hyperscaler:clusterName: ${cluster}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n` + SHARED_CPUS);
      for (const command of ["preview", "up"]) {
        const r = other.pulumi(stack, command, ...(command === "up" ? ["--yes"] : []));
        expect(r.code).not.toBe(0);
        expect(r.output).toContain(`hyperscaler:clusterName: '${cluster}' is held by another stack, ${claim} (volume ${cluster}-claim; its objects: container ${cluster}-`);
        expect(r.output).toContain(`volume ${cluster}-slurmctld-state`);
      }
      expect(other.resourceCount(stack)).toBe(0);
    } finally {
      other.remove();
    }
    // Objects of that name no stack claims (here one volume made by hand) are refused to a new stack as well.
    const stray = `stray${process.pid}`;
    docker(["volume", "create", `${stray}-mariadb-data`]);
    try {
      stackWith(stray, `  hyperscaler:clusterName: ${stray}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n` + SHARED_CPUS);
      const r = pulumiIn(stray, "up", "--yes");
      expect(r.code).not.toBe(0);
      expect(r.output).toContain(`hyperscaler:clusterName: '${stray}' is in use by Docker objects this stack did not make: volume ${stray}-mariadb-data; nothing was made or adopted`);
      expect(resourceCount(stray)).toBe(0);
    } finally {
      dockerTry(["volume", "rm", `${stray}-mariadb-data`]);
    }
    expect(containerIds()).toEqual(before);
  });

  it("runs hardened containers: no privilege, ALL capabilities dropped but SLURM's, no published port", () => {
    const hc = JSON.parse(docker(["inspect", "--format", "{{json .HostConfig}}", `${cluster}-cpu001`]));
    expect(hc.Privileged).toBe(false);
    expect(hc.CapDrop).toEqual(["ALL"]);
    expect(hc.SecurityOpt).toContain("no-new-privileges");
    expect(hc.RestartPolicy.Name).toBe("unless-stopped");
    expect(hc.PortBindings ?? {}).toEqual({});
  });

  it("previews no changes right after up", () => {
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("scales up by one node without touching the others", () => {
    const before = containerIds();
    setConfig("nodeGroups.cpu.count", "3");
    const up = timed("scale-up", () => pulumi("up", "--yes"));
    expect(up.output).not.toMatch(/replaced|deleted/);
    expect(hostnames(3)).toEqual(["cpu001", "cpu002", "cpu003"]);
    expect(containerIds()).toEqual({ ...before, [`${cluster}-cpu003`]: expect.any(String) });
  });

  it("scales down by one node: drains it, its running job completes, then its container goes", async () => {
    const before = containerIds();
    const job = await submit("cpu003", 12);
    setConfig("nodeGroups.cpu.count", "2");
    timed("scale-down", () => pulumi("up", "--yes"));
    expect(jobState(job)).toBe("COMPLETED");
    expect(ctl("sinfo", "-h", "-N", "-o", "%N")).not.toContain("cpu003");
    const { [`${cluster}-cpu003`]: removed, ...rest } = before;
    expect(removed).toBeDefined();
    expect(containerIds()).toEqual(rest);
  });

  it("rotates the MUNGE key in place under load: no submitted job fails, the long job spans the swap, every munged uses the new key", async () => {
    const before = containerIds();
    const oldKey = manifest().mungeKey.fingerprint;
    const hosts = ["controller", "cpu001", "cpu002"];
    const keyHash = (h: string) => `sha256:${docker(["exec", `${cluster}-${h}`, "sha256sum", "/etc/munge/munge.key"]).slice(0, 16)}`;
    expect(hosts.map(keyHash)).toEqual([oldKey, oldKey, oldKey]);
    // A credential made with the old key, valid for 10 minutes: after the swap it must be rejected.
    const oldCredential = docker(["exec", `${cluster}-cpu001`, "munge", "-n", "-t", "600"]).trim();
    const long = await submit("cpu002", "until ended");
    // Jobs submitted every 2 s across the whole update, from the controller (below what two
    // one-CPU nodes get through, so the queue does not grow without end).
    ctl("sh", "-c", "rm -f /tmp/load-*; nohup sh -c 'while [ ! -e /tmp/load-stop ]; do " +
      "if id=$(sbatch --parsable -N1 --wrap true 2>>/tmp/load-errors); then echo $id >>/tmp/load-ids; else echo x >>/tmp/load-failed; fi; " +
      "sleep 2; done' >/dev/null 2>&1 &");
    const submissions = () => Number(ctl("sh", "-c", "cat /tmp/load-ids /tmp/load-failed 2>/dev/null | wc -l").trim());
    try {
      // The load starts before the update and goes on after it, however quick the update is.
      await waitFor("two submissions before the update", () => submissions() >= 2, 60);
      setConfig("rotation.mungeKeyEpoch", "1");
      const preview = ok(pulumi("preview", "--diff"));
      expect(preview.output).toMatch(/epoch\s*:\s*"0" => "1"/);
      timed("rotate", () => pulumi("up", "--yes"));
      const atEnd = submissions();
      await waitFor("two submissions after the update", () => submissions() >= atEnd + 2, 60);
    } finally {
      ctl("touch", "/tmp/load-stop");
    }
    expect(containerIds()).toEqual(before);
    // The long job was running before the update and is still running after it: it spans the swap.
    expect(jobState(long)).toBe("RUNNING");
    // Scheduling was paused for the swap and resumed after it (what each step printed, kept in state).
    const steps = JSON.parse(ok(pulumi("stack", "export")).stdout).deployment.resources as { urn: string; outputs: { stdout?: string } }[];
    const printed = (step: string) => steps.find((r) => r.urn.endsWith(`::${cluster}-rotation-${step}`))?.outputs.stdout;
    expect(printed("pause")).toMatch(/^paused scheduling on: batch hyperscaler\s*$/);
    expect(printed("resume")).toMatch(/^resumed scheduling on: batch hyperscaler\s*$/);
    expect(ctl("sinfo", "-a", "-h", "-o", "%R %a").trim().split("\n").sort()).toEqual(["batch up", "hyperscaler up"]);
    const m = manifest();
    expect(m.mungeKey.epoch).toBe(1);
    expect(m.mungeKey.fingerprint).not.toBe(oldKey);
    // Every node's key file is the key in the manifest, and its munged runs with it.
    expect(hosts.map(keyHash)).toEqual([m.mungeKey.fingerprint, m.mungeKey.fingerprint, m.mungeKey.fingerprint]);
    for (const from of hosts) {
      const credential = docker(["exec", `${cluster}-${from}`, "munge", "-n"]).trim();
      for (const to of hosts) expect(dockerTry(["exec", "-i", `${cluster}-${to}`, "unmunge"], credential).code, `${from} -> ${to}`).toBe(0);
    }
    for (const to of hosts) {
      const r = dockerTry(["exec", "-i", `${cluster}-${to}`, "unmunge"], oldCredential);
      expect(r.code, `old-key credential on ${to}`).not.toBe(0);
      expect(r.output).toMatch(/Invalid credential|Rewound|decode/i);
    }
    // Load: jobs were submitted during the update, none was refused, and all complete.
    expect(dockerTry(["exec", `${cluster}-controller`, "test", "-e", "/tmp/load-failed"]).code, ctl("sh", "-c", "cat /tmp/load-errors 2>/dev/null || true")).not.toBe(0);
    const ids = ctl("cat", "/tmp/load-ids").trim().split("\n");
    expect(ids.length).toBeGreaterThan(3);
    await waitFor("the submitted jobs to finish", () => ids.every((id) => !/PENDING|RUNNING|COMPLETING/.test(jobState(id) ?? "")), 120);
    expect(ids.filter((id) => jobState(id) !== "COMPLETED").map((id) => `${id}:${jobState(id)}`)).toEqual([]);
    endJob(ctl, long, "batch");
    await waitFor("the long job to finish", () => jobState(long) !== "RUNNING", 30);
    expect(jobState(long)).toBe("COMPLETED");
    expect(hostnames(2)).toEqual(["cpu001", "cpu002"]);
  });

  it("refuses a rotation epoch that goes backwards, changing nothing", () => {
    const before = containerIds();
    setConfig("rotation.mungeKeyEpoch", "0");
    const r = pulumi("up", "--yes");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/hyperscaler:rotation\.mungeKeyEpoch went backwards \(1 -> 0\); epochs only grow: set it to 2/);
    expect(containerIds()).toEqual(before);
    setConfig("rotation.mungeKeyEpoch", "1");
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("shows a node removed by hand in refresh, brings it back with up, and SLURM requeues the job it ran", async () => {
    const job = await submit("cpu002", 300); // requeueable: SLURM's default for batch jobs
    docker(["rm", "-f", `${cluster}-cpu002`]);
    const refresh = ok(pulumi("refresh", "--yes"));
    expect(refresh.output).toMatch(/-\s+docker:index:Container\s+\S*cpu002\s+deleted/);
    expect(pulumi("preview", "--expect-no-changes").code).not.toBe(0);
    timed("recover-node", () => pulumi("up", "--yes"));
    expect(hostnames(2)).toEqual(["cpu001", "cpu002"]);
    ok(pulumi("preview", "--expect-no-changes"));
    // No ghost: the job no process runs any more was requeued once, not left RUNNING on the
    // new node. SLURM holds a requeued job about 2 minutes, then starts it again: whether it
    // is still held when `up` ends depends on the machine's speed, so either state is right,
    // but a RUNNING job must have its process.
    const after = ctl("scontrol", "show", "job", job);
    expect(after).toMatch(/Restarts=1\b/);
    const state = /JobState=(\S+)/.exec(after)![1];
    expect(["PENDING", "RUNNING", "COMPLETED"]).toContain(state);
    if (state === "RUNNING") {
      const node = /\bNodeList=(\S+)/.exec(after)![1];
      await waitFor(`job ${job}'s process on ${node}`, () => dockerTry(["exec", `${cluster}-${node}`, "pgrep", "-f", "sleep 300"]).code === 0, 30);
    }
    expect(ctl("scontrol", "show", "node", "cpu002")).not.toMatch(/Reason=/);
    ctl("scancel", job);
  });

  it("re-creates a controller removed by hand, keeping SLURM's state and nodes", async () => {
    const job = await submit("cpu001", 1);
    await waitFor("the job to finish", () => jobState(job) === "COMPLETED");
    // A controller killed outright keeps what it had saved; wait for it to save the job's end.
    const saved = () => Number(docker(["exec", `${cluster}-controller`, "stat", "-c", "%Y", "/var/spool/slurmctld/job_state"]).trim());
    const ended = Math.floor(Date.now() / 1000);
    // A save in the second the job ended may predate its end: make a later change (a held
    // job) and wait for the save that follows it, which must include the job's end.
    await new Promise((r) => setTimeout(r, 1100));
    const held = ctl("sbatch", "--parsable", "--hold", "--wrap", "true").trim();
    await waitFor("slurmctld to save the job's end", () => saved() > ended, 60);
    docker(["rm", "-f", `${cluster}-controller`]);
    ok(pulumi("refresh", "--yes"));
    timed("recover-controller", () => pulumi("up", "--yes"));
    await waitFor("both nodes to answer the new controller", () => dockerTry(["exec", `${cluster}-controller`, "hyperscaler-validate", "cpu[001-002]", "1"]).code === 0, 120);
    expect(jobState(job)).toBe("COMPLETED");
    expect(hostnames(2)).toEqual(["cpu001", "cpu002"]);
    ctl("scancel", held);
  });

  it("starts a node killed by hand again; its job that may not be requeued ends as NODE_FAIL", async () => {
    const id = ctl("sbatch", "--parsable", "--no-requeue", "-w", "cpu001", "--wrap", "sleep 300").trim();
    await waitFor(`job ${id} to start`, () => jobState(id) === "RUNNING");
    docker(["kill", `${cluster}-cpu001`]);
    ok(pulumi("refresh", "--yes"));
    ok(pulumi("up", "--yes"));
    // The container runs again; the node is back once its new slurmd registered and the
    // entrypoint resumed it (a step sent before may fail "Node failure"): within seconds.
    const step = () => dockerTry(["exec", `${cluster}-controller`, "srun", "-N2", "--immediate=5", "hostname"]);
    await waitFor("a step on cpu001 and cpu002", () => step().stdout.trim().split("\n").sort().join(" ") === "cpu001 cpu002", 90);
    expect(jobState(id)).toBe("NODE_FAIL");
  });

  it("shows a container stopped by hand as changed in refresh, and up starts it again", async () => {
    // slurmctld may not notice a short stop (SlurmdTimeout): the node is back when its new
    // slurmd has registered, not when its container runs (a step sent before fails "Node failure").
    const slurmdStarted = () => /SlurmdStartTime=(\S+)/.exec(ctl("scontrol", "show", "node", "cpu002"))?.[1];
    const before = slurmdStarted();
    docker(["stop", `${cluster}-cpu002`]);
    const refresh = ok(pulumi("refresh", "--yes"));
    expect(refresh.output).toMatch(/~\s+docker:index:Container\s+\S+-cpu002\s+updated.*\[diff: ~mustRun\]/);
    expect(pulumi("preview", "--expect-no-changes").code).not.toBe(0);
    ok(pulumi("up", "--yes"));
    expect(docker(["inspect", "--format", "{{.State.Running}}", `${cluster}-cpu002`]).trim()).toBe("true");
    await waitFor("cpu002's new slurmd to register with slurmctld", () => slurmdStarted() !== before, 60);
    expect(hostnames(2)).toEqual(["cpu001", "cpu002"]);
    ok(pulumi("preview", "--expect-no-changes"));
  });

  it("destroys everything it created", () => {
    timed("destroy", () => pulumi("destroy", "--yes"));
    expect(containerIds()).toEqual({});
    expect(dockerTry(["network", "inspect", `${cluster}-net`]).code).not.toBe(0);
    expect(dockerTry(["volume", "inspect", `${cluster}-slurmctld-state`]).code).not.toBe(0);
    expect(resourceCount(stack)).toBe(0);
  });
});

describe("the Docker engine from config (the docker provider's host)", () => {
  const name = `eng${process.pid}`;
  afterAll(() => {
    project.pulumi(name, "destroy", "--yes");
    const left = docker(["ps", "-aq", "--filter", `label=hyperscaler.cluster=${name}`]).trim().split("\n").filter(Boolean);
    if (left.length) dockerTry(["rm", "-f", ...left]);
  });

  it("refuses an engine that does not answer, naming hyperscaler:dockerHost, before anything exists", () => {
    stackWith(name, `  hyperscaler:clusterName: ${name}\n  hyperscaler:dockerHost: unix:///run/no-such-docker.sock\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 1\n      memoryMiB: 256\n`);
    const r = pulumiIn(name, "up", "--yes");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/hyperscaler:dockerHost: the Docker engine at unix:\/\/\/run\/no-such-docker\.sock did not answer/);
    expect(resourceCount(name)).toBe(0);
  });

  it("deploys to the engine the config names, whatever DOCKER_HOST says", () => {
    project.setConfig(name, "dockerHost", "unix:///var/run/docker.sock");
    // The environment points nowhere: every part (preflight, provider, commands) must use the config.
    ok(project.pulumiWithEnv(name, { DOCKER_HOST: "unix:///run/no-such-docker.sock" }, "up", "--yes"));
    expect(docker(["exec", `${name}-controller`, "srun", "-N1", "hostname"]).trim()).toBe("cpu001");
    ok(project.pulumiWithEnv(name, { DOCKER_HOST: "unix:///run/no-such-docker.sock" }, "destroy", "--yes"));
  });
});
