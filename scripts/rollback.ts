// rollback --stack STACK --to VERSION|previous [--yes] [--reason TEXT]
// Rolls a stack forward to an earlier update's configuration and program: restores the
// config recorded with update VERSION (numbered as `npm run audit` shows them) and the git
// commit it ran from, previews the change against the live stack and shows the report,
// then applies exactly what was previewed (a saved plan: the engine refuses any other
// operation) after confirmation or --yes. Refuses, changing nothing, when the version does
// not exist or its commit is not in this repository.
import { spawnSync, SpawnSyncOptions, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline/promises";
import { stringify } from "yaml";
import { auditRecords, HistoryEntry, renderPreviewReport, summarizePreview } from "../components/report";
import { cliArgs } from "./lib/args";
import { runningJobs, stackManifest } from "./lib/manifest";
import { runPreview } from "./lib/preview";

const usage = "rollback --stack STACK --to VERSION|previous [--yes] [--reason TEXT]";
const values = cliArgs(usage, { stack: { type: "string" }, to: { type: "string" }, yes: { type: "boolean", default: false }, reason: { type: "string" } });
const stack = values.stack;
if (!stack || !values.to || !(values.to === "previous" || /^[1-9][0-9]*$/.test(values.to))) fail(`usage: ${usage}`, 64);

function fail(message: string, code = 1): never {
  console.error(`rollback: ${message}`);
  process.exit(code);
}
function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { maxBuffer: 1 << 30, ...opts, encoding: "utf8" }) as SpawnSyncReturns<string>;
}

const history: (HistoryEntry & { environment?: Record<string, string> })[] =
  JSON.parse(run("pulumi", ["stack", "history", "--json", "--stack", stack!, "--non-interactive"]).stdout || "[]");
const records = auditRecords(history);
// `previous`: undo the newest succeeded update, i.e. go back to the one before it.
const succeeded = records.filter((r) => r.kind === "update" && r.result === "succeeded");
const target = values.to === "previous" ? succeeded.at(-2)?.version : Number(values.to);
if (target === undefined) fail(`stack '${stack}' has no succeeded update before its newest one to go back to`);
const record = records.find((r) => r.version === target);
if (!record) fail(`stack '${stack}' has no version ${target} (it has ${records.length ? `1-${records.length}` : "none"}; see npm run audit -- --stack ${stack})`);
if (record.kind !== "update" || record.result !== "succeeded") fail(`version ${target} is a ${record.result} ${record.kind}, not a succeeded update: pick one of those`);
const entry = history.find((h) => h.startTime === record.time)!;

// The program: the commit the update ran from, checked out beside this one.
const projectDir = process.cwd();
const commit = entry.environment?.["git.head"];
let programDir = projectDir;
let worktree: string | undefined;
if (commit) {
  if (run("git", ["cat-file", "-e", `${commit}^{commit}`]).status !== 0) {
    fail(`version ${target} ran from commit ${commit}, which is not in this repository: fetch it (git fetch --all) and try again`);
  }
  worktree = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-rollback-"));
  if (run("git", ["worktree", "add", "--detach", worktree, commit]).status !== 0) fail(`cannot check out commit ${commit}`);
  const top = run("git", ["rev-parse", "--show-toplevel"]).stdout.trim();
  programDir = path.join(worktree, path.relative(top, projectDir));
  if (!fs.existsSync(path.join(programDir, "node_modules"))) fs.symlinkSync(path.join(projectDir, "node_modules"), path.join(programDir, "node_modules"));
} else {
  console.error(`rollback: version ${target} recorded no git commit: restoring its configuration with the current program`);
}
const cleanup = () => { if (worktree) { run("git", ["worktree", "remove", "--force", worktree]); fs.rmSync(worktree, { recursive: true, force: true }); } };

// The configuration: exactly the one recorded (secrets as the ciphertext recorded with it).
const stackFile = path.join(programDir, `Pulumi.${stack}.yaml`);
const current = fs.existsSync(path.join(projectDir, `Pulumi.${stack}.yaml`)) ? fs.readFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), "utf8") : "";
const salt = /^encryptionsalt: .*$/m.exec(current)?.[0];
const config = Object.fromEntries(Object.entries(entry.config ?? {}).map(([k, c]) =>
  [k, c.secret ? { secure: c.value } : (c as { objectValue?: unknown }).objectValue ?? c.value]));
const restored = `# Restored by scripts/rollback.ts from version ${target} of stack ${stack}.\n${stringify({ config })}${salt ? `${salt}\n` : ""}`;
fs.writeFileSync(stackFile, restored);

const plan = path.join(os.tmpdir(), `hyperscaler-rollback-${process.pid}.plan.json`);
const { preview, stderr } = runPreview(stack!, ["--save-plan", plan], programDir);
if (!preview) { cleanup(); fail(`the preview failed, nothing was changed:\n${stderr}`); }
const summary = summarizePreview(stack!, preview);
process.stdout.write(`Rollback of ${stack} to version ${target} (${record.time}, ${record.who}: ${record.why})${commit ? `, program at ${commit.slice(0, 12)}` : ""}\n\n`);
// The jobs running on the nodes the rollback touches, asked of the controller's engine.
const jobs = summary.touchedNodes.length === 0 ? [] : runningJobs(stackManifest(stack!, projectDir), preview.config?.["hyperscaler:dockerHost"]);
process.stdout.write(renderPreviewReport(summary, jobs, []));

async function confirmed(): Promise<boolean> {
  if (values.yes) return true;
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question("Apply exactly this change? (yes/no) ");
  rl.close();
  return answer.trim() === "yes";
}

void (async () => {
  if (!(await confirmed())) { cleanup(); fail("not confirmed; nothing was changed"); }
  const who = process.env.HYPERSCALER_OPERATOR ?? (run("git", ["config", "user.email"]).stdout.trim() || os.userInfo().username);
  const up = run("pulumi", ["up", "--yes", "--skip-preview", "--plan", plan, "--stack", stack!, "--non-interactive",
    "--message", `who=${who}@${os.hostname()}; reason=${values.reason ?? `rollback to version ${target}`}`],
  { cwd: programDir, stdio: "inherit", env: { ...process.env, PULUMI_EXPERIMENTAL: "true" } });
  // The checkout's stack file now says what runs, so the next up does not undo the rollback.
  if (up.status === 0) fs.writeFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), restored);
  cleanup();
  fs.rmSync(plan, { force: true });
  if (up.status !== 0) fail("the update failed; see above");
  console.log(`rollback: ${stack} is at the configuration of version ${target}; Pulumi.${stack}.yaml was rewritten to match (commit it)`);
})();
