import { traceSlow } from "./run";

/** Polls `ok` every half second until it holds, or fails the test naming what it waited for. */
export async function waitFor(what: string, ok: () => boolean, seconds = 60): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < seconds * 2; i++) {
    if (ok()) return traceSlow(`wait: ${what}`, started);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}
