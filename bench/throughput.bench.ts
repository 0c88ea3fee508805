import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { docker } from "../tests/support/docker";
import { run } from "../tests/support/run";
import { ok, TestProject, SHARED_CPUS } from "../tests/support/stack";
import { median, report, RUNS } from "./report";

// SLURM's own speed: BENCH_JOBS (1000) one-second-or-less jobs submitted one by one
// (sbatch), timed until the last one completed, with the default settings and with the
// `throughput` tuning profile (hyperscaler:slurm.tuning). Same cluster, same jobs. Then
// SLURM's own floor: the same binaries and slurm.conf as plain processes on this machine
// (bench/native-slurm.sh), the same jobs on the same number of slots.
const stack = `tput${process.pid}`;
const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
/** Which tuning profiles to run: BENCH_PROFILES (space-separated), both unless set. */
const PROFILES = (process.env.BENCH_PROFILES ?? "default throughput").split(/\s+/).filter(Boolean);
const NODES = ["cpu001", "cpu002"];
const NODE_CPUS = 2;
const NODE_MEMORY_MIB = 512;
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);

/**
 * Submits JOBS jobs (named for this run) from the controller, waits until none is pending,
 * running or completing, and returns the seconds that took, the seconds the submissions
 * alone took, and how many jobs ran to their end: each leaves a file on its node
 * (slurmctld forgets finished jobs after MinJobAge, 30 s in the throughput profile, so
 * squeue cannot count them after a long run).
 */
function drain(run: string): { seconds: number; submitSeconds: number; completed: number } {
  const name = `bench-${run}`;
  const out = docker(["exec", `${stack}-controller`, "sh", "-c", `
    start=$(date +%s.%N)
    i=0; while [ $i -lt ${JOBS} ]; do sbatch --quiet -J ${name} -o /dev/null --wrap 'mkdir -p /tmp/${name} && : >/tmp/${name}/$SLURM_JOB_ID' || exit 1; i=$((i+1)); done
    submitted=$(date +%s.%N)
    while [ -n "$(squeue -h -n ${name} -t PD,R,CG -o %i | head -1)" ]; do sleep 0.2; done
    end=$(date +%s.%N)
    echo "$start $submitted $end"`]);
  const [start, submitted, end] = out.trim().split(/\s+/).map(Number);
  const completed = NODES.reduce((n, node) =>
    n + Number(docker(["exec", `${stack}-${node}`, "sh", "-c", `ls /tmp/${name} 2>/dev/null | wc -l`]).trim()), 0);
  return { seconds: end - start, submitSeconds: submitted - start, completed };
}

