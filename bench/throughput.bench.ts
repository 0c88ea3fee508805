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

/** Submits JOBS jobs from the controller and returns seconds until all have left the queue. */
function drainTime(): number {
  const out = docker(["exec", `${stack}-controller`, "sh", "-c", `
    start=$(date +%s.%N)
    i=0; while [ $i -lt ${JOBS} ]; do sbatch --quiet -J bench -o /dev/null --wrap true || exit 1; i=$((i+1)); done
    while [ -n "$(squeue -h -n bench -o %i | head -1)" ]; do sleep 0.2; done
    end=$(date +%s.%N)
    echo "$start $end"`]);
  const [start, end] = out.trim().split(/\s+/).map(Number);
  return end - start;
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
      const times = Array.from({ length: RUNS }, () => drainTime());
      medians[profile] = median(times);
      report(`throughput, ${profile} profile`, JOBS / medians[profile], "jobs/s", `${JOBS} jobs in ${times.map((t) => t.toFixed(1)).join(", ")} s`);
    }
    report("throughput, profile vs default", medians.default / medians.throughput, "x", "target >= 1.5");
    expect(medians.throughput).toBeGreaterThan(0);
  });
});
