import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import { docker, dockerTry } from "./docker";
import { dockerNames } from "../../components/config/names";
import { run, RunResult, tempBackend, tempProject, TEST_PASSPHRASE } from "./run";

/** `pulumi ARGS` in the background, so that something else can happen while it runs (a fault, a second update). */
export function pulumiInBackground(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("pulumi", [...args, "--non-interactive"], { cwd, env: { PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE, ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Fails the test with the command's output unless it succeeded. */
export function ok(r: RunResult): RunResult {
  expect(r.code, r.output).toBe(0);
  return r;
}

/**
 * Config lines for test stacks that grow past the test machine's CPUs (2 here): the
 * containers share them, as on a developer's workstation (Pulumi.dev.yaml says the same).
 */
export const SHARED_CPUS = "  hyperscaler:overcommit:\n    cpu: 5\n";

/** Config lines for test stacks with monitoring: scraped every 5 s, no port on the host (stacks run side by side). */
export const TEST_MONITORING = "  hyperscaler:monitoring:\n    scrapeIntervalSec: 5\n    prometheus:\n      port: false\n    alertmanager:\n      port: false";

/** Config lines for test stacks with accounting: one account. */
export const TEST_ACCOUNTING = ["  hyperscaler:accounting:", "    accounts:", "      physics:", "        fairshare: 1"];

/** Removes whatever carries a cluster's label: containers, then volumes and networks (what a failed test or an upgrade left). */
export function removeLabelled(cluster: string): void {
  const labelled = (...list: string[]) => docker([...list, "--filter", `label=hyperscaler.cluster=${cluster}`]).trim().split("\n").filter(Boolean);
  for (const id of labelled("ps", "-aq")) dockerTry(["rm", "-f", id]);
  for (const v of labelled("volume", "ls", "-q")) dockerTry(["volume", "rm", v]);
  for (const n of labelled("network", "ls", "-q")) dockerTry(["network", "rm", n]);
  // Stacks made before the providers left their network without the label.
  const network = dockerNames(cluster).network;
  if (dockerTry(["network", "inspect", network]).code === 0) dockerTry(["network", "rm", network]);
}

/** A throwaway copy of the project on a throwaway file backend, for real `pulumi` runs. */
export class TestProject {
  readonly backend = tempBackend();
  readonly dir = tempProject();

  pulumi(stack: string, ...args: string[]): RunResult {
    return this.pulumiWithEnv(stack, {}, ...args);
  }

  /** `pulumi` with extra environment for the program. */
  pulumiWithEnv(stack: string, env: NodeJS.ProcessEnv, ...args: string[]): RunResult {
    return run("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: this.dir, env: { ...this.backend.env, ...env } });
  }

  /** Creates a stack whose Pulumi.<stack>.yaml config section is `config` (YAML, indented by two). */
  init(stack: string, config: string): void {
    ok(this.pulumi(stack, "stack", "init"));
    fs.appendFileSync(path.join(this.dir, `Pulumi.${stack}.yaml`), `config:\n${config}`);
  }

  setConfig(stack: string, key: string, value: string): void {
    ok(this.pulumi(stack, "config", "set", "--path", `hyperscaler:${key}`, value));
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a stack output: each test reads the shape it expects
  output(stack: string, name: string, showSecrets = false): any {
    return JSON.parse(ok(this.pulumi(stack, "stack", "output", name, "--json", ...(showSecrets ? ["--show-secrets"] : []))).stdout);
  }

  /** Resources in the stack's state, the stack itself not counted. */
  resourceCount(stack: string): number {
    return (JSON.parse(this.pulumi(stack, "stack", "export").stdout).deployment.resources ?? [])
      .filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack").length;
  }

  /**
   * Ends a test stack: `pulumi destroy`, then whatever a failed test left with the cluster's
   * label (containers, volumes, networks), then the project copy and its backend.
   */
  destroy(stack: string): void {
    this.pulumi(stack, "destroy", "--yes");
    removeLabelled(stack);
    this.remove();
  }

  remove(): void {
    fs.rmSync(this.backend.dir, { recursive: true, force: true });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
