import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterSpec } from "../components/config";
import { computeNodeEnv, renderCgroupConf, renderGresConf, renderSlurmConf } from "../components/render";
import { configFrom } from "../tests/support/config";
import { docker, dockerTry, envList, newMungeKey } from "../tests/support/docker";
import { run } from "../tests/support/run";
import { ok, SHARED_CPUS, TestProject } from "../tests/support/stack";
import { median, report, RUNS, since } from "./report";

// The dev-sized cluster through the real engine and local Docker: time to first job
// against the plain-docker floor, scale steps with what they touched, rotation under
// load, and preview time and memory at 10, 100 and 1000 nodes.
const stack = `bench${process.pid}`;
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);
const ctl = (...cmd: string[]) => docker(["exec", `${stack}-controller`, ...cmd]);
const NODES = 2;

/** `pulumi preview --json`: the resources a change would touch (everything but `same`, and reads: the program's look at its own last outputs). */
function touched(): { op: string; name: string }[] {
  const steps = JSON.parse(ok(pulumi("preview", "--json")).stdout).steps ?? [];
  return steps.filter((s: { op: string }) => s.op !== "same" && s.op !== "read").map((s: { op: string; urn: string }) => ({ op: s.op, name: s.urn.split("::").pop()! }));
}

/** Times one `pulumi up` after checking what its preview touches. */
function timedUp(): { seconds: number; touched: { op: string; name: string }[] } {
  const plan = touched();
  const t0 = performance.now();
  ok(pulumi("up", "--yes", "--skip-preview"));
  return { seconds: since(t0), touched: plan };
}

/** The dev-sized cluster outside the stack: its rendered configs, and each host with its environment. */
function peerCluster(name: string) {
  const spec = clusterSpec(configFrom({ clusterName: name, nodeGroups: { cpu: { count: NODES, memoryMiB: 256 } } }));
  const files: [string, string][] = [["/etc/slurm/slurm.conf", renderSlurmConf(spec)], ["/etc/slurm/cgroup.conf", renderCgroupConf()], ["/etc/slurm/gres.conf", renderGresConf(spec)]];
  const hosts = [["controller", "HYPERSCALER_ROLE=controller"],
    ...spec.nodes.map((n) => [n.name, "HYPERSCALER_ROLE=compute", ...envList(computeNodeEnv(spec, n))])];
  return { files, hosts, image: `hyperscaler/slurm:${stack}` };
}

/** Waits until `srun -N<nodes>` runs on the cluster whose controller is `controller`; the seconds since t0. */
function firstJob(controller: string, t0: number, nodes = NODES): number {
  while (dockerTry(["exec", controller, "srun", "-N", String(nodes), "--immediate=1", "hostname"]).code !== 0) {
    if (since(t0) > 120) throw new Error(`${controller}: no job ran in 120 s`);
  }
  return since(t0);
}

/** The floor: the same cluster from plain `docker run` and `docker exec`, the fewest steps there are. */
function plainDocker(): number {
  const name = `plain${process.pid}`;
  const { files, hosts, image } = peerCluster(name);
  const key = newMungeKey();
  const t0 = performance.now();
  docker(["network", "create", `${name}-net`]);
  // Configs to the controller only: compute nodes fetch theirs from it (configless).
  for (const [host, ...env] of hosts) {
    docker(["run", "-d", "--name", `${name}-${host}`, "--hostname", host, "--network", `${name}-net`, ...env.flatMap((e) => ["-e", e]), image]);
    if (host === "controller") for (const [p, text] of files) docker(["exec", "-i", `${name}-${host}`, "hyperscaler-install", p, "0644", "root:root"], text);
    docker(["exec", "-i", `${name}-${host}`, "hyperscaler-install", "/etc/munge/munge.key", "0400", "munge:munge"], key);
  }
  const seconds = firstJob(`${name}-controller`, t0);
  dockerTry(["rm", "-f", ...hosts.map(([h]) => `${name}-${h}`)]);
  dockerTry(["network", "rm", `${name}-net`]);
  return seconds;
}

/**
 * The peer: the same cluster from a compose file, as slurm-docker-cluster users run theirs
 * (configs and key as files beside it, mounted), `docker-compose up -d` to the first job.
 * Debian's docker-compose (1.29, Python) is the one this machine has.
 */
