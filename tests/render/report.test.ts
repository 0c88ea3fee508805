import { describe, expect, it } from "vitest";
import { goldenResources } from "../support/golden";
import { auditRecords, HistoryEntry, parseSqueue, renderAuditMarkdown, renderPreviewReport, summarizePreview } from "../../components/report";

// Steps name the dev stack's real resources (its golden URN list; where a component and its
// container share a name, the container); a name not there is a command.
const dev = new Map(goldenResources("dev").filter((r) => !r.type.startsWith("hyperscaler:")).map((r) => [r.name, r.urn]));
const urn = (name: string) => dev.get(name) ?? `urn:pulumi:dev::hyperscaler::hyperscaler:cluster:HyperscalerCluster$command:local:Command::${name}`;
const step = (op: string, name: string) => ({ op, urn: urn(name) });

describe("preview report", () => {
  const preview = {
    config: { "hyperscaler:clusterName": "dev" },
    steps: [
      step("same", "dev-network"),
      step("delete", "dev-cpu002-membership"), step("delete", "dev-cpu002"),
      step("update", "dev-controller-munge-key"), step("update", "dev-cpu001-membership"), step("replace", "dev-munge-key-bytes"),
      step("update", "dev-controller-slurm.conf"), step("delete-replaced", "dev-postgres-data"), step("create-replacement", "dev-postgres-data"),
      // Inputs are never read: a secret there cannot reach the report.
      { op: "update", urn: urn("dev-postgres-app-login"), newState: { inputs: { stdin: "hunter2" } } },
      step("update", "dev-postgres-web-password-file"),
    ],
  };
  const summary = summarizePreview("dev", preview);

  it("counts each resource once, a replacement as a replace", () => {
    expect(summary.counts).toEqual({ create: 0, update: 5, replace: 2, delete: 2, same: 1 });
  });

  it("says what SLURM must do and calls out the risky operations", () => {
    expect(summary.actions).toEqual([
      "drain cpu002, wait for its jobs, delete it from SLURM, then remove its container",
      "remove cpu002's container",
      "scontrol reconfigure with the new slurm.conf (slurmctld pushes it to every node)",
      "write the password into application web's container (after the server has it)",
      "install the new MUNGE key and restart munged on cpu001,controller (running jobs carry on)",
    ]);
    expect(summary.risks).toEqual(["removes compute node cpu002", "rotates the MUNGE key (secret)",
      "replaces volume dev-postgres-data: its data is lost unless retained"]);
    expect(summary.touchedNodes).toEqual(["cpu002"]);
    expect(summary.notes).toEqual([]);
  });

  it("says plainly that PostgreSQL's backups share its machine", () => {
    const withPostgres = summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev", "hyperscaler:postgres": "{}" }, steps: [] });
    expect(renderPreviewReport(withPostgres, [], [])).toContain(
      "**Note**\n- PostgreSQL's backups (the pgBackRest repository and the dumps) are in volume dev-postgres-backups, on the same machine as its data");
    // With a backup repository on another workstation: no such note, and its start, restart and removal are read.
    const below = "urn:pulumi:dev::hyperscaler::hyperscaler:cluster:HyperscalerCluster$hyperscaler:repository:BackupRepository";
    const component = (op: string) => ({ op, urn: "urn:pulumi:dev::hyperscaler::hyperscaler:cluster:HyperscalerCluster$hyperscaler:repository:BackupRepository::dev-backup-repository" });
    const container = (op: string) => ({ op, urn: `${below}$docker:index/container:Container::dev-backup-repository` });
    const command = (op: string, name: string) => ({ op, urn: `${below}$command:local:Command::${name}` });
    const elsewhere = summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev", "hyperscaler:postgres": "{}", "hyperscaler:backupRepository": "{}" },
      steps: [component("create"), container("create")] });
    expect(elsewhere.notes).toEqual([]);
    expect(elsewhere.actions).toEqual([expect.stringMatching(/^start the backup repository \(SFTP\) on another workstation/)]);
    expect(summarizePreview("dev", { config: {}, steps: [component("delete"), container("delete")] }).risks)
      .toEqual(["stops the backup repository: PostgreSQL's backups go back beside its data"]);
    // An S3 bucket: no repository container; the key pair's delivery says where the backups go.
    const bucket = summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev", "hyperscaler:postgres": "{}", "hyperscaler:backupRepository": "{}" },
      steps: [component("create"), command("create", "dev-backup-repository-shipper-s3-credentials")] });
    expect(bucket.actions).toEqual([expect.stringMatching(/^send the backups to the S3 bucket: PostgreSQL's WAL and backups go there from now on, starting with a full backup/)]);
    expect(summarizePreview("dev", { config: {}, steps: [command("update", "dev-backup-repository-shipper-s3-credentials")] }).actions)
      .toEqual(["give pgBackRest and the shipper the new S3 key pair"]);
    // Its parts (a key's delivery, the shipper) are not the repository's container.
    expect(summarizePreview("dev", { config: {}, steps: [step("replace", "dev-backup-repository-shipper-key")] }).actions).toEqual([]);
  });

  it("says the log store starts, and what its removal keeps", () => {
    const store = (op: string) => ({ op, urn: "urn:pulumi:dev::hyperscaler::hyperscaler:cluster:HyperscalerCluster$hyperscaler:monitoring:Monitoring$docker:index/container:Container::dev-monitoring-logs" });
    expect(summarizePreview("dev", { config: {}, steps: [store("create"), step("replace", "dev-cpu001")] }).actions).toEqual([
      expect.stringMatching(/^start the log store \(VictoriaLogs\): the containers re-created here with Docker's splunk log driver send their output there/),
      "replace cpu001's container (the jobs running there are requeued)",
    ]);
    expect(summarizePreview("dev", { config: {}, steps: [store("delete")] }).risks).toEqual([expect.stringMatching(/^stops the log store: its lines stay in volume dev-logs-data/)]);
  });

  it("says the dashboard server starts, which dashboard is checked and provisioned, and that removing it loses nothing", () => {
    const server = (op: string) => ({ op, urn: "urn:pulumi:dev::hyperscaler::hyperscaler:cluster:HyperscalerCluster$hyperscaler:monitoring:Monitoring$docker:index/container:Container::dev-monitoring-dashboards" });
    expect(summarizePreview("dev", { config: {}, steps: [server("create"), step("update", "dev-monitoring-dashboard-nodes")] }).actions).toEqual([
      "start the dashboard server (Perses) and provision the cluster's dashboards",
      "check dashboard nodes against Perses's schemas and provision it",
    ]);
    const removed = summarizePreview("dev", { config: {}, steps: [server("delete"), step("delete", "dev-monitoring-dashboard-gpus")] });
    expect(removed.actions).toEqual([expect.stringMatching(/^stop the dashboard server .*nothing is lost/), "take dashboard gpus off the dashboard server"]);
    expect(removed.risks).toEqual([]);
  });

  it("says a stack made before SLURM 24.11 drops its slurmctld restart, and that nothing runs", () => {
    const upgraded = summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev" }, steps: [step("delete", "dev-slurmctld-restart")] });
    expect(upgraded.actions).toEqual(["drop the slurmctld restart SLURM 22.05 needed after a reconfigure (nothing runs)"]);
    expect(upgraded.risks).toEqual([]);
  });

  it("reads a renewal (new certificates installed in place) and a CA rotation, and restarts nothing", () => {
    const renewal = summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev" }, steps: [
      step("replace", "dev-tls-exporter"), step("replace", "dev-tls-prometheus"), step("replace", "dev-tls-postgres"), step("replace", "dev-tls-mariadb"),
      step("update", "dev-controller-tls"), step("update", "dev-cpu001-tls"), step("update", "dev-cpu002-tls"), step("update", "dev-monitoring-prometheus-tls"),
      step("update", "dev-postgres-tls"), step("update", "dev-accounting-mariadb-tls")] });
    expect(renewal.actions).toEqual(["renew the node exporters' certificate", "renew Prometheus's certificate", "renew PostgreSQL's certificate",
      "renew MariaDB's certificate",
      "install the renewed certificates on cpu[001-002],controller,mariadb,postgres,prometheus (read again per connection, or reloaded by the databases: nothing restarts)"]);
    expect(renewal.risks).toEqual([]);
    expect(renewal.touchedNodes).toEqual([]);
    const rotation = summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev" }, steps: [step("replace", "dev-tls-ca")] });
    expect(rotation.risks).toEqual(["rotates the stack's certificate authority: clients that pinned the old CA need caCertificate again"]);
  });

  it("reads a backup repository key rotation: the new key's repository, the one two rotations back deleted; the first key is no rotation", () => {
    const steps = (...s: [string, string][]) => summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev" }, steps: s.map(([op, name]) => step(op, name)) });
    const rotation = steps(["create", "dev-postgres-pitr-key-2"], ["delete", "dev-postgres-pitr-key-0"], ["update", "dev-postgres-pitr"]);
    expect(rotation.actions).toEqual([
      "start backup repository key2 (new key) with a full backup; key1 stays readable for restores until the next rotation",
      "PostgreSQL's continuous archiving: install the pgBackRest config, check WAL reaches the repository",
    ]);
    expect(rotation.risks).toEqual(["rotates the key of PostgreSQL's backup repository (secret)",
      "deletes backup repository key0 and its backups (two rotations old): restores reach back to the previous key's oldest backup"]);
    expect(steps(["create", "dev-postgres-pitr-key-0"], ["create", "dev-postgres-pitr"]).risks).toEqual([]);
  });

  it("reads a rebuilt image (a replaced image resource, as the docker provider shows it) as every container replaced", () => {
    const rebuilt = summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev" }, steps: [
      step("create-replacement", "dev-slurm-image-build"), step("replace", "dev-slurm-image-build"), step("delete-replaced", "dev-slurm-image-build"),
      step("replace", "dev-cpu001"), step("replace", "dev-controller"),
      // The new containers' key deliveries: no rotation, nothing to say of them.
      step("update", "dev-cpu001-membership"), step("replace", "dev-controller-munge-key")] });
    expect(rebuilt.actions[0]).toBe("rebuild the SLURM image: every node's container is replaced (the jobs running there are requeued)");
    expect(rebuilt.actions.filter((a) => /MUNGE/.test(a))).toEqual([]);
    expect(rebuilt.risks).toContain("replaces every SLURM container");
    expect(rebuilt.touchedNodes).toEqual(["cpu001"]);
  });

  it("reads a key delivered again to running containers, without a rotation, as restarting nothing", () => {
    // A stack's first update after its compute nodes' key delivery became their membership.
    const again = summarizePreview("dev", { config: { "hyperscaler:clusterName": "dev" }, steps: [
      step("update", "dev-cpu001-membership"), step("update", "dev-cpu002-membership"), step("update", "dev-controller-munge-key")] });
    expect(again.actions).toEqual(["deliver the MUNGE key again on cpu[001-002],controller (the key they have: nothing restarts)"]);
    expect(again.risks).toEqual([]);
    expect(again.touchedNodes).toEqual([]);
  });

  it("lists the running jobs on touched nodes, and says so when the cluster cannot be asked", () => {
    const jobs = parseSqueue("41|alice|train|cpu[001-002]\n42|bob|eval|cpu001\n");
    expect(jobs[0].nodes).toEqual(["cpu001", "cpu002"]);
    const md = renderPreviewReport(summary, jobs, []);
    expect(md).toContain("job 41 (alice, train) on cpu001,cpu002");
    expect(md).not.toContain("job 42");
    expect(md).not.toContain("hunter2");
    expect(renderPreviewReport(summary, undefined, [])).toContain("cluster not reachable: check the jobs on cpu002 yourself");
    expect(renderPreviewReport(summary, [], ["error: update failed"])).toContain("**Preview errors**\n- error: update failed");
    const violation = { policy: "no-privileged-containers", pack: "hyperscaler", level: "mandatory", urn: urn("dev-x"), message: "container 'dev-x' is privileged\nmore" };
    expect(renderPreviewReport(summary, [], [], [violation])).toContain(
      "**Policy violations**\n- ⛔ [mandatory] hyperscaler/no-privileged-containers on `dev-x`: container 'dev-x' is privileged\n");
  });
});

