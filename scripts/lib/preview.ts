import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PreviewJson } from "../../components/report";

/**
 * Runs `pulumi preview --json` for a stack (from `cwd`, with `extraArgs`), its JSON going
 * to a file: at 1000 nodes it is larger than a pipe buffer. Returns the parsed preview, or
 * the exit code and stderr of a preview that produced none.
 */
export function runPreview(stack: string, extraArgs: string[] = [], cwd = process.cwd()): { preview?: PreviewJson; status: number | null; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-preview-"));
  const file = path.join(dir, "preview.json");
  const fd = fs.openSync(file, "w");
  const r = spawnSync("pulumi", ["preview", "--json", "--stack", stack, "--non-interactive", ...extraArgs], { cwd, stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
  fs.closeSync(fd);
  let preview: PreviewJson | undefined;
  try { preview = JSON.parse(fs.readFileSync(file, "utf8")); } catch { /* no JSON: the caller reports stderr */ }
  fs.rmSync(dir, { recursive: true, force: true });
  return { preview: r.status === 0 ? preview : undefined, status: r.status, stderr: r.stderr ?? "" };
}
