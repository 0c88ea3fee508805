import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { docker, dockerTry } from "../support/docker";
import { checkoutOf } from "../support/previous";
import { REPO, run, tempBackend, tempProject } from "../support/run";
import { jobState as slurmJobState } from "../support/slurm";
import { ok, removeLabelled, SHARED_CPUS } from "../support/stack";
import { waitFor } from "../support/wait";

// A stack deployed when each SLURM node was a component of four resources
// (hyperscaler:node:WorkstationNode: container, key delivery; beside it the membership)
// moves to today's two per compute node by a plain `pulumi up`: the containers come
// through aliases, no container is replaced, munged is not restarted, the running job
// carries on, and the moved membership still drains its node on scale-in.
const NODE_COMPONENT_COMMIT = "08bb7b8b7c19928b8ca8f60e03617b1a704fd9bf";
const stack = `nr${process.pid}`;
const cluster = stack;
const backend = tempBackend();
const old = checkoutOf(NODE_COMPONENT_COMMIT, "node-component");
// The old code builds today's images: the move is of resources alone, and an image changed
// since that commit would replace every container for a reason of its own.
fs.rmSync(path.join(old, "images"), { recursive: true });
fs.cpSync(path.join(REPO, "images"), path.join(old, "images"), { recursive: true });
const today = tempProject();
const todayStackFile = path.join(today, `Pulumi.${stack}.yaml`);
const pulumiIn = (dir: string, ...args: string[]) => run("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: dir, env: backend.env });
const ctl = (...cmd: string[]) => docker(["exec", `${cluster}-controller`, ...cmd]);
const HOSTS = ["controller", "cpu001", "cpu002"];
/** Each SLURM container's ID and its munged's PID: what a replacement or a key restart would change. */
const processes = () => HOSTS.map((h) => `${h} ${docker(["inspect", "-f", "{{.Id}}", `${cluster}-${h}`]).trim()} ${docker(["exec", `${cluster}-${h}`, "cat", "/run/munge/munged.pid"]).trim()}`);
const stackFile = (nodes: number) => `config:\n  hyperscaler:clusterName: ${cluster}\n  hyperscaler:nodeGroups:\n    cpu:\n      count: ${nodes}\n      memoryMiB: 256\n${SHARED_CPUS}`;

afterAll(() => {
  // A test that failed may leave the sleeping job: the destroy's drain would wait for it.
  dockerTry(["exec", `${cluster}-controller`, "scancel", "-u", "root"]);
  pulumiIn(today, "destroy", "--yes");
  pulumiIn(today, "stack", "rm", "--yes", "--force");
  removeLabelled(cluster);
  for (const dir of [old, today, backend.dir]) fs.rmSync(dir, { recursive: true, force: true });
});

describe("moving a stack whose nodes were components", () => {
  let job = "";
  let before: string[] = [];

  it("deploys with the previous commit's node components, a job running", async () => {
    ok(pulumiIn(old, "stack", "init"));
    fs.appendFileSync(path.join(old, `Pulumi.${stack}.yaml`), stackFile(2));
    ok(pulumiIn(old, "up", "--yes"));
    const state = JSON.parse(ok(pulumiIn(old, "stack", "export")).stdout).deployment.resources as { type: string }[];
    expect(state.filter((r) => r.type === "hyperscaler:node:WorkstationNode")).toHaveLength(3);
    job = ctl("sbatch", "--parsable", "-w", "cpu002", "--wrap", "sleep 600").trim();
    await waitFor(`job ${job} to run`, () => slurmJobState(ctl, job) === "RUNNING");
    before = processes();
    // Today's project uses the same stack file (its secrets' salt) and backend.
    fs.copyFileSync(path.join(old, `Pulumi.${stack}.yaml`), todayStackFile);
  });

  it("previews the move as components and old key deliveries deleted, memberships updated, every container the same", () => {
    const steps = JSON.parse(ok(pulumiIn(today, "preview", "--json")).stdout).steps as { op: string; urn: string }[];
    const ops = (op: string) => steps.filter((s) => s.op === op).map((s) => s.urn.slice(s.urn.lastIndexOf("::") + 2)).sort();
    // No container is touched (the report lists only what changes).
    expect(steps.filter((s) => s.urn.includes("docker:index/container:Container") && s.op !== "same")).toEqual([]);
    expect(ops("delete")).toEqual([`${cluster}-controller`, `${cluster}-cpu001`, `${cluster}-cpu001-munge-key`, `${cluster}-cpu002`, `${cluster}-cpu002-munge-key`]);
    expect(steps.filter((s) => s.op === "delete").every((s) => /WorkstationNode/.test(s.urn))).toBe(true);
    expect(ops("update")).toEqual([`${cluster}-controller-munge-key`, `${cluster}-cpu001-membership`, `${cluster}-cpu002-membership`]);
    expect([...ops("create"), ...ops("replace"), ...ops("create-replacement")]).toEqual([]);
  });

  it("moves it with a plain up: the same containers and munged processes, the job still running, two resources per compute node", () => {
    ok(pulumiIn(today, "up", "--yes", "--skip-preview"));
    expect(processes()).toEqual(before);
    expect(slurmJobState(ctl, job)).toBe("RUNNING");
    const state = JSON.parse(ok(pulumiIn(today, "stack", "export")).stdout).deployment.resources as { type: string; urn: string }[];
    expect(state.filter((r) => r.type === "hyperscaler:node:WorkstationNode")).toEqual([]);
    expect(state.filter((r) => /::[^:]+-cpu002(-[a-z-]+)?$/.test(r.urn)).map((r) => r.type).sort()).toEqual(["command:local:Command", "docker:index/container:Container"]);
    ok(pulumiIn(today, "preview", "--expect-no-changes"));
  });

  it("cannot be rolled back to the old release, and a try removes nothing (docs/operations/maintenance.md)", () => {
    const r = pulumiIn(old, "up", "--yes", "--skip-preview");
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/already in use/);
    expect(processes()).toEqual(before);
    expect(slurmJobState(ctl, job)).toBe("RUNNING");
    ok(pulumiIn(today, "up", "--yes", "--skip-preview"));
    ok(pulumiIn(today, "preview", "--expect-no-changes"));
    expect(processes()).toEqual(before);
  });

  it("drains and removes a node through its moved membership", () => {
    fs.writeFileSync(todayStackFile, fs.readFileSync(todayStackFile, "utf8").replace(/count: 2/, "count: 1"));
    ctl("scancel", job);
    ok(pulumiIn(today, "up", "--yes"));
    expect(dockerTry(["inspect", `${cluster}-cpu002`]).code).not.toBe(0);
    expect(run("docker", ["exec", `${cluster}-controller`, "scontrol", "show", "node", "cpu002"]).output).toMatch(/not found/i);
    expect(ctl("srun", "-N1", "hostname").trim()).toBe("cpu001");
  });
});