/** The CPU seconds a container has used (its cgroup's account: every process, the exited ones too). */
function containerCpu(container: string): number {
  const id = docker(["inspect", "--format", "{{.Id}}", container]).trim();
  for (const [file, perSecond] of [[`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 1e9], [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, 1e6]] as const) {
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, "utf8");
    return Number(file.endsWith("cpu.stat") ? /usage_usec (\d+)/.exec(text)![1] : text) / perSecond;
  }
  throw new Error(`no CPU account for ${container} under /sys/fs/cgroup`);
}

/** The CPU seconds of the daemons named in a container (utime + stime of each, in clock ticks of 1/100 s). */
function daemonCpu(container: string, daemons: string[]): Record<string, number> {
  const out = docker(["exec", container, "sh", "-c",
    `for d in ${daemons.join(" ")}; do t=0; for p in $(pgrep -x $d); do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo "$d $t"; done`]);
  return Object.fromEntries(out.trim().split("\n").map((l) => l.split(" ")).map(([d, t]) => [d, Number(t) / 100]));
}

/** Where the CPU went between two points: each container, and its long-running daemons apart from the rest (sbatch, slurmstepd, the jobs). */
function cpuProfile(containers: string[]) {
  const daemons: Record<string, string[]> = { controller: ["slurmctld", "munged"], node: ["slurmd", "munged"] };
  type Account = Record<string, number>;
  const take = (): Record<string, Account> => Object.fromEntries(containers.map((c) => [c, {
    total: containerCpu(c), ...daemonCpu(c, c.endsWith("-controller") ? daemons.controller : daemons.node) }]));
  const before = take();
  return (): Record<string, Account> => {
    const after = take();
    return Object.fromEntries(containers.map((c) => {
      const used = Object.fromEntries(Object.keys(after[c]).map((k) => [k, after[c][k] - (before[c][k] ?? 0)]));
      const daemonsUsed = Object.entries(used).filter(([k]) => k !== "total").reduce((a, [, v]) => a + v, 0);
      return [c.replace(`${stack}-`, ""), { ...used, other: used.total - daemonsUsed }];
    }));
  };
}

/**
 * The same jobs on SLURM alone: the controller's slurm.conf (the last profile's) and the
 * SLURM image's binaries as plain processes, one slurmd with every slot of the cluster's
 * nodes; and the cluster's time for the same profile against it.
 */
function nativeFloor(clusterSeconds: number, profile: string) {
  const conf = path.join(os.tmpdir(), `${stack}-slurm.conf`);
  fs.writeFileSync(conf, docker(["exec", `${stack}-controller`, "cat", "/etc/slurm/slurm.conf"]));
  const image = docker(["inspect", "--format", "{{.Config.Image}}", `${stack}-controller`]).trim();
  try {
    const runs = Array.from({ length: RUNS }, (_, i) => {
      const r = run("bash", ["bench/native-slurm.sh", image, conf, String(JOBS), String(NODES.length * NODE_CPUS),
        String(NODES.length * NODE_MEMORY_MIB), `native-${i}`]);
      expect(r.code, r.output).toBe(0);
      const [start, submitted, end, completed] = r.stdout.trim().split("\n").pop()!.split(/\s+/).map(Number);
      expect(completed, "native: jobs that ran to their end").toBe(JOBS);
      return { seconds: end - start, submitSeconds: submitted - start };
    });
    const seconds = median(runs.map((r) => r.seconds));
    report(`throughput, native SLURM (${profile} profile)`, JOBS / seconds, "jobs/s",
      `${JOBS} jobs in ${runs.map((r) => r.seconds.toFixed(1)).join(", ")} s; slurmctld, one slurmd of ${NODES.length * NODE_CPUS} CPUs and munged from the SLURM image as plain processes; submission alone ${(JOBS / median(runs.map((r) => r.submitSeconds))).toFixed(1)} jobs/s`);
    if (clusterSeconds) report(`throughput, cluster vs native SLURM (${profile} profile)`, seconds / clusterSeconds, "x", "target >= 0.8");
  } finally {
    fs.rmSync(conf, { force: true });
  }
}

afterAll(() => {
  pulumi("destroy", "--yes");
  project.remove();
});

describe("SLURM scheduling throughput", () => {
  it(`runs ${JOBS} short jobs with each tuning profile (${PROFILES.join(", ")}), and where the CPU went`, () => {
    project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: ${NODES.length}\n      cpus: ${NODE_CPUS}\n      memoryMiB: ${NODE_MEMORY_MIB}\n` + SHARED_CPUS);
    const medians: Record<string, number> = {};
    for (const profile of PROFILES) {
      project.setConfig(stack, "slurm.tuning", profile);
      ok(pulumi("up", "--yes", "--skip-preview"));
      const containers = [`${stack}-controller`, ...NODES.map((n) => `${stack}-${n}`)];
      const runs = Array.from({ length: RUNS }, (_, i) => {
        const profiled = cpuProfile(containers);
        const r = drain(`${profile}-${i}`);
        const cpu = profiled();
        const total = Object.values(cpu).reduce((a, c) => a + c.total, 0);
        report(`throughput, ${profile} profile, CPU`, total / r.seconds, "cores busy", `of ${os.cpus().length}; CPU s by container: ` +
          Object.entries(cpu).map(([c, u]) => `${c} ${Object.entries(u).map(([k, v]) => `${k}=${v.toFixed(1)}`).join(" ")}`).join("; "));
        return r;
      });
      // Every job must have run to its end: a failed job is not throughput.
      for (const r of runs) expect(r.completed, `${profile}: jobs that ran to their end`).toBe(JOBS);
      const times = runs.map((r) => r.seconds);
      medians[profile] = median(times);
      report(`throughput, ${profile} profile`, JOBS / medians[profile], "jobs/s", `${JOBS} jobs in ${times.map((t) => t.toFixed(1)).join(", ")} s`);
      report(`throughput, ${profile} profile, submission alone`, JOBS / median(runs.map((r) => r.submitSeconds)), "jobs/s", "sbatch one by one from the controller");
    }
    if (medians.default && medians.throughput) report("throughput, profile vs default", medians.default / medians.throughput, "x", "target >= 1.5");
    if (!process.env.BENCH_NATIVE_SKIP) nativeFloor(medians[PROFILES[PROFILES.length - 1]], PROFILES[PROFILES.length - 1]);
  });
});
