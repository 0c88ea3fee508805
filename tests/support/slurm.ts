/** Polls `ok` every half second until it holds, or fails the test naming what it waited for. */
export async function waitFor(what: string, ok: () => boolean, seconds = 60): Promise<void> {
  for (let i = 0; i < seconds * 2; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A job's state as `scontrol show job` tells it, through `ctl` (a command run on the controller). */
export function jobState(ctl: (...cmd: string[]) => string, id: string): string | undefined {
  return /JobState=(\w+)/.exec(ctl("scontrol", "show", "job", id))?.[1];
}
