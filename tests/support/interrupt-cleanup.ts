import { spawnSync } from "node:child_process";
import { labPrefixes, removeLab } from "./lab";

// vitest's global setup, in its main process. A test file cleans up after itself in its
// afterAll hooks, but an interrupted run (Ctrl-C, a CI job's timeout) never gets there.
// Every test names what it makes <prefix><pid of its worker> (e2e1234, e2e1234-net,
// hsstate1234-data): on SIGINT or SIGTERM this stops the workers and everything they
// started, then removes the containers, networks and volumes named after them.

const TEST_NAME = /^[a-z][a-z0-9]*?(\d+)(?:-|$)/;

/** The processes below `root`, deepest first. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  const ps = spawnSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" }).stdout ?? "";
  for (const [pid, ppid] of ps.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number))) {
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const below = (pid: number): number[] => (children.get(pid) ?? []).flatMap((c) => [...below(c), c]);
  return below(root);
}

function cleanUp(): void {
  const pids = descendants(process.pid);
  for (const pid of pids) { try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ } }
  const ours = (name: string) => pids.includes(Number(TEST_NAME.exec(name)?.[1]));
  const docker = (...args: string[]) => spawnSync("docker", args, { encoding: "utf8", timeout: 60_000 }).stdout ?? "";
  for (const [kind, list] of [["container", ["ps", "-a", "--format", "{{.Names}}"]], ["network", ["network", "ls", "--format", "{{.Name}}"]], ["volume", ["volume", "ls", "--format", "{{.Name}}"]]] as const) {
    const names = docker(...list).trim().split("\n").filter((n) => n && ours(n));
    if (names.length === 0) continue;
    docker(kind, "rm", ...(kind === "container" ? ["-f"] : []), ...names);
    console.error(`interrupted: removed ${kind}s ${names.join(" ")}`);
  }
  // Workstation labs (tests/support/workstations.sh), named w<pid>: their engines go with them.
  for (const prefix of labPrefixes().filter(ours)) {
    removeLab(prefix);
    console.error(`interrupted: removed workstation lab ${prefix}`);
  }
}

export default function setup(): void {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.once(signal, () => { cleanUp(); process.exit(code); });
  }
}
