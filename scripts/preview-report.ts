// preview-report --stack STACK [--out FILE]
// Runs `pulumi preview --json` with the project's policy pack (policy/) and prints a short
// Markdown report: counts, what SLURM must do, what is risky, which running jobs the change
// touches (when the cluster answers), and the policy violations. Exits 1 when the preview
// fails, breaks a mandatory policy or reports an error diagnostic. Reads no resource
// input, so no secret can appear in it.
import * as fs from "node:fs";
import * as path from "node:path";
import { renderPreviewReport, summarizePreview } from "../components/report";
import { cliArgs } from "./lib/args";
import { runningJobs, stackManifest } from "./lib/manifest";
import { runPreview } from "./lib/preview";

const usage = "preview-report --stack STACK [--out FILE]";
const values = cliArgs(usage, { stack: { type: "string" }, out: { type: "string" } });
if (!values.stack) {
  console.error(`usage: ${usage}`);
  process.exit(64);
}
const { preview: ok, partial, policyViolations, status, stderr } = runPreview(values.stack, ["--policy-pack", path.join(__dirname, "..", "policy")]);
// A preview that only broke policies still says what it would do: report both.
const preview = ok ?? (policyViolations.length > 0 ? partial : undefined);
if (!preview) {
  // With --json the engine's errors (a preflight's, say) are in the JSON, not on stderr.
  const said = (partial?.diagnostics ?? []).filter((d) => d.severity === "error").map((d) => d.message.trim());
  console.error(`pulumi preview failed (exit ${status}):\n${[stderr.trim(), ...said].filter(Boolean).join("\n")}`);
  process.exit(1);
}
const summary = summarizePreview(values.stack, preview);
// Jobs on the nodes the change touches, from the controller's engine (the manifest's);
// undefined when the cluster does not answer.
const jobs = summary.touchedNodes.length === 0 ? [] : runningJobs(stackManifest(values.stack), preview.config?.["hyperscaler:dockerHost"]);
const errors = (preview.diagnostics ?? []).filter((d) => d.severity === "error").map((d) => d.message.trim().split("\n")[0]);
const report = renderPreviewReport(summary, jobs, errors, policyViolations);
if (values.out) fs.writeFileSync(values.out, report);
process.stdout.write(report);
process.exit(ok && errors.length === 0 && !policyViolations.some((v) => v.level === "mandatory") ? 0 : 1);