describe("audit report", () => {
  const config = (count: number, epoch: number, secret = "v1") => ({
    "hyperscaler:nodeGroups": { value: JSON.stringify({ cpu: { count } }) },
    "hyperscaler:rotation": { value: JSON.stringify({ mungeKeyEpoch: epoch }) },
    "hyperscaler:webhookToken": { value: secret, secret: true },
  });
  const history: HistoryEntry[] = [
    { version: 2, kind: "update", startTime: "t2", result: "succeeded", message: "who=alice@ws1; reason=rotate", config: config(3, 1, "v2"), resourceChanges: { update: 4 } },
    { version: 1, kind: "update", startTime: "t1", result: "succeeded", message: "Merge pull request #7", environment: { "git.author": "Bob" }, config: config(3, 0), resourceChanges: { create: 30 } },
  ];
  const records = auditRecords(history, new Map([["t2", "sha256:00112233aabbccdd"]]));

  it("orders by version, reads who and why, and marks an unrecorded operator", () => {
    expect(records.map((r) => [r.version, r.who, r.why])).toEqual([[1, "not recorded (git author: Bob)", "Merge pull request #7"], [2, "alice@ws1", "rotate"]]);
    expect(records.map((r) => [r.computeNodes, r.mungeKeyEpoch, r.mungeKeyFingerprint])).toEqual([[3, 0, undefined], [3, 1, "sha256:00112233aabbccdd"]]);
  });

  it("numbers the updates in start order when the backend records no versions (the file backend)", () => {
    const unversioned = history.map((h) => ({ ...h, version: 0 }));
    expect(auditRecords(unversioned).map((r) => [r.version, r.why])).toEqual([[1, "Merge pull request #7"], [2, "rotate"]]);
  });

  it("lists changed config keys and never a secret value", () => {
    expect(records[1].configChanges).toEqual(['hyperscaler:rotation: {"mungeKeyEpoch":0} -> {"mungeKeyEpoch":1}', "hyperscaler:webhookToken: [secret changed]"]);
    const md = renderAuditMarkdown("dev", records);
    expect(md).toContain("| 2 | t2 | alice@ws1 | rotate | update | succeeded | update 4 | 3 | 1, sha256:00112233aabbccdd |");
    expect(md).not.toMatch(/v1|v2/);
  });
});
