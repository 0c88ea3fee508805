import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { freePort, leakedSecrets, REPO, run, RunResult } from "../support/run";
import { ok, pulumiInBackground } from "../support/stack";
import { runProcedure } from "../support/runbook";
import { docker, dockerTry } from "../support/docker";
import { nodeNames } from "../support/slurm";
import { waitFor } from "../support/wait";

// Team state, as the guides tell it (docs/operations/deployment.md#share-state-with-a-team):
// a dev stack deployed by one person on the file backend is moved into the PostgreSQL state
// server that scripts/state-server.sh starts, lives on there (rotate, scale, audit, roll
// back), is read from a second, fresh checkout (an auditor, the pull-request workflow),
// keeps its lock and its secrets encrypted in the table, and survives a backup and restore
// drill of the state database.
const server = `hsstate${process.pid}`;
const cluster = `team${process.pid}`;
const port = freePort();
const work = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-team-"));
const passfile = path.join(work, "state.pgpass");
const serverEnv = { HYPERSCALER_STATE_SERVER: server, HYPERSCALER_STATE_PORT: String(port), HYPERSCALER_STATE_PASSFILE: passfile };
const stateServer = (...args: string[]) => run("bash", [path.join(REPO, "scripts/state-server.sh"), ...args], { env: serverEnv });
const backendUrl = `postgres://pulumi@127.0.0.1:${port}/pulumi_state?sslmode=disable&connect_timeout=10&passfile=${passfile}`;
/** Every output of the test's commands, scanned for secrets at the end. */
const outputs: string[] = [];
const logged = (r: RunResult) => { outputs.push(r.output); return r; };

/** A checkout of the team's repository: its own copy of the project, the shared node_modules. */
const alice = path.join(work, "alice");
const auditor = path.join(work, "auditor");
/** Where alice's shell points: her own file backend until she moves the stack. */
let aliceBackend = `file://${path.join(alice, ".pulumi-state")}`;
const backendOf = (dir: string) => (dir === alice ? aliceBackend : backendUrl);
const inCheckout = (dir: string, cmd: string, args: string[]) =>
  logged(run(cmd, args, { cwd: dir, env: { PULUMI_BACKEND_URL: backendOf(dir), HYPERSCALER_OPERATOR: path.basename(dir) } }));
