import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO, run } from "./run";

/**
 * The last commit on Debian 12: SLURM 22.05, PostgreSQL 15, MariaDB 10.11. Tests that show
 * what changed with Debian 13 (the cgroup v2 view, the upgrade of a running stack) run
 * its code and images beside today's.
 */
export const DEBIAN_12_COMMIT = "55a613a48a12b1d5ff14b43b6bd4caa25535bd93";
/** The base image that commit's setup makes (debootstrap bookworm, cached like today's). */
export const DEBIAN_12_BASE = "hyperscaler/debian-base:bookworm";

/**
 * A project folder holding `commit`'s code as it was (the shared node_modules linked in),
 * with that commit's base image on the engine. Fails with the fix when the clone lacks it.
 */
export function checkoutOf(commit: string, name: string): string {
  if (run("git", ["-C", REPO, "cat-file", "-e", `${commit}^{commit}`]).code !== 0) {
    throw new Error(`this test needs commit ${commit}: clone the whole history, or run git fetch --unshallow`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hyperscaler-${name}-`));
  execFileSync("sh", ["-c", `git -C "${REPO}" archive ${commit} | tar -x -C "${dir}"`]);
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/** Makes the Debian 12 base image with that commit's own setup step (no-op when present). */
export function debian12Base(checkout: string): string {
  const r = run("bash", [path.join(checkout, "scripts/setup.sh"), "base-image"], { cwd: checkout });
  if (r.code !== 0) throw new Error(`the Debian 12 base image could not be made:\n${r.output}`);
  return DEBIAN_12_BASE;
}
