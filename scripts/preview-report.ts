// preview-report --stack STACK [--policy-pack DIR] [--out FILE]
// Runs `pulumi preview --json` and prints a short Markdown report: counts, what SLURM must
// do, what is risky, which running jobs the change touches (when the cluster answers),
// and policy violations. Exits 1 when the preview fails or a mandatory policy is violated.
// Reads no resource input, so no secret can appear in it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { parseSqueue, PreviewJson, renderPreviewReport, summarizePreview } from "../components/report";

const { values } = parseArgs({ options: { stack: { type: "string" }, "policy-pack": { type: "string" }, out: { type: "string" } } });
if (!values.stack) {
  console.error("usage: preview-report --stack STACK [--policy-pack DIR] [--out FILE]");
  process.exit(64);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-preview-"));
const jsonFile = path.join(tmp, "preview.json");
const fd = fs.openSync(jsonFile, "w");
const policyArgs = values["policy-pack"] ? ["--policy-pack", values["policy-pack"]] : [];
const run = spawnSync("pulumi", ["preview", "--json", "--stack", values.stack, "--non-interactive", ...policyArgs], { stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
fs.closeSync(fd);
let preview: PreviewJson;
try {
  preview = JSON.parse(fs.readFileSync(jsonFile, "utf8"));
} catch {
  console.error(`pulumi preview failed (exit ${run.status}):\n${run.stderr}`);
  process.exit(1);
}
fs.rmSync(tmp, { recursive: true, force: true });
const summary = summarizePreview(values.stack, preview);
const cluster = preview.config?.["hyperscaler:clusterName"] ?? values.stack;
const squeue = summary.touchedNodes.length
  ? spawnSync("docker", ["exec", `${cluster}-controller`, "squeue", "-h", "-o", "%i|%u|%j|%N"], { encoding: "utf8" })
  : undefined;
const jobs = squeue && squeue.status === 0 ? parseSqueue(squeue.stdout) : undefined;
const violations = (preview.diagnostics ?? []).filter((d) => d.severity === "error").map((d) => d.message.trim().split("\n")[0]);
const report = renderPreviewReport(summary, squeue ? jobs : [], violations);
if (values.out) fs.writeFileSync(values.out, report);
process.stdout.write(report);
process.exit(run.status === 0 && violations.length === 0 ? 0 : 1);
