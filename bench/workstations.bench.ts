import { afterAll, describe, expect, it } from "vitest";
import { docker } from "../tests/support/docker";
import { Lab } from "../tests/support/lab";
import { ok, SHARED_CPUS, TestProject } from "../tests/support/stack";
import { median, report, RUNS, since } from "./report";

// One cluster of three compute nodes on 1, 2 and 3 Docker engines: this machine's alone
// (as a one-workstation stack is), then spread over workstations in network namespaces
// reached over SSH (tests/support/workstations.sh). How long `pulumi up` takes from
// nothing (on fresh engines: the SLURM image's copy included), and how long a job step
// takes across the nodes and on a node elsewhere.
const project = new TestProject();
const lab = new Lab(`b${process.pid}`, 2, 78);
const NODES = 3;

afterAll(() => {
  lab.down();
  project.remove();
});

function config(stack: string, engines: number): string {
  const groups = Array.from({ length: NODES }, (_, i) => `    g${String.fromCharCode(97 + i)}:\n      count: 1` +
    (engines > 1 && i % engines > 0 ? `\n      workstation: ws${i % engines}` : ""));
  const workstations = engines === 1 ? [] : [
    "  hyperscaler:workstations:",
    `    main:\n      dockerHost: unix:///var/run/docker.sock\n      interface: ${lab.bridge}\n      addresses: 10.78.0.64/27`,
    ...Array.from({ length: engines - 1 }, (_, i) => `    ws${i + 1}:\n      dockerHost: ${lab.host(i + 1)}\n      interface: lan0\n      addresses: 10.78.0.${96 + 32 * i}/27`),
    `  hyperscaler:network:\n    subnet: ${lab.subnet()}\n    controllerAddress: 10.78.0.10`,
    "  hyperscaler:controller:\n    workstation: main",
  ];
  return [`  hyperscaler:clusterName: ${stack}`, ...workstations, "  hyperscaler:nodeGroups:", ...groups, SHARED_CPUS].join("\n");
}

describe("a cluster on 1, 2 and 3 Docker engines", () => {
  it.each([1, 2, 3])("%i engine(s): deploy time and srun latency", (engines) => {
    const stack = `wsb${engines}x${process.pid}`;
    const pulumi = (...args: string[]) => project.pulumiWithEnv(stack, lab.env, ...args);
    project.init(stack, config(stack, engines));
    try {
      const t0 = performance.now();
      ok(pulumi("up", "--yes", "--skip-preview"));
      report(`workstations, deploy on ${engines} engine(s)`, since(t0), "s", `pulumi up from nothing: controller + ${NODES} nodes, validated`);
      const seconds = (cmd: string) => median(Array.from({ length: RUNS }, () => Number(docker(["exec", `${stack}-controller`, "sh", "-c",
        `s=$(date +%s.%N); ${cmd} >/dev/null; e=$(date +%s.%N); awk "BEGIN { print $e - $s }"`]).trim())));
      expect(docker(["exec", `${stack}-controller`, "srun", `-N${NODES}`, "hostname"]).trim().split("\n").sort()).toEqual(["ga001", "gb001", "gc001"]);
      report(`workstations, srun -N${NODES} on ${engines} engine(s)`, seconds(`srun -N${NODES} true`), "s", `median of ${RUNS}`);
      // gb001: on the controller's engine alone, else on workstation ws1, over the LAN.
      report(`workstations, srun on gb001, ${engines} engine(s)`, seconds("srun -w gb001 true"), "s",
        `${engines > 1 ? "on another engine than the controller" : "same engine as the controller"}, median of ${RUNS}`);
    } finally {
      project.pulumiWithEnv(stack, lab.env, "destroy", "--yes");
      project.pulumiWithEnv(stack, lab.env, "stack", "rm", "--yes", "--force");
    }
  }, 900_000);
});
