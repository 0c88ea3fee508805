/** A job's state as `scontrol show job` tells it, through `ctl` (a command run on the controller). */
export function jobState(ctl: (...cmd: string[]) => string, id: string): string | undefined {
  return /JobState=(\w+)/.exec(ctl("scontrol", "show", "job", id))?.[1];
}

/**
 * The compute nodes SLURM knows, once each. `sinfo -N` repeats a node per partition, and
 * root also sees the hidden maintenance partition, so every node is listed at least twice.
 */
export function nodeNames(ctl: (...cmd: string[]) => string): string[] {
  return [...new Set(ctl("sinfo", "-h", "-N", "-o", "%N").trim().split("\n").filter(Boolean))].sort();
}

/** One node's state as sinfo abbreviates it (idle, alloc, drain, ...). */
export function nodeState(ctl: (...cmd: string[]) => string, node: string): string {
  return ctl("sinfo", "-h", "-N", "-n", node, "-o", "%t").trim().split("\n")[0];
}

/**
 * A job (or step) script that runs until `endJob` tells it to end, then exits 0: for a job
 * that must span an operation, ended as soon as the operation is done rather than after a
 * length guessed to outlast it. COMPLETED afterwards means it lived through the operation.
 */
export const RUNS_UNTIL_ENDED = `trap "exit 0" USR1; sleep 3600 & wait`;

/**
 * Ends a job running RUNS_UNTIL_ENDED: as its batch script (`--wrap`), or as the tasks of a
 * step (`srun sh -c`); SLURM signals steps only unless told the batch step.
 */
export function endJob(ctl: (...cmd: string[]) => string, id: string, where: "batch" | "steps"): void {
  ctl("scancel", "--signal=USR1", ...(where === "batch" ? ["--batch"] : []), id);
}