/** A procedure of the guides, as written, in alice's checkout. */
const guide = (id: string) => { const out = runProcedure(id, { cwd: alice, env: { ...serverEnv, PULUMI_BACKEND_URL: aliceBackend, STACK: "dev" } }); outputs.push(out); return out; };
const pulumi = (dir: string, ...args: string[]) => inCheckout(dir, "pulumi", [...args, "--stack", "dev", "--non-interactive"]);
const script = (dir: string, ...args: string[]) => inCheckout(dir, "bash", [path.join(dir, "scripts/with-env.sh"), ...args]);
const up = (dir: string, reason: string) => ok(script(dir, "bash", "scripts/up.sh", "--stack", "dev", "--reason", reason, "--yes", "--non-interactive"));
const audit = (dir: string) => JSON.parse(ok(script(dir, "tsx", "scripts/audit.ts", "--stack", "dev", "--json")).stdout);
const git = (dir: string, ...args: string[]) => ok(run("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { cwd: dir }));
const ctl = (...cmd: string[]) => docker(["exec", `${cluster}-controller`, ...cmd]);
const psqlState = (sql: string) => docker(["exec", server, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", "pulumi_state", "-c", sql]);
const setCount = (dir: string, n: number) => ok(pulumi(dir, "config", "set", "--path", "hyperscaler:nodeGroups.cpu.count", String(n)));

beforeAll(() => {
  // The team's repository, as alice has it: the project, and the dev stack's config with its own cluster name.
  fs.mkdirSync(path.join(alice, ".pulumi-state"), { recursive: true });
  for (const entry of ["Pulumi.yaml", "package.json", "tsconfig.json", "components", "stacks", "images", "scripts", "policy", "providers"]) {
    fs.cpSync(path.join(REPO, entry), path.join(alice, entry), { recursive: true });
  }
  fs.writeFileSync(path.join(alice, ".gitignore"), "node_modules\n.pulumi-state\n");
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(alice, "node_modules"));
  ok(pulumi(alice, "stack", "init"));
  const dev = parse(fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8")).config;
  delete dev["hyperscaler:monitoring"]; // its fixed ports belong to the real dev stack
  dev["hyperscaler:clusterName"] = cluster;
  dev["hyperscaler:nodeGroups"].cpu.memoryMiB = 256;
  fs.appendFileSync(path.join(alice, "Pulumi.dev.yaml"), stringify({ config: dev }));
  git(alice, "init", "-q"); git(alice, "add", "-A"); git(alice, "commit", "-qm", "the team's repository");
});
afterAll(() => {
  if (fs.existsSync(alice)) pulumi(alice, "destroy", "--yes");
  const left = docker(["ps", "-aq", "--filter", `label=hyperscaler.cluster=${cluster}`]).trim().split("\n").filter(Boolean);
  if (left.length) dockerTry(["rm", "-f", ...left]);
  for (const v of docker(["volume", "ls", "-q", "--filter", `label=hyperscaler.cluster=${cluster}`]).trim().split("\n").filter(Boolean)) dockerTry(["volume", "rm", v]);
  dockerTry(["network", "rm", `${cluster}-net`]);
  stateServer("remove", "--delete-data");
  fs.rmSync(work, { recursive: true, force: true });
});

describe("stacks in PostgreSQL, shared by a team", () => {
  it("moves a stack deployed on one person's file backend into a state server on 127.0.0.1, as the guide says", () => {
    up(alice, "first deploy");
    expect(nodeNames(ctl)).toEqual(["cpu001", "cpu002"]);
    expect(guide("state-server")).toContain(`export PULUMI_BACKEND_URL='${backendUrl}'`);
    guide("state-move");
    aliceBackend = backendUrl;
    expect(fs.statSync(passfile).mode & 0o777).toBe(0o600);
    const published = docker(["port", server]).trim();
    expect(published).toBe(`5432/tcp -> 127.0.0.1:${port}`);
    // Started again: nothing changes, the password stays.
    const password = fs.readFileSync(passfile, "utf8");
    ok(stateServer("start"));
    expect(fs.readFileSync(passfile, "utf8")).toBe(password);
  });

  it("runs the dev stack's life on it: rotate, scale, audit, roll back", () => {
    ok(pulumi(alice, "config", "set", "--path", "hyperscaler:rotation.mungeKeyEpoch", "1"));
    ok(pulumi(alice, "config", "set", "--path", "hyperscaler:rotation.postgresPasswordEpochs.app", "1"));
    up(alice, "rotate the MUNGE key and the app password");
    setCount(alice, 3);
    up(alice, "a third node");
    expect(nodeNames(ctl)).toEqual(["cpu001", "cpu002", "cpu003"]);
    const rollback = ok(script(alice, "tsx", "scripts/rollback.ts", "--stack", "dev", "--to", "previous", "--yes"));
    expect(rollback.stdout).toMatch(/Rollback of dev to version 1 .*alice@.*: rotate the MUNGE key and the app password\)/);
    expect(nodeNames(ctl)).toEqual(["cpu001", "cpu002"]);
    const records = audit(alice);
    // The team backend's history starts with the move (the file backend keeps the earlier one).
    expect(records.map((r: { why: string }) => r.why)).toEqual(["rotate the MUNGE key and the app password", "a third node", "rollback to version 1"]);
    expect(records.every((r: { who: string }) => r.who.startsWith("alice@"))).toBe(true);
    expect(records.map((r: { computeNodes: number }) => r.computeNodes)).toEqual([2, 3, 2]);
    git(alice, "commit", "-qam", "back to two nodes");
  });

  it("shows the same history and audit to a second, fresh checkout, and the running cluster as it is", () => {
    git(work, "clone", "-q", alice, auditor);
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(auditor, "node_modules"));
    const history = (dir: string) => JSON.parse(ok(pulumi(dir, "stack", "history", "--json")).stdout);
    expect(history(auditor)).toEqual(history(alice));
    expect(audit(auditor)).toEqual(audit(alice));
    ok(pulumi(auditor, "preview", "--expect-no-changes"));
  });

  it("previews a branch the way the pull-request workflow does: only the branch's change", () => {
    git(auditor, "checkout", "-q", "-b", "one-more-node");
    setCount(auditor, 3);
    const workflow = fs.readFileSync(path.join(REPO, ".github/workflows/pull-request.yml"), "utf8");
    expect(workflow).toContain("run: bash scripts/with-env.sh bash scripts/pr-preview.sh --stack dev --out preview.md");
    expect(workflow).toContain("PULUMI_BACKEND_URL: ${{ secrets.PULUMI_BACKEND_URL }}");
    const out = path.join(work, "preview.md");
    const r = ok(script(auditor, "bash", "scripts/pr-preview.sh", "--stack", "dev", "--out", out));
    const report = fs.readFileSync(out, "utf8");
    outputs.push(report);
    expect(r.stderr).not.toMatch(/no team backend/);
    expect(report).toMatch(/\*\*2 to create, 1 to update, 0 to replace, 0 to delete\*\*/);
    expect(report).toContain("cpu003 joins SLURM as a dynamic node");
    git(auditor, "checkout", "-q", "--", "Pulumi.dev.yaml");
    git(auditor, "checkout", "-q", "-");
  });

  it("two `pulumi up` from two checkouts at once: the second is refused by the backend's lock, the first completes", async () => {
    setCount(alice, 3);
    const first = pulumiInBackground(["up", "--yes", "--skip-preview", "--stack", "dev"], alice, { PULUMI_BACKEND_URL: backendUrl });
    // The lock is a row the update writes when it starts (keys are the file backend's paths under the database's name).
    await waitFor("the first update to take the lock", () => psqlState("SELECT count(*) FROM pulumi_state WHERE key LIKE '%.pulumi/locks/%'").trim() !== "0", 30);
    const second = pulumi(auditor, "up", "--yes", "--skip-preview");
    expect(second.code).not.toBe(0);
    expect(second.output).toMatch(/the stack is currently locked/);
    const done = await first;
    outputs.push(done.output);
    expect(done.code, done.output).toBe(0);
    expect(nodeNames(ctl)).toEqual(["cpu001", "cpu002", "cpu003"]);
    git(alice, "commit", "-qam", "three nodes");
  });

  it("keeps the stack's secrets encrypted in the table, and the state password out of every output", () => {
    const rows = psqlState("SELECT data->>'data' FROM pulumi_state").trim().split("\n");
    const decoded = rows.map((b64) => Buffer.from(b64, "base64").toString("latin1")).join("\n");
    expect(decoded).toContain(`"hyperscaler:clusterName":"${cluster}"`);
    const key = Buffer.from(docker(["exec", `${cluster}-controller`, "base64", "-w0", "/etc/munge/munge.key"]).trim(), "base64");
    const app = JSON.parse(ok(pulumi(alice, "stack", "output", "postgresLogins", "--json", "--show-secrets")).stdout).app.password;
    const superuser = docker(["exec", `${cluster}-postgres`, "cat", "/run/hyperscaler/superuser-password"]);
    expect(leakedSecrets(rows.join("\n") + decoded, { mungeKey: key, app, superuser })).toEqual([]);
    // The scan does see into the rows: the key's public fingerprint is found there.
    const fingerprint = JSON.parse(ok(pulumi(alice, "stack", "output", "manifest", "--json")).stdout).mungeKey.fingerprint;
    expect(leakedSecrets(decoded, { fingerprint })).toEqual(["fingerprint"]);
    const statePassword = fs.readFileSync(passfile, "utf8").trim().split(":").pop()!;
    expect(leakedSecrets(outputs.join("\n"), { statePassword })).toEqual([]);
  });

  it("backs up the state database, restores it after damage, and the preview then shows no changes, as the guide says", () => {
    const history = audit(auditor);
    guide("state-backup");
    psqlState("DELETE FROM pulumi_state WHERE key LIKE '%.pulumi/stacks/%'");
    expect(pulumi(alice, "preview", "--expect-no-changes").code).not.toBe(0);
    guide("state-restore");
    expect(audit(auditor)).toEqual(history);
    expect(ok(stateServer("status")).stdout).toMatch(/stacks: 1\b/);
  });

  it("refuses a port that is taken, naming the setting, and loses nothing", async () => {
    const taken = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => taken.once("listening", r));
    try {
      const busy = String((taken.address() as net.AddressInfo).port);
      const r = run("bash", [path.join(REPO, "scripts/state-server.sh"), "start"], { env: { ...serverEnv, HYPERSCALER_STATE_PORT: busy } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`is 127.0.0.1:${busy} taken? choose another with HYPERSCALER_STATE_PORT`);
    } finally {
      taken.close();
    }
    ok(stateServer("start"));
    ok(pulumi(alice, "preview", "--expect-no-changes"));
  });
});
