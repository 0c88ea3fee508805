import { afterAll, describe, expect, it } from "vitest";
import { docker } from "../tests/support/docker";
import { ok, TestProject, SHARED_CPUS } from "../tests/support/stack";
import { median, report, RUNS } from "./report";

// SLURM's own speed: BENCH_JOBS (1000) one-second-or-less jobs submitted one by one
// (sbatch), timed until the last one completed, with the default settings and with the
// `throughput` tuning profile (hyperscaler:slurm.tuning). Same cluster, same jobs.
const stack = `tput${process.pid}`;
const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const project = new TestProject();
const pulumi = (...args: string[]) => project.pulumi(stack, ...args);

/**
 * Submits JOBS jobs (named for this run) from the controller, waits until none is pending,
 * running or completing, and returns the seconds that took and how each job ended
 * (slurmctld keeps finished jobs for MinJobAge, 300 s).
 */
function drain(run: string): { seconds: number; ended: Record<string, number> } {
  const name = `bench-${run}`;
  const out = docker(["exec", `${stack}-controller`, "sh", "-c", `
    start=$(date +%s.%N)
    i=0; while [ $i -lt ${JOBS} ]; do sbatch --quiet -J ${name} -o /dev/null --wrap true || exit 1; i=$((i+1)); done
    while [ -n "$(squeue -h -n ${name} -t PD,R,CG -o %i | head -1)" ]; do sleep 0.2; done
    end=$(date +%s.%N)
    echo "$start $end"
    squeue -h -n ${name} -t all -o %T | sort | uniq -c`]);
  const [times, ...counts] = out.trim().split("\n");
  const [start, end] = times.trim().split(/\s+/).map(Number);
  const ended = Object.fromEntries(counts.map((l) => l.trim().split(/\s+/)).map(([n, state]) => [state, Number(n)]));
  return { seconds: end - start, ended };
}

afterAll(() => {
  pulumi("destroy", "--yes");
  project.remove();
});

describe("SLURM scheduling throughput", () => {
  it(`runs ${JOBS} short jobs with the default settings and with the throughput profile`, () => {
    project.init(stack, `  hyperscaler:clusterName: ${stack}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: 2\n      cpus: 2\n      memoryMiB: 512\n` + SHARED_CPUS);
    const medians: Record<string, number> = {};
    for (const profile of ["default", "throughput"]) {
      project.setConfig(stack, "slurm.tuning", profile);
      ok(pulumi("up", "--yes", "--skip-preview"));
      const runs = Array.from({ length: RUNS }, (_, i) => drain(`${profile}-${i}`));
      // Every job must have completed: a failed job is not throughput.
      for (const r of runs) expect(r.ended, `${profile}: how the jobs ended`).toEqual({ COMPLETED: JOBS });
      const times = runs.map((r) => r.seconds);
      medians[profile] = median(times);
      report(`throughput, ${profile} profile`, JOBS / medians[profile], "jobs/s", `${JOBS} jobs in ${times.map((t) => t.toFixed(1)).join(", ")} s`);
    }
    report("throughput, profile vs default", medians.default / medians.throughput, "x", "target >= 1.5");
  });
});
