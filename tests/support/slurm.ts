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