function compose(): number {
  const name = `compose${process.pid}`;
  const { files, hosts, image } = peerCluster(name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hyperscaler-${name}-`));
  for (const [p, text] of files) fs.writeFileSync(path.join(dir, path.basename(p)), text);
  fs.writeFileSync(path.join(dir, "munge.key"), newMungeKey(), { mode: 0o400 });
  const services = Object.fromEntries(hosts.map(([host, ...env]) => [host, {
    image, hostname: host, container_name: `${name}-${host}`, environment: env,
    volumes: ["./munge.key:/etc/munge/munge.key", ...(host === "controller" ? files.map(([p]) => `./${path.basename(p)}:${p}:ro`) : [])],
  }]));
  fs.writeFileSync(path.join(dir, "docker-compose.yml"), JSON.stringify({ version: "2.4", services }, null, 2));
  const composeCmd = (...args: string[]) => run("docker-compose", ["-p", name, ...args], { cwd: dir });
  const t0 = performance.now();
  ok(composeCmd("up", "-d"));
  const seconds = firstJob(`${name}-controller`, t0);
  composeCmd("down", "-v");
  fs.rmSync(dir, { recursive: true, force: true });
  return seconds;
}

afterAll(() => {
  pulumi("destroy", "--yes");
  project.remove();
});

/**
 * The add-one floor beside the stack's scale-up: a plain `docker run` of one more node into
 * the stack's running cluster (its network, image, key), until a job step runs there; and
 * the remove-one floor: drain it, delete it from SLURM, remove its container.
 */
function addRemoveOneFloor(): { add: number; remove: number } {
  const name = "cpu009";
  const container = `${stack}-floor-${name}`;
  const spec = clusterSpec(configFrom({ clusterName: stack, nodeGroups: { cpu: { count: 9, memoryMiB: 256 } } }));
  const node = spec.nodes.find((n) => n.name === name)!;
  const image = docker(["inspect", "--format", "{{.Config.Image}}", `${stack}-cpu001`]).trim();
  const key = Buffer.from(docker(["exec", `${stack}-cpu001`, "base64", "-w0", "/etc/munge/munge.key"]), "base64");
  const t0 = performance.now();
  docker(["run", "-d", "--name", container, "--hostname", name, "--network", `${stack}-net`,
    ...envList({ HYPERSCALER_ROLE: "compute", ...computeNodeEnv(spec, node) }).flatMap((e) => ["-e", e]), image]);
  docker(["exec", "-i", container, "hyperscaler-install", "/etc/munge/munge.key", "0400", "munge:munge"], key);
  while (dockerTry(["exec", `${stack}-controller`, "srun", "-w", name, "--immediate=1", "hostname"]).code !== 0) {
    if (since(t0) > 120) throw new Error(`${name} did not run a job in 120 s`);
  }
  const add = since(t0);
  const t1 = performance.now();
  ctl("scontrol", "update", `nodename=${name}`, "state=drain", "reason=floor");
  ctl("scontrol", "delete", `nodename=${name}`);
  docker(["rm", "-f", container]);
  return { add, remove: since(t1) };
}

describe("engine (dev-sized cluster, real engine, local Docker)", () => {
  it("time to first job: pulumi up from no containers vs plain docker and docker-compose", () => {
    ok(run("bash", ["scripts/setup.sh", "compose"])); // the peer's tool, Debian's docker-compose
    project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: ${NODES}\n      memoryMiB: 256\n` + SHARED_CPUS);
    ok(pulumi("up", "--yes")); // builds the image once; every timed run below finds it built
    ok(pulumi("destroy", "--yes"));
    const ups: number[] = [];
    const floors: number[] = [];
    const composes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      ok(pulumi("up", "--yes", "--skip-preview")); // ends with srun across every compute node
      ups.push(since(t0));
      expect(ctl("srun", "-N", String(NODES), "hostname").trim().split("\n").sort()).toEqual(["cpu001", "cpu002"]);
      if (i < RUNS - 1) ok(pulumi("destroy", "--yes"));
      floors.push(plainDocker());
      composes.push(compose());
    }
    const runs = (xs: number[]) => `runs: ${xs.map((t) => t.toFixed(1)).join(", ")}`;
    report("time to first job, pulumi up", median(ups), "s", runs(ups));
    report("time to first job, plain docker floor", median(floors), "s", runs(floors));
    report("time to first job, docker-compose peer", median(composes), "s", runs(composes));
    report("time to first job, pulumi up / floor", median(ups) / median(floors), "x", "target <= 2.0 (stretch 1.5)");
    report("time to first job, docker-compose / floor", median(composes) / median(floors), "x");
    report("time to first job, pulumi up / docker-compose", median(ups) / median(composes), "x", "target < 1");
  });

  it("scale up and down by one node: wall time and what the engine touched", () => {
    const ups: number[] = [];
    const downs: number[] = [];
    let upTouched: { op: string; name: string }[] = [];
    let downTouched: { op: string; name: string }[] = [];
    for (let i = 0; i < RUNS; i++) {
      project.setConfig(stack, "nodeGroups.cpu.count", String(NODES + 1));
      const up = timedUp();
      ups.push(up.seconds); upTouched = up.touched;
      project.setConfig(stack, "nodeGroups.cpu.count", String(NODES));
      const down = timedUp();
      downs.push(down.seconds); downTouched = down.touched;
    }
    const describeTouched = (t: { op: string; name: string }[]) => t.map((s) => `${s.op} ${s.name}`).join(", ");
    const others = (t: { op: string; name: string }[]) => t.filter((s) => !s.name.includes("cpu003") && s.name !== `${stack}-validation`);
    const addFloors: number[] = [];
    const removeFloors: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const floor = addRemoveOneFloor();
      addFloors.push(floor.add); removeFloors.push(floor.remove);
    }
    report("add one node, plain docker floor", median(addFloors), "s", `runs: ${addFloors.map((t) => t.toFixed(1)).join(", ")}`);
    report("remove one node, plain docker floor", median(removeFloors), "s", `runs: ${removeFloors.map((t) => t.toFixed(1)).join(", ")}`);
    report("scale up / add-one floor", median(ups) / median(addFloors), "x", "target <= 2");
    report("scale down / remove-one floor", median(downs) / median(removeFloors), "x");
    report("scale up by one node", median(ups), "s", `runs: ${ups.map((t) => t.toFixed(1)).join(", ")}`);
    report("scale up, resources touched", upTouched.length, "", describeTouched(upTouched));
    report("scale down by one node", median(downs), "s", `runs: ${downs.map((t) => t.toFixed(1)).join(", ")}`);
    report("scale down, resources touched", downTouched.length, "", describeTouched(downTouched));
    // Only the node's own resources, plus the validation step that proves the new node set.
    expect(others(upTouched), describeTouched(upTouched)).toEqual([]);
    expect(others(downTouched), describeTouched(downTouched)).toEqual([]);
  });

  it("MUNGE rotation under load: wall time and failed job submissions", () => {
    const times: number[] = [];
    const failures: number[] = [];
    const submitted: number[] = [];
    for (let i = 1; i <= RUNS; i++) {
      // A steady stream of one-task jobs across the rotation, counted inside the controller.
      ctl("rm", "-f", "/tmp/bench-stop", "/tmp/bench-subs");
      docker(["exec", "-d", `${stack}-controller`, "sh", "-c",
        "n=0 f=0; while [ ! -f /tmp/bench-stop ]; do n=$((n+1)); srun -N1 -t1 true >/dev/null 2>&1 || f=$((f+1)); echo \"$n $f\" >/tmp/bench-subs; done; echo \"$n $f done\" >/tmp/bench-subs"]);
      project.setConfig(stack, "rotation.mungeKeyEpoch", String(i));
      const t0 = performance.now();
      ok(pulumi("up", "--yes", "--skip-preview"));
      times.push(since(t0));
      ctl("touch", "/tmp/bench-stop");
      let counts = "";
      for (let w = 0; w < 100 && !counts.endsWith("done"); w++) { counts = ctl("cat", "/tmp/bench-subs").trim(); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); }
      const [n, f] = counts.split(" ").map(Number);
      submitted.push(n); failures.push(f);
    }
    report("MUNGE rotation", median(times), "s", `runs: ${times.map((t) => t.toFixed(1)).join(", ")}`);
    report("MUNGE rotation, failed submissions", failures.reduce((a, b) => a + b, 0), "jobs", `of ${submitted.reduce((a, b) => a + b, 0)} submitted during ${RUNS} rotations (goal: 0)`);
  });

  it("preview time and peak program memory at 10, 100 and 1000 compute nodes", () => {
    const rss = path.join(os.tmpdir(), `hyperscaler-rss-${process.pid}`);
    for (const count of [10, 100, 1000]) {
      const big = `${stack}n${count}`;
      // Only previewed: the program's cost at scale, far beyond this host's size.
      project.init(big, `  hyperscaler:clusterName: ${big}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: ${count / 2}\n    big:\n      count: ${count / 2}\n      cpus: 2\n` +
        "  hyperscaler:overcommit:\n    cpu: 10000\n    memory: 10000\n");
      const t0 = performance.now();
      const r = ok(project.pulumiWithEnv(big, { HYPERSCALER_BENCH_RSS_FILE: rss }, "preview", "--json"));
      const seconds = since(t0);
      const steps = JSON.parse(r.stdout).steps.length;
      report(`preview, ${count} nodes`, seconds, "s", `${steps} resources; target < 60 s at 1000`);
      report(`program peak RSS, ${count} nodes`, Number(fs.readFileSync(rss, "utf8")) / 1024, "MiB");
      ok(project.pulumi(big, "stack", "rm", "--yes"));
    }
    fs.rmSync(rss, { force: true });

  });
});
