// drift-watch --stack STACK [--out FILE]
// What changed behind the stack's back, found without changing anything: `pulumi refresh
// --preview-only` (resources that differ from the stack's state: a container stopped or
// removed by hand, a QOS or account changed with sacctmgr), then what SLURM and the nodes
// say: containers not running, nodes drained or down that hyperscaler did not drain, and
// each node's MUNGE key against the manifest's fingerprint. Writes a Markdown report (no
// value of any resource, so no secret) and exits 0 when nothing drifted, 2 on drift, 1
// when it could not look (the stack is not deployed, the refresh or the controller fails).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resourcePart } from "../components/config/names";
import type { ClusterManifest } from "../components/cluster";
import { cliArgs } from "./lib/args";
import { dockerFor, stackManifest } from "./lib/manifest";

const usage = "drift-watch --stack STACK [--out FILE]";
const values = cliArgs(usage, { stack: { type: "string" }, out: { type: "string" } });
if (!values.stack) {
  console.error(`usage: ${usage}`);
  process.exit(64);
}
const stack = values.stack;

/** One finding: what drifted, in words a reviewer acts on. */
interface Finding { readonly section: string; readonly text: string }

/** A step's outcome in the engine's event log (`resOutputsEvent`): the fields read here. */
interface RefreshedStep {
  readonly op: string;
  readonly urn: string;
  readonly type: string;
  /** Properties the provider says differ (a container stopped: mustRun). */
  readonly diffs?: string[];
  readonly old?: { readonly outputs?: Record<string, unknown> };
  readonly new?: { readonly outputs?: Record<string, unknown> };
}

function fail(message: string): never {
  console.error(`drift-watch: ${message}`);
  process.exit(1);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The output keys whose values differ, one level into objects (names only: a value may be a secret). */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>, prefix = ""): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !k.startsWith("__")).sort().flatMap((k) => {
    if (JSON.stringify(a[k]) === JSON.stringify(b[k])) return [];
    return !prefix && isObject(a[k]) && isObject(b[k]) ? changedKeys(a[k], b[k], `${k}.`) : [`${prefix}${k}`];
  });
}

/**
 * Resources whose live state differs from the stack's, from `pulumi refresh --preview-only`
 * (it writes no state). Read from the engine's event log: its JSON output leaves out the
 * changes of resources without a detailed diff (the accounting entities).
 */
function refreshFindings(cluster: string): Finding[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-drift-"));
  const events = path.join(dir, "events.jsonl");
  // --event-log exists only with PULUMI_DEBUG_COMMANDS (as the Automation API runs it).
  const r = spawnSync("pulumi", ["refresh", "--preview-only", "--event-log", events, "--stack", stack, "--non-interactive"],
    { encoding: "utf8", env: { ...process.env, PULUMI_DEBUG_COMMANDS: "true" } });
  const log = fs.existsSync(events) ? fs.readFileSync(events, "utf8") : "";
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) fail(`pulumi refresh --preview-only failed (exit ${r.status}):\n${r.stderr}`);
  const steps = log.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { resOutputsEvent?: { metadata: RefreshedStep } }).resOutputsEvent?.metadata)
    .filter((m): m is RefreshedStep => !!m && m.op !== "same" && !m.type.startsWith("pulumi:"));
  return steps.flatMap((s) => {
    const name = s.urn.slice(s.urn.lastIndexOf("::") + 2);
    const part = resourcePart(cluster, s.urn);
    const what = part?.part === "node" ? `${part.subject}'s container \`${name}\`` : `\`${name}\``;
    if (s.op === "delete") return [{ section: "Resources", text: `${what} (${s.type}) is gone: \`pulumi up\` makes it again` }];
    const keys = s.diffs?.length ? s.diffs : changedKeys(s.old?.outputs ?? {}, s.new?.outputs ?? {});
    return keys.length === 0 ? [] : [{ section: "Resources", text: `${what} (${s.type}) differs from the stack: ${keys.join(", ")}` }];
  });
}

/** Each container the manifest lists, asked of its own engine: running, stopped or missing. */
function containerFindings(manifest: ClusterManifest): Finding[] {
  return Object.keys(manifest.engines ?? {}).flatMap((c) => {
    const r = dockerFor(manifest, c, ["inspect", "--format", "{{.State.Status}}", c]);
    const where = manifest.engines[c].workstation ? ` on workstation ${manifest.engines[c].workstation}` : "";
    if (r.status !== 0) return [{ section: "Containers", text: `${c}${where} is missing` }];
    const state = r.stdout.trim();
    return state === "running" ? [] : [{ section: "Containers", text: `${c}${where} is ${state}, not running` }];
  });
}

