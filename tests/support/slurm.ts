/** A job's state as `scontrol show job` tells it, through `ctl` (a command run on the controller). */
export function jobState(ctl: (...cmd: string[]) => string, id: string): string | undefined {
  return /JobState=(\w+)/.exec(ctl("scontrol", "show", "job", id))?.[1];
}
