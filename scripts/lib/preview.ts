import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PolicyViolation, PreviewJson } from "../../components/report";

export interface PreviewRun {
  /** The parsed preview of a preview that succeeded. */
  preview?: PreviewJson;
  /** What the engine printed as JSON even when the preview failed (a policy violation, say). */
  partial?: PreviewJson;
  /** Policy violations from the engine's event log (`--json` leaves them out). */
  policyViolations: PolicyViolation[];
  status: number | null;
  stderr: string;
}

/**
 * Runs `pulumi preview --json` for a stack (from `cwd`, with `extraArgs`), its JSON going
 * to a file: at 1000 nodes it is larger than a pipe buffer. The engine's event log gives
 * the policy violations, which the JSON does not carry.
 */
export function runPreview(stack: string, extraArgs: string[] = [], cwd = process.cwd()): PreviewRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-preview-"));
  const file = path.join(dir, "preview.json");
  const events = path.join(dir, "events.jsonl");
  const fd = fs.openSync(file, "w");
  const r = spawnSync("pulumi", ["preview", "--json", "--event-log", events, "--stack", stack, "--non-interactive", ...extraArgs],
    // --event-log exists only with PULUMI_DEBUG_COMMANDS (as the Automation API runs it).
    { cwd, stdio: ["ignore", fd, "pipe"], encoding: "utf8", env: { ...process.env, PULUMI_DEBUG_COMMANDS: "true" } });
  fs.closeSync(fd);
  let parsed: PreviewJson | undefined;
  try { parsed = JSON.parse(fs.readFileSync(file, "utf8")); } catch { /* no JSON: the caller reports stderr */ }
  const policyViolations = fs.existsSync(events) ? policyEvents(fs.readFileSync(events, "utf8")) : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return { preview: r.status === 0 ? parsed : undefined, partial: parsed, policyViolations, status: r.status, stderr: r.stderr ?? "" };
}

/** The policy events of an engine event log (one JSON event a line). */
function policyEvents(log: string): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  for (const line of log.split("\n")) {
    if (!line.includes("policyEvent")) continue;
    const e = JSON.parse(line).policyEvent;
    if (!e) continue;
    // The engine writes the policy's description, then the violation itself.
    const [description, ...violation] = String(e.message ?? "").trim().split("\n");
    out.push({ policy: e.policyName, pack: e.policyPackName, level: e.enforcementLevel, urn: e.resourceUrn, message: violation.join("\n").trim() || description });
  }
  return out;
}
