import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterSpec } from "../components/config";
import { computeNodeEnv, renderCgroupConf, renderGresConf, renderSlurmConf } from "../components/render";
import { configFrom } from "../tests/support/config";
import { docker, dockerTry, envList, newMungeKey } from "../tests/support/docker";
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

/** The floor: the same cluster from plain `docker run` and `docker exec`, the fewest steps there are. */
function plainDocker(): number {
  const name = `plain${process.pid}`;
  const spec = clusterSpec(configFrom({ clusterName: name, nodeGroups: { cpu: { count: NODES, memoryMiB: 256 } } }));
  const image = `hyperscaler/slurm:${stack}`;
  const files: [string, string][] = [["/etc/slurm/slurm.conf", renderSlurmConf(spec)], ["/etc/slurm/cgroup.conf", renderCgroupConf()], ["/etc/slurm/gres.conf", renderGresConf(spec)]];
  const key = newMungeKey();
  const t0 = performance.now();
  docker(["network", "create", `${name}-net`]);
  // Configs to the controller only: compute nodes fetch theirs from it (configless).
  const hosts = [["controller", "HYPERSCALER_ROLE=controller"],
    ...spec.nodes.map((n) => [n.name, "HYPERSCALER_ROLE=compute", ...envList(computeNodeEnv(spec, n))])];
  for (const [host, ...env] of hosts) {
    docker(["run", "-d", "--name", `${name}-${host}`, "--hostname", host, "--network", `${name}-net`, ...env.flatMap((e) => ["-e", e]), image]);
    if (host === "controller") for (const [p, text] of files) docker(["exec", "-i", `${name}-${host}`, "hyperscaler-install", p, "0644", "root:root"], text);
    docker(["exec", "-i", `${name}-${host}`, "hyperscaler-install", "/etc/munge/munge.key", "0400", "munge:munge"], key);
  }
  while (dockerTry(["exec", `${name}-controller`, "srun", "-N", String(NODES), "--immediate=1", "hostname"]).code !== 0) {
    if (since(t0) > 120) throw new Error("plain-docker cluster did not run a job in 120 s");
  }
  const seconds = since(t0);
  dockerTry(["rm", "-f", ...hosts.map(([h]) => `${name}-${h}`)]);
  dockerTry(["network", "rm", `${name}-net`]);
  return seconds;
}

afterAll(() => {
  pulumi("destroy", "--yes");
  project.remove();
});

describe("engine (dev-sized cluster, real engine, local Docker)", () => {
  it("time to first job: pulumi up from no containers vs plain docker", () => {
    project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: ${NODES}\n      memoryMiB: 256\n` + SHARED_CPUS);
    ok(pulumi("up", "--yes")); // builds the image once; every timed run below finds it built
    ok(pulumi("destroy", "--yes"));
    const ups: number[] = [];
    const floors: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      ok(pulumi("up", "--yes", "--skip-preview")); // ends with srun across every compute node
      ups.push(since(t0));
      expect(ctl("srun", "-N", String(NODES), "hostname").trim().split("\n").sort()).toEqual(["cpu001", "cpu002"]);
      if (i < RUNS - 1) ok(pulumi("destroy", "--yes"));
      floors.push(plainDocker());
    }
    report("time to first job, pulumi up", median(ups), "s", `runs: ${ups.map((t) => t.toFixed(1)).join(", ")}`);
    report("time to first job, plain docker floor", median(floors), "s", `runs: ${floors.map((t) => t.toFixed(1)).join(", ")}`);
    report("time to first job, ratio", median(ups) / median(floors), "x", "target <= 1.5");
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
