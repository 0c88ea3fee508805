import type { Reporter, TestModule } from "vitest/node";

// Printed last, after vitest's own summary: each failed test with the head and the tail of
// its error. A CI log is often read from its end only (a tail of some thousand characters),
// where a long failure (a `pulumi up`'s whole output) leaves only the last test's error;
// the first failure, usually the cause of the rest, is what is needed.
const FIRST_CHARS = 4000;
const OTHER_CHARS = 1200;
const HEAD_LINES = 6;

function excerpt(message: string, budget: number): string {
  // eslint-disable-next-line no-control-regex
  const lines = message.replace(/\x1b\[[0-9;]*m/g, "").split("\n")
    .filter((l, i, all) => l.trim() && l !== all[i - 1]); // a progress line repeated is told once
  const head = lines.slice(0, HEAD_LINES);
  const tail: string[] = [];
  let used = head.join("\n").length;
  for (let i = lines.length - 1; i >= HEAD_LINES && used + lines[i].length + 1 <= budget; i--) {
    tail.unshift(lines[i]);
    used += lines[i].length + 1;
  }
  const skipped = lines.length - head.length - tail.length;
  return [...head, ...(skipped > 0 ? [`  [… ${skipped} lines …]`] : []), ...tail].map((l) => `  ${l}`).join("\n");
}

export default class FailureDigest implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const failed = modules.flatMap((m) => [
      // A hook's error (a beforeAll that could not deploy) belongs to the file, not to a test.
      ...(m.errors().length ? [{ where: m.relativeModuleId, errors: m.errors() }] : []),
      ...[...m.children.allTests("failed")].map((t) => ({ where: `${m.relativeModuleId} > ${t.fullName}`, errors: t.result().errors ?? [] })),
    ]);
    if (failed.length === 0) return;
    const out = [`\nfailure digest: ${failed.length} failed, in the order they ran (the first is often the cause of the rest)`];
    failed.forEach((f, i) => {
      out.push(`✗ ${f.where}`);
      for (const e of f.errors) out.push(excerpt(e.message ?? String(e), i === 0 ? FIRST_CHARS : OTHER_CHARS));
    });
    process.stdout.write(`${out.join("\n")}\n`);
  }
}
