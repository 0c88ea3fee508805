import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { REPO, run, RunResult } from "./run";
import type { TestProject } from "./stack";

const SCRIPT = path.join(REPO, "tests/support/workstations.sh");
/** Where workstations.sh keeps its labs: one folder a prefix. */
export const LAB_ROOT = "/run/hyperscaler-lab";

/**
 * Workstations on this machine (tests/support/workstations.sh): each a network namespace
 * with its own dockerd and sshd on one bridge, 10.<octet>.0.0/24. Workstation i is at
 * 10.<octet>.0.(10+i), reached as ssh://<prefix>-ws<i>; the bridge (this machine's side
 * of the LAN) is <prefix>lan at 10.<octet>.0.1.
 */
export class Lab {
  readonly dir: string;
  /** PATH with the lab's `ssh` first: for every process that reaches a workstation. */
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly prefix: string, readonly count: number, readonly octet = 77) {
    const r = run("bash", [SCRIPT, "up", prefix, String(count), String(octet)]);
    if (r.code !== 0) {
      // What it made before failing goes too: a next lab needs the same addresses.
      removeLab(prefix);
      throw new Error(`workstations.sh up failed:\n${r.output}`);
    }
    this.dir = r.stdout.trim().split("\n").pop()!;
    this.env = { PATH: `${this.dir}/bin:${process.env.PATH}` };
  }

  /** The LAN's interface on this machine (the parent for this machine's engine). */
  get bridge(): string { return `${this.prefix}lan`; }
  host(i: number): string { return `ssh://${this.prefix}-ws${i}`; }
  address(i: number): string { return `10.${this.octet}.0.${10 + i}`; }
  subnet(): string { return `10.${this.octet}.0.0/24`; }
  /**
   * Workstation i's lines under hyperscaler:workstations: 0 is this machine's engine, on the
   * LAN's bridge; each has 32 addresses of the LAN, 10.<octet>.0.(64 + 32 i)/27.
   */
  workstationConfig(i: number, name: string, iface = i === 0 ? this.bridge : "lan0"): string[] {
    return [`    ${name}:`, `      dockerHost: ${i === 0 ? "unix:///var/run/docker.sock" : this.host(i)}`, `      interface: ${iface}`, `      addresses: 10.${this.octet}.0.${64 + 32 * i}/27`];
  }

  /**
   * A test stack's first config lines on this lab: its cluster name, the workstations (by
   * index, name and, where not the default, interface) and the LAN, the controller at .10.
   */
  stackConfig(stack: string, workstations: readonly (readonly [number, string, string?])[]): string[] {
    return [
      `  hyperscaler:clusterName: ${stack}`,
      "  hyperscaler:workstations:",
      ...workstations.flatMap(([i, name, iface]) => this.workstationConfig(i, name, iface)),
      "  hyperscaler:network:",
      `    subnet: ${this.subnet()}`,
      `    controllerAddress: 10.${this.octet}.0.10`,
    ];
  }

  /** `docker` on workstation i's engine, through its socket (not through ssh: faster, and it works with sshd down). */
  docker(i: number, ...args: string[]): string {
    const r = run("docker", ["-H", `unix://${this.dir}/ws${i}/docker.sock`, ...args]);
    if (r.code !== 0) throw new Error(`docker on workstation ${i} ${args.join(" ")} failed:\n${r.output}`);
    return r.stdout;
  }

  /**
   * Which of TARGETS (`address:port`) answer a TCP connect from a host on the LAN that is not
   * a workstation (its own namespace on the bridge, at .250): what a visitor's laptop sees.
   */
  probe(targets: readonly string[]): Record<string, "open" | "closed"> {
    const r = run("bash", [SCRIPT, "probe", this.prefix, ...targets]);
    if (r.code !== 0) throw new Error(`workstations.sh probe failed:\n${r.output}`);
    return Object.fromEntries(r.stdout.trim().split("\n").filter(Boolean).map((l) => l.split(" ") as [string, "open" | "closed"]));
  }

  /** Runs a command on that visitor's host (its network only; this machine's files and programs). */
  visit(...cmd: string[]): RunResult {
    return run("bash", [SCRIPT, "visit", this.prefix, ...cmd]);
  }

  stop(i: number): void { this.script("stop", String(i)); }
  /** Workstation i lost for good: its containers killed (no clean shutdown), its engine stopped, its volumes deleted. */
  lose(i: number): void { this.script("lose", String(i)); }
  start(i: number): void { this.script("start", String(i)); }
  down(): void { run("bash", [SCRIPT, "down", this.prefix]); }

  private script(...args: string[]): void {
    const [cmd, ...rest] = args;
    const r = run("bash", [SCRIPT, cmd, this.prefix, ...rest]);
    if (r.code !== 0) throw new Error(`workstations.sh ${args.join(" ")} failed:\n${r.output}`);
  }
}

/** Prefixes of the labs left on this machine (for cleanup after an interrupted run). */
export function labPrefixes(): string[] {
  return fs.existsSync(LAB_ROOT) ? fs.readdirSync(LAB_ROOT) : [];
}

/** Removes a lab by prefix. */
export function removeLab(prefix: string): void {
  run("bash", [SCRIPT, "down", prefix]);
}

/**
 * A test file's lab of COUNT workstations, given to `made` before its tests; after them
 * its stack is destroyed, then the lab taken down (also when a test failed).
 */
export function withLab(prefix: string, count: number, project: TestProject, stack: string, made: (lab: Lab) => void): void {
  let lab: Lab | undefined;
  beforeAll(() => {
    lab = new Lab(prefix, count);
    made(lab);
  }, 300_000);
  afterAll(() => {
    if (lab) project.pulumiWithEnv(stack, lab.env, "destroy", "--yes");
    project.destroy(stack);
    lab?.down();
  }, 600_000);
}
