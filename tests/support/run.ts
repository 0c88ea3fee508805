import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "vitest";

export const REPO = path.resolve(__dirname, "../..");

export interface RunResult { code: number; stdout: string; stderr: string; output: string }

/**
 * The passphrase of the tests' throwaway stacks: the dev one is for the stack `dev` only
 * (scripts/bin/pulumi refuses it elsewhere). A test may give its own.
 */
export const TEST_PASSPHRASE = "hyperscaler-tests-only";

/**
 * The longest one command of a test may run. A test runs its commands synchronously, so
 * vitest's own timeouts cannot stop one that hangs (an srun waiting for a node that never
 * comes back): this limit turns a hang into a failure that names the command.
 */
export const COMMAND_LIMIT_S = Number(process.env.HYPERSCALER_TEST_COMMAND_LIMIT_S ?? 600);

/**
 * HYPERSCALER_TEST_TRACE=FILE: each command or wait of a test that takes a second or more is
 * appended to FILE (seconds, test file, the command's first words), to find where the
 * suite's time goes. Only the first words: a command line may carry a value not to print.
 */
export function traceSlow(what: string, started: number): void {
  const file = process.env.HYPERSCALER_TEST_TRACE;
  const seconds = (performance.now() - started) / 1000;
  if (!file || seconds < 1) return;
  const test = path.relative(REPO, expect.getState().testPath ?? "?");
  fs.appendFileSync(file, `${seconds.toFixed(1)}\t${test}\t${expect.getState().currentTestName ?? ""}\t${what}\n`);
}

/** Runs a command to completion (no shell), returning exit code and output. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): RunResult {
  const started = performance.now();
  // Only the first words: a command line may carry a value the test would rather not print.
  const shown = [cmd, ...args.slice(0, 4)].join(" ");
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? REPO,
    env: { PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE, ...process.env, ...opts.env },
    encoding: "utf8",
    input: opts.input,
    maxBuffer: 1024 * 1024 * 1024,
    timeout: COMMAND_LIMIT_S * 1000,
    killSignal: "SIGKILL",
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT") {
    throw new Error(`\`${shown} ...\` did not finish in ${COMMAND_LIMIT_S} s (HYPERSCALER_TEST_COMMAND_LIMIT_S); its output so far:\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  }
  traceSlow(shown, started);
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}

/** A throwaway file backend, so tests never touch the repo's own stacks. */
export function tempBackend(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-state-"));
  return { dir, env: { PULUMI_BACKEND_URL: `file://${dir}` } };
}

/** Every file below dir, as text, for scanning state and history for leaked secrets. */
export function readTree(dir: string): string {
  let text = "";
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) text += fs.readFileSync(path.join(entry.parentPath, entry.name), "latin1");
  }
  return text;
}

/**
 * Every way a secret could have been written down: raw, base64 and hex (upper and lower
 * case), each whole and as a 32-character piece from its middle (a copy cut short, or
 * wrapped, still contains it).
 */
export function secretForms(secret: Buffer | string): string[] {
  const raw = Buffer.isBuffer(secret) ? secret : Buffer.from(secret);
  const forms = [raw.toString("latin1"), raw.toString("base64"), raw.toString("hex"), raw.toString("hex").toUpperCase()];
  return forms.flatMap((f) => (f.length > 48 ? [f, f.slice(f.length / 2 - 16, f.length / 2 + 16)] : [f]));
}

/** The names of the secrets found in text, in any form secretForms knows, also with line breaks taken out (a wrapped copy). */
export function leakedSecrets(text: string, secrets: Record<string, Buffer | string>): string[] {
  const unwrapped = text.replace(/\s+/g, "");
  return Object.entries(secrets).filter(([, s]) => secretForms(s).some((f) => text.includes(f) || unwrapped.includes(f))).map(([name]) => name);
}

/**
 * A throwaway copy of this project (sources linked, no stack files), so that stack init
 * and config writes land outside the repo.
 */
export function tempProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-project-"));
  fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  for (const entry of ["package.json", "tsconfig.json", "node_modules", "components", "stacks", "images", "scripts"]) {
    fs.symlinkSync(path.join(REPO, entry), path.join(dir, entry));
  }
  return dir;
}

/**
 * A TCP port on 127.0.0.1 that no program holds now, as the kernel hands one out: a test
 * that publishes or serves on it does not meet a user's dev stack (9090, 9093, 5432) or
 * another test file running beside it.
 */
export function freePort(): number {
  const r = spawnSync(process.execPath, ["-e", "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"], { encoding: "utf8" });
  const port = Number(r.stdout.trim());
  if (!(port > 0)) throw new Error(`no free port: ${r.stderr}`);
  return port;
}
