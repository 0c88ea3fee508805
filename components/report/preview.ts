import { CONTROLLER_HOST, DBD_HOST } from "../config/spec";
import { resourcePart } from "../config/names";
import { compressHostlist, expandHostlist } from "../render/hostlist";

/** One step of `pulumi preview --json` (the fields read here; inputs are never read). */
export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
}

/** `pulumi preview --json` output. */
export interface PreviewJson {
  readonly steps?: readonly PreviewStep[];
  readonly changeSummary?: Readonly<Record<string, number>>;
  readonly config?: Readonly<Record<string, string>>;
  readonly diagnostics?: readonly { readonly message: string; readonly severity: string; readonly urn?: string }[];
}

/** A CrossGuard policy the preview broke (from the engine's event log). */
export interface PolicyViolation {
  readonly policy: string;
  readonly pack: string;
  /** `mandatory` fails the preview; `advisory` only warns. */
  readonly level: string;
  readonly urn?: string;
  readonly message: string;
}

/** A job running on the cluster: `squeue -h -o '%i|%u|%j|%N'`. */
export interface RunningJob { readonly id: string; readonly user: string; readonly name: string; readonly nodes: readonly string[] }

export interface PreviewSummary {
  readonly stack: string;
  readonly counts: Readonly<Record<"create" | "update" | "replace" | "delete" | "same", number>>;
  /** What SLURM (and the services beside it) must do, in order of appearance. */
  readonly actions: readonly string[];
  /** Data, node removals, secret rotations, restarts: what a reviewer must look at. */
  readonly risks: readonly string[];
  /** Nodes whose running jobs the change touches (drained, or their container replaced). */
  readonly touchedNodes: readonly string[];
  /** What stands whatever the change: where the backups are. */
  readonly notes: readonly string[];
  readonly changes: readonly { readonly op: string; readonly name: string }[];
}