/** SLURM's nodes: drained or down without hyperscaler's reason, or not the manifest's nodes. */
function slurmFindings(manifest: ClusterManifest, controllerRunning: boolean): Finding[] {
  if (!controllerRunning) return [];
  const ctl = manifest.controller.container;
  const r = dockerFor(manifest, ctl, ["exec", ctl, "sinfo", "-a", "-h", "-N", "-o", "%N|%T|%E"]);
  if (r.status !== 0) fail(`the controller does not answer sinfo: ${(r.stderr || r.stdout).trim()}`);
  const nodes = new Map(r.stdout.trim().split("\n").filter(Boolean).map((l) => l.split("|")).map(([n, state, reason]) => [n, { state, reason }]));
  const findings: Finding[] = [];
  for (const [node, { state, reason }] of [...nodes].sort()) {
    const byHyperscaler = reason.startsWith("hyperscaler:");
    if (/drain/i.test(state) && !byHyperscaler) findings.push({ section: "SLURM", text: `${node} is ${state} by hand (reason: ${reason || "none"}): \`scontrol update nodename=${node} state=resume\` when done` });
    else if (/down|fail/i.test(state) && !byHyperscaler) findings.push({ section: "SLURM", text: `${node} is ${state} (reason: ${reason || "none"})` });
  }
  for (const n of manifest.computeNodes) if (!nodes.has(n.name)) findings.push({ section: "SLURM", text: `${n.name} is in the stack but not in SLURM` });
  const declared = new Set(manifest.computeNodes.map((n) => n.name));
  for (const n of [...nodes.keys()].sort()) if (!declared.has(n)) findings.push({ section: "SLURM", text: `${n} is in SLURM but not in the stack` });
  return findings;
}

/** The MUNGE key each running SLURM container holds, against the manifest's fingerprint. */
function keyFindings(manifest: ClusterManifest, running: Set<string>): Finding[] {
  const slurmContainers = [manifest.controller.container, ...manifest.computeNodes.map((n) => n.container), ...(manifest.accounting ? [manifest.accounting.slurmdbd] : [])];
  return slurmContainers.filter((c) => running.has(c)).flatMap((c) => {
    const r = dockerFor(manifest, c, ["exec", c, "sha256sum", "/etc/munge/munge.key"]);
    const held = r.status === 0 ? `sha256:${r.stdout.slice(0, 16)}` : undefined;
    if (held === manifest.mungeKey.fingerprint) return [];
    return [{ section: "MUNGE key", text: held ? `${c} holds key ${held}, not the stack's ${manifest.mungeKey.fingerprint}` : `${c} has no readable key: ${(r.stderr || r.stdout).trim()}` }];
  });
}

const manifest = stackManifest(stack);
if (!manifest) fail(`stack ${stack} has no manifest output: it is not deployed, or \`pulumi stack output\` failed`);
const findings = [...refreshFindings(manifest.cluster), ...containerFindings(manifest)];
const stopped = new Set(findings.filter((f) => f.section === "Containers").map((f) => f.text.split(" ")[0]));
const running = new Set(Object.keys(manifest.engines ?? {}).filter((c) => !stopped.has(c)));
findings.push(...slurmFindings(manifest, running.has(manifest.controller.container)), ...keyFindings(manifest, running));

const lines = [`### hyperscaler drift watch: \`${stack}\` (${new Date().toISOString().replace(/\.\d+Z$/, "Z")})`, ""];
if (findings.length === 0) lines.push("**No drift**: the resources, containers, SLURM's nodes and every node's MUNGE key are as the stack says.", "");
else {
  lines.push(`**Drift: ${findings.length} finding${findings.length === 1 ? "" : "s"}** (nothing was changed; \`pulumi up --refresh\` restores what the stack declares)`, "");
  for (const section of [...new Set(findings.map((f) => f.section))]) {
    lines.push(`**${section}**`, ...findings.filter((f) => f.section === section).map((f) => `- ${f.text}`), "");
  }
}
const report = lines.join("\n");
if (values.out) fs.writeFileSync(values.out, report);
process.stdout.write(report);
process.exit(findings.length === 0 ? 0 : 2);
