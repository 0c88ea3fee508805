import { describe, expect, it } from "vitest";
import { Lab, withLab } from "../support/lab";
import { ok, SHARED_CPUS, TestProject } from "../support/stack";
import { docker } from "../support/docker";
import { run } from "../support/run";
import { runProcedure } from "../support/runbook";
import { nodeNames } from "../support/slurm";

// The controller on a workstation that cannot build images: a lab workstation (a Docker
// engine in a network namespace, tests/support/workstations.sh) reaches neither Debian's
// mirror nor a registry, and has no base image. hyperscaler:buildWorkstation names this
// machine's engine, which builds every role image; the others get copies. Then a third
// workstation, with a node, is lost for good and forgotten through the scaling guide.
describe("images built on one workstation, the controller on another; a workstation gone for good", () => {
  const stack = `bw${process.pid}`;
  const project = new TestProject();
  let lab: Lab;
  const pulumi = (...args: string[]) => project.pulumiWithEnv(stack, lab.env, ...args);
  const onNear = (...args: string[]) => lab.docker(1, ...args);
  const ctl = (...cmd: string[]) => onNear("exec", `${stack}-controller`, ...cmd);
  const labelled = (run: (...args: string[]) => string) => run("ps", "-a", "--filter", `label=hyperscaler.cluster=${stack}`, "--format", "{{.Names}}").trim().split("\n").filter(Boolean).sort();

  withLab(`b${process.pid}`, 2, project, stack, (made) => { lab = made; });

  it("deploys the controller, PostgreSQL and a node on a workstation without the base image, from images built here", () => {
    // The premise: that engine could not build them itself.
    expect(() => onNear("image", "inspect", process.env.HYPERSCALER_BASE_IMAGE ?? "hyperscaler/debian-base:trixie")).toThrow(/No such image/i);
    project.init(stack, [
      ...lab.stackConfig(stack, [[0, "main"], [1, "near"], [2, "far"]]),
      "  hyperscaler:buildWorkstation: main",
      "  hyperscaler:controller:",
      "    workstation: near",
      "  hyperscaler:nodeGroups:",
      "    cpu:",
      "      count: 1",
      "      memoryMiB: 256",
      "    far:",
      "      count: 1",
      "      memoryMiB: 256",
      "      workstation: far",
      "  hyperscaler:postgres:",
      "    roles:",
      "      app:",
      "        database: appdb",
      "",
    ].join("\n") + SHARED_CPUS);
    ok(pulumi("up", "--yes", "--skip-preview"));
    expect(labelled(onNear)).toEqual([`${stack}-controller`, `${stack}-cpu001`, `${stack}-postgres`]);
    // Built here, where nothing of the cluster runs: the same image IDs there.
    expect(labelled((...args) => docker(args))).toEqual([]);
    for (const [container, role] of [["controller", "slurm"], ["postgres", "postgres"]]) {
      const running = onNear("inspect", "--format", "{{.Image}}", `${stack}-${container}`).trim();
      expect(docker(["image", "inspect", "--format", "{{.Id}}", `hyperscaler/${role}:${stack}`]).trim(), role).toBe(running);
    }
    expect(labelled((...args) => lab.docker(2, ...args))).toEqual([`${stack}-far001`]);
    expect(ctl("srun", "-N2", "-w", "cpu001,far001", "hostname").trim().split("\n").sort()).toEqual(["cpu001", "far001"]);
    expect(onNear("exec", "-u", "postgres", `${stack}-postgres`, "psql", "-X", "-At", "-d", "appdb", "-c", "SELECT 1").trim()).toBe("1");
    // The PostgreSQL scripts find it on its workstation's engine, whatever DOCKER_HOST says.
    const window = run("bash", ["scripts/with-env.sh", "bash", "scripts/pg-pitr.sh", "window", "--stack", stack], { cwd: project.dir, env: { ...project.backend.env, ...lab.env, DOCKER_HOST: "unix:///var/run/docker.sock" } });
    expect(window.code, window.output).toBe(0);
    expect(window.output).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    ok(pulumi("preview", "--expect-no-changes"));
  }, 900_000);

  it("forgets a workstation gone for good through the guide: its node leaves SLURM, nothing else changes", () => {
    const env = { ...project.backend.env, ...lab.env, STACK: stack, WS: "far", GROUP: "far", DOCKER_HOST: lab.host(1) };
    const forget = (...args: string[]) => run("npm", ["run", "--silent", "forget-workstation", "--", "--stack", stack, "--workstation", "far", ...args], { cwd: project.dir, env });
    // An engine that answers is not forgotten: removing it drains first.
    expect(forget()).toMatchObject({ code: 65, output: expect.stringMatching(/far's engine \(ssh:\/\/b\d+-ws2\) answers: take the workstation out of the config and run up/) });
    const containers = labelled(onNear);
    lab.stop(2);
    // A dry run lists what lives there and changes nothing.
    const dry = forget();
    expect(dry.code, dry.output).toBe(0);
    expect(dry.output).toMatch(/docker:index\/container:Container bw\d+-far001/);
    expect(dry.output).not.toMatch(/cpu001|controller|postgres/);
    expect(dry.output).toContain("dry run: nothing changed");
    expect(pulumi("preview").output).toMatch(/hyperscaler:workstations\.far\.dockerHost: the Docker engine did not answer/);

    const output = runProcedure("forget-workstation", { cwd: project.dir, env });
    // Its membership stayed: the update deleted it, which drains and deletes the node on the controller.
    expect(output).toMatch(/command:local:Command bw\d+-far001-membership deleted/);
    expect(nodeNames(ctl)).toEqual(["cpu001"]);
    expect(labelled(onNear)).toEqual(containers);
    ok(pulumi("preview", "--expect-no-changes"));
  }, 600_000);
});