/** Reads a preview: what each change means for SLURM, and what is risky. Never looks at inputs. */
export function summarizePreview(stack: string, preview: PreviewJson): PreviewSummary {
  const cluster = preview.config?.["hyperscaler:clusterName"] ?? stack;
  // By URN: a component and its container may share a name. A replacement shows as several steps.
  const byUrn = new Map<string, string>();
  for (const s of preview.steps ?? []) {
    const op = /replace/.test(s.op) ? "replace" : s.op;
    if (!byUrn.has(s.urn) || op === "replace") byUrn.set(s.urn, op);
  }
  const counts = { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
  for (const op of byUrn.values()) if (op in counts) counts[op as keyof typeof counts]++;
  // The engine's own summary, where given, also counts the unchanged resources it did not list.
  for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = preview.changeSummary?.[k] ?? counts[k];
  const ops = [...byUrn].map(([urn, op]) => [urn.slice(urn.lastIndexOf("::") + 2), op] as const);
  const actions: string[] = [];
  const risks: string[] = [];
  const touched = new Set<string>();
  // Key deliveries that run (a compute node's membership delivers its key), and the nodes
  // whose containers are re-created (their new container gets the key too).
  const keyDeliveries: string[] = [];
  const recreated = new Set<string>();
  let keyRotates = false;
  const certificateInstalls: string[] = [];
  for (const [urn, op] of byUrn) {
    const r = op === "same" ? undefined : resourcePart(cluster, urn);
    if (!r) continue;
    const subject = r.subject ?? "";
    const verb = { create: "add", update: "change", replace: "re-create", delete: "remove" }[op] ?? op;
    switch (r.part) {
      case "accounting-qos": case "accounting-account": case "accounting-user": {
        const kind = r.part.slice("accounting-".length);
        const what = kind === "qos" ? "QOS" : kind;
        actions.push(`sacctmgr: ${verb} ${what} ${subject}`);
        if (op === "delete") risks.push(`removes ${what} ${subject} from the accounting database${kind === "account" ? " (refused while it has running jobs)" : ""}`);
        break;
      }
      case "membership":
        if (op === "delete") { actions.push(`drain ${subject}, wait for its jobs, delete it from SLURM, then remove its container`); risks.push(`removes compute node ${subject}`); touched.add(subject); }
        if (op === "create") actions.push(`${subject} joins SLURM as a dynamic node (no daemon restarts) and runs a job step`);
        if (op === "update") keyDeliveries.push(subject);
        break;
      case "slurm-file":
        if (op === "update") actions.push(`scontrol reconfigure with the new ${subject} (slurmctld pushes it to every node)`);
        break;
      // Stacks made before SLURM 24.11 hold it; its delete runs nothing.
      case "slurmctld-restart":
        if (op === "delete") actions.push("drop the slurmctld restart SLURM 22.05 needed after a reconfigure (nothing runs)");
        break;
      case "munge-key":
        if (op === "update" || op === "replace") keyDeliveries.push(subject);
        break;
      case "tls-ca":
        if (op === "replace") {
          actions.push("issue a new CA and re-issue every certificate with it (both CAs are trusted during this update)");
          risks.push("rotates the stack's certificate authority: clients that pinned the old CA need caCertificate again");
        }
        break;
      case "tls-exporter": case "tls-prometheus": case "tls-postgres": case "tls-mariadb":
        if (op === "replace") actions.push(`renew ${CERTIFICATE_OF[r.part]} certificate`);
        break;
      case "tls-install":
        if (op === "update") certificateInstalls.push(subject === "monitoring-prometheus" ? "prometheus" : subject);
        break;
      case "monitoring-web-password":
        if (op === "replace") risks.push("rotates the password of Prometheus's web login (secret): give people and Grafana the new one");
        break;
      case "munge-key-bytes":
        if (op !== "create") { risks.push("rotates the MUNGE key (secret)"); keyRotates = true; }
        break;
      case "slurm-image-build":
        // A rebuilt image is a new image resource (its triggers changed): a replace.
        if (op !== "create" && op !== "delete") {
          actions.push("rebuild the SLURM image: every node's container is replaced (the jobs running there are requeued)");
          risks.push("replaces every SLURM container");
        }
        break;
      case "workstation":
        if (op === "create") actions.push(`start using workstation ${subject}: the cluster's network there and a copy of the SLURM image, then its nodes`);
        if (op === "delete") { actions.push(`stop using workstation ${subject} once its nodes are drained and removed`); risks.push(`leaves workstation ${subject}`); }
        break;
      case "slurm-image-copy":
        if (op === "replace") actions.push(`copy the rebuilt SLURM image to workstation ${subject}`);
        break;
      case "node":
        if (subject === DBD_HOST) {
          if (op === "replace") actions.push("slurmdbd restarts in a new container (slurmctld queues job records meanwhile)");
        } else if (op === "replace") {
          recreated.add(subject);
          actions.push(subject === CONTROLLER_HOST ? "restart slurmctld in a new container (its state stays on the volume)" : `replace ${subject}'s container (the jobs running there are requeued)`);
          risks.push(`restarts ${subject}`);
          if (subject !== CONTROLLER_HOST) touched.add(subject);
        } else if (op === "update") actions.push(`change ${subject}'s CPU/memory limits in place`);
        else if (op === "delete") actions.push(`remove ${subject}'s container`);
        break;
      case "volume":
        if (subject === "claim") {
          const where = r.rest === "claim" ? "" : ` on workstation ${r.rest.slice(0, -"-claim".length)}`;
          if (op === "create") actions.push(`claim the cluster's name for this stack${where}`);
          if (op === "delete") risks.push(`releases the cluster's name${where}: another stack may take it`);
        } else if (op === "delete" || op === "replace") risks.push(`${op === "delete" ? "deletes" : "replaces"} volume ${cluster}-${r.rest}: its data is lost unless retained`);
        break;
      case "postgres":
        if (op === "replace") { actions.push("PostgreSQL restarts in a new container (data on its volume)"); risks.push("restarts PostgreSQL"); }
        break;
      case "postgres-password":
        if (op === "replace") {
          actions.push(`set the new password of PostgreSQL role ${subject} in the running server`);
          risks.push(`rotates the password of PostgreSQL role ${subject} (secret)`);
        }
        break;
      case "postgres-password-file":
        if (op !== "delete") actions.push(`write the password into application ${subject}'s container (after the server has it)`);
        break;
      case "postgres-pitr":
        if (op === "update") actions.push("PostgreSQL's continuous archiving: install the pgBackRest config, check WAL reaches the repository");
        break;
      case "postgres-pitr-key":
        // Key 0 comes with the server; a later one is a rotation (rotation.pitrKeyEpoch).
        if (op === "create" && subject !== "0") {
          actions.push(`start backup repository key${subject} (new key) with a full backup; key${Number(subject) - 1} stays readable for restores until the next rotation`);
          risks.push("rotates the key of PostgreSQL's backup repository (secret)");
        }
        if (op === "delete") risks.push(`deletes backup repository key${subject} and its backups (two rotations old): restores reach back to the previous key's oldest backup`);
        break;
      case "backup-repository":
        // The container (the component of the same name is there with a bucket too).
        if (!urn.includes("docker:index/container:Container::")) break;
        if (op === "create") actions.push("start the backup repository (SFTP) on another workstation: PostgreSQL's WAL and backups go there from now on, starting with a full backup");
        if (op === "replace") actions.push("restart the backup repository in a new container (its volume stays; WAL waits in PostgreSQL meanwhile)");
        if (op === "delete") risks.push("stops the backup repository: PostgreSQL's backups go back beside its data");
        break;
      case "backup-repository-shipper-s3-credentials":
        if (op === "create") actions.push("send the backups to the S3 bucket: PostgreSQL's WAL and backups go there from now on, starting with a full backup, and the file backups' copies");
        if (op === "update") actions.push("give pgBackRest and the shipper the new S3 key pair");
        if (op === "delete") risks.push("stops sending backups to the S3 bucket: the bucket keeps what it has");
        break;
      case "postgres-backup-before-replace":
        if (op === "delete") actions.push("take a verified backup of every database before PostgreSQL is replaced");
        break;
      case "monitoring-prometheus.yml": case "monitoring-alerts.yml": case "monitoring-alertmanager.yml":
        if (op === "update") actions.push(`check and reload ${r.part.slice("monitoring-".length)} (no restart)`);
        break;
      case "monitoring-logs":
        if (op === "create") actions.push("start the log store (VictoriaLogs): the containers re-created here with Docker's splunk log driver send their output there from now on");
        if (op === "replace") actions.push("restart the log store in a new container (its lines stay on its volume; each engine holds new lines meanwhile)");
        if (op === "delete") risks.push(`stops the log store: its lines stay in volume ${cluster}-logs-data until it is deleted; the containers re-created here go back to Docker's json-file alone`);
        break;
      case "monitoring-dashboards":
        if (!urn.includes("docker:index/container:Container::")) break;
        if (op === "create") actions.push("start the dashboard server (Perses) and provision the cluster's dashboards");
        if (op === "replace") actions.push("restart the dashboard server in a new container and provision its dashboards again (it keeps no state of its own)");
        if (op === "delete") actions.push("stop the dashboard server (its dashboards come from the stack: nothing is lost)");
        break;
      case "monitoring-dashboard":
        if (op === "create" || op === "update") actions.push(`check dashboard ${subject} against Perses's schemas and provision it`);
        if (op === "delete") actions.push(`take dashboard ${subject} off the dashboard server`);
        break;
      case "monitoring-node.json":
        if (op === "update") actions.push("Prometheus scrape targets follow the node set (no reload)");
        break;
      case "rotation-pause":
        if (op === "update") actions.push("pause scheduling while the key is swapped (UP partitions set DOWN: new jobs wait in the queue, running jobs carry on)");
        break;
      case "rotation-resume":
        if (op === "update") actions.push("resume scheduling on the partitions it paused");
        break;
      case "accounting-password":
        if (op === "replace") {
          actions.push("set the new accounting database password in MariaDB, then restart slurmdbd with it (slurmctld queues job records meanwhile)");
          risks.push("rotates the accounting database password (secret)");
        }
        break;
      case "accounting-mariadb":
        if (op === "replace") {
          actions.push("MariaDB (accounting) restarts in a new container (data on its volume; slurmctld queues job records meanwhile)");
          risks.push("restarts the accounting database");
        }
        break;
      case "accounting-mariadb-backup-before-replace":
        if (op === "delete") actions.push("take a verified backup of the accounting database before MariaDB is replaced");
        break;
      case "validation":
        if (op !== "delete") actions.push("run a job step across every compute node to prove the result");
        break;
    }
  }
  if (keyRotates && keyDeliveries.length > 0) {
    // Between the pause and the resume, when the rotation has them.
    const resume = actions.findIndex((a) => a.startsWith("resume scheduling"));
    actions.splice(resume < 0 ? actions.length : resume, 0, `install the new MUNGE key and restart munged on ${compressHostlist(keyDeliveries)} (running jobs carry on)`);
  }
  // Without a rotation, a delivery to a running container finds the key it has.
  const again = keyRotates ? [] : keyDeliveries.filter((h) => !recreated.has(h));
  if (again.length > 0) actions.push(`deliver the MUNGE key again on ${compressHostlist(again)} (the key they have: nothing restarts)`);
  if (certificateInstalls.length > 0) {
    actions.push(`install the renewed certificates on ${compressHostlist(certificateInstalls)} (read again per connection, or reloaded by the databases: nothing restarts)`);
  }
  // Backups that share the data's disk: said plainly (hyperscaler:backupRepository sends them elsewhere).
  const notes = preview.config?.["hyperscaler:postgres"] === undefined || preview.config?.["hyperscaler:backupRepository"] !== undefined ? [] :
    [`PostgreSQL's backups (the pgBackRest repository and the dumps) are in volume ${cluster}-postgres-backups, on the same machine as its data: a lost workstation takes both (hyperscaler:backupRepository puts them on another workstation: backup-recovery.md)`];
  return {
    stack, counts, actions: [...new Set(actions)], risks: [...new Set(risks)], touchedNodes: [...touched].sort(), notes,
    changes: ops.filter(([, op]) => op !== "same").map(([name, op]) => ({ op, name })),
  };
}

/** Whose certificate a certificate resource is. */
const CERTIFICATE_OF: Record<string, string> = {
  "tls-exporter": "the node exporters'", "tls-prometheus": "Prometheus's", "tls-postgres": "PostgreSQL's", "tls-mariadb": "MariaDB's",
};

const SYMBOL: Record<string, string> = { create: "+", update: "~", replace: "+-", delete: "-" };

/** The Markdown a reviewer reads (a CI comment): no input value, so no secret, ever appears. */
export function renderPreviewReport(s: PreviewSummary, jobs: readonly RunningJob[] | undefined, errors: readonly string[],
  violations: readonly PolicyViolation[] = []): string {
  const c = s.counts;
  const lines = [
    `### hyperscaler preview: \`${s.stack}\``,
    "",
    `**${c.create} to create, ${c.update} to update, ${c.replace} to replace, ${c.delete} to delete** (${c.same} unchanged)`,
    "",
  ];
  const list = (title: string, items: readonly string[]) => { if (items.length) lines.push(`**${title}**`, ...items.map((i) => `- ${i}`), ""); };
  list("What SLURM must do", s.actions.length ? s.actions : ["nothing"]);
  list("Risky", s.risks.map((r) => `⚠️ ${r}`));
  if (s.touchedNodes.length > 0) {
    const hit = jobs?.filter((j) => j.nodes.some((n) => s.touchedNodes.includes(n)));
    list("Running jobs touched", jobs === undefined ? [`cluster not reachable: check the jobs on ${compressHostlist(s.touchedNodes)} yourself`]
      : hit!.length === 0 ? [`none on ${compressHostlist(s.touchedNodes)}`]
        : hit!.map((j) => `job ${j.id} (${j.user}, ${j.name}) on ${j.nodes.join(",")}`));
  }
  list("Note", s.notes);
  list("Policy violations", violations.map((v) =>
    `${v.level === "mandatory" ? "⛔" : "⚠️"} [${v.level}] ${v.pack}/${v.policy}${v.urn ? ` on \`${v.urn.slice(v.urn.lastIndexOf("::") + 2)}\`` : ""}: ${v.message.split("\n")[0]}`));
  list("Preview errors", errors);
  if (s.changes.length > 0) {
    lines.push(`<details><summary>${s.changes.length} resource changes</summary>`, "", "| op | resource |", "| --- | --- |",
      ...s.changes.map((ch) => `| ${SYMBOL[ch.op] ?? ch.op} ${ch.op} | \`${ch.name}\` |`), "", "</details>", "");
  }
  return lines.join("\n");
}

/** Jobs from `squeue -h -o '%i|%u|%j|%N'` (nodes in SLURM's hostlist form). */
export function parseSqueue(text: string): RunningJob[] {
  return text.trim().split("\n").filter(Boolean).map((line) => {
    const [id, user, name, nodes] = line.split("|");
    return { id, user, name, nodes: nodes ? expandHostlist(nodes) : [] };
  });
}
