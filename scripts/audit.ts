// audit --stack STACK [--json]
// Stack history as an audit report (Markdown, or JSON with --json): version, time, who and
// why (recorded by scripts/up.sh), result, resource changes, config keys changed (secret
// values never shown), compute node count, rotation epochs, and the MUNGE key fingerprint
// of each update where the file backend keeps its checkpoint.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cliArgs } from "./lib/args";
import { auditRecords, HistoryEntry, renderAuditMarkdown } from "../components/report";

const usage = "audit --stack STACK [--json]";
const values = cliArgs(usage, { stack: { type: "string" }, json: { type: "boolean", default: false } });
if (!values.stack) {
  console.error(`usage: ${usage}`);
  process.exit(64);
}
const stack = values.stack;
const r = spawnSync("pulumi", ["stack", "history", "--json", "--stack", stack, "--non-interactive"], { encoding: "utf8", maxBuffer: 1 << 30 });
if (r.status !== 0) {
  console.error(`pulumi stack history failed (exit ${r.status}): ${r.stderr.trim()}`);
  process.exit(1);
}
const history: HistoryEntry[] = JSON.parse(r.stdout || "[]");

/** MUNGE key fingerprints by update start time, from the file backend's per-update checkpoints. */
function fingerprints(): Map<string, string> {
  const found = new Map<string, string>();
  const backend = process.env.PULUMI_BACKEND_URL;
  if (!backend?.startsWith("file://")) return found;
  const dir = path.join(backend.slice("file://".length), ".pulumi", "history", "hyperscaler", stack);
  if (!fs.existsSync(dir)) return found;
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".history.json"))) {
    try {
      const { startTime } = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
      const checkpoint = JSON.parse(fs.readFileSync(path.join(dir, f.replace(".history.json", ".checkpoint.json")), "utf8"));
      const root = (checkpoint.checkpoint?.latest?.resources ?? []).find((x: { type: string }) => x.type === "pulumi:pulumi:Stack");
      const fingerprint = root?.outputs?.manifest?.mungeKey?.fingerprint;
      if (typeof startTime === "number" && typeof fingerprint === "string") found.set(new Date(startTime * 1000).toISOString(), fingerprint);
    } catch { /* an unreadable checkpoint only leaves its fingerprint out */ }
  }
  return found;
}

const records = auditRecords(history, fingerprints());
process.stdout.write(values.json ? JSON.stringify(records, null, 2) + "\n" : renderAuditMarkdown(stack, records));
