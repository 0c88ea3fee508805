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
  readonly changes: readonly { readonly op: string; readonly name: string }[];
}

const FILES = ["slurm.conf", "cgroup.conf", "gres.conf"];

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
  const keyRestarts: string[] = [];
  const prefix = `${cluster}-`;
  for (const [name, op] of ops) {
    if (op === "same" || !name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const file = FILES.find((f) => rest.endsWith(`-${f}`));
    const host = (suffix: string) => rest.slice(0, -suffix.length);
    if (/^accounting-(qos|account|user)-/.test(rest) && op !== "same") {
      const [, kind, entity] = /^accounting-(qos|account|user)-(.+)$/.exec(rest)!;
      const what = kind === "qos" ? "QOS" : kind;
      actions.push(`sacctmgr: ${{ create: "add", update: "change", replace: "re-create", delete: "remove" }[op] ?? op} ${what} ${entity}`);
      if (op === "delete") risks.push(`removes ${what} ${entity} from the accounting database${kind === "account" ? " (refused while it has running jobs)" : ""}`);
    } else if (rest.endsWith("-membership")) {
      const node = host("-membership");
      if (op === "delete") { actions.push(`drain ${node}, wait for its jobs, delete it from SLURM, then remove its container`); risks.push(`removes compute node ${node}`); touched.add(node); }
      if (op === "create") actions.push(`${node} joins SLURM as a dynamic node (no daemon restarts) and runs a job step`);
    } else if (file && op === "update" && host(`-${file}`) === "controller") {
      actions.push(`scontrol reconfigure with the new ${file} (slurmctld pushes it to every node)`);
    } else if (rest === "slurmctld-restart" && op === "delete") {
      // Stacks made before SLURM 24.11 hold it; its delete runs nothing.
      actions.push("drop the slurmctld restart SLURM 22.05 needed after a reconfigure (nothing runs)");
    } else if (rest.endsWith("-munge-key") && op === "update") {
      keyRestarts.push(host("-munge-key").replace(/^accounting-/, ""));
    } else if (rest === "munge-key-bytes" && op !== "create") {
      risks.push("rotates the MUNGE key (secret)");
    } else if (rest === "slurm-image-build" && op !== "create" && op !== "delete") {
      // A rebuilt image is a new image resource (its triggers changed): a replace.
      actions.push("rebuild the SLURM image: every node's container is replaced (the jobs running there are requeued)");
      risks.push("replaces every SLURM container");
    } else if (/^workstation-[a-z][a-z0-9-]*$/.test(rest) && (op === "create" || op === "delete")) {
      const ws = rest.slice("workstation-".length);
      if (op === "create") actions.push(`start using workstation ${ws}: the cluster's network there and a copy of the SLURM image, then its nodes`);
      else { actions.push(`stop using workstation ${ws} once its nodes are drained and removed`); risks.push(`leaves workstation ${ws}`); }
    } else if (/^slurm-image-copy-[a-z][a-z0-9-]*$/.test(rest) && op === "replace") {
      actions.push(`copy the rebuilt SLURM image to workstation ${rest.slice("slurm-image-copy-".length)}`);
    } else if (/^(controller|[a-z][a-z0-9-]*\d{3})$/.test(rest) && op !== "create") {
      const node = rest;
      if (op === "replace") {
        actions.push(node === "controller" ? "restart slurmctld in a new container (its state stays on the volume)" : `replace ${node}'s container (the jobs running there are requeued)`);
        risks.push(`restarts ${node}`);
        if (node !== "controller") touched.add(node);
      } else if (op === "update") actions.push(`change ${node}'s CPU/memory limits in place`);
      else if (op === "delete") actions.push(`remove ${node}'s container`);
    } else if (/-(data|backups|state)$/.test(rest) && (op === "delete" || op === "replace")) {
      risks.push(`${op === "delete" ? "deletes" : "replaces"} volume ${name}: its data is lost unless retained`);
    } else if (rest === "postgres" && op === "replace") {
      actions.push("PostgreSQL restarts in a new container (data on its volume)");
      risks.push("restarts PostgreSQL");
    } else if (/^postgres-.+-password$/.test(rest) && op === "replace") {
      const role = rest.slice("postgres-".length, -"-password".length);
      actions.push(`set the new password of PostgreSQL role ${role} in the running server`);
      risks.push(`rotates the password of PostgreSQL role ${role} (secret)`);
    } else if (/^postgres-.+-password-file$/.test(rest) && op !== "delete") {
      actions.push(`write the password into application ${rest.slice("postgres-".length, -"-password-file".length)}'s container (after the server has it)`);
    } else if (rest === "postgres-backup-before-replace" && op === "delete") {
      actions.push("take a verified backup of every database before PostgreSQL is replaced");
    } else if (/^monitoring-(prometheus|alerts|alertmanager)\.yml$/.test(rest) && op === "update") {
      actions.push(`check and reload ${rest.slice("monitoring-".length)} (no restart)`);
    } else if (rest === "monitoring-node.json" && op === "update") {
      actions.push("Prometheus scrape targets follow the node set (no reload)");
    } else if (rest === "rotation-pause" && op === "update") {
      actions.push("pause scheduling while the key is swapped (UP partitions set DOWN: new jobs wait in the queue, running jobs carry on)");
    } else if (rest === "rotation-resume" && op === "update") {
      actions.push("resume scheduling on the partitions it paused");
    } else if (rest === "accounting-password" && op === "replace") {
      actions.push("set the new accounting database password in MariaDB, then restart slurmdbd with it (slurmctld queues job records meanwhile)");
      risks.push("rotates the accounting database password (secret)");
    } else if (rest === "accounting-mariadb" && op === "replace") {
      actions.push("MariaDB (accounting) restarts in a new container (data on its volume; slurmctld queues job records meanwhile)");
      risks.push("restarts the accounting database");
    } else if (rest === "accounting-mariadb-backup-before-replace" && op === "delete") {
      actions.push("take a verified backup of the accounting database before MariaDB is replaced");
    } else if (rest === "accounting-slurmdbd" && op === "replace") {
      actions.push("slurmdbd restarts in a new container (slurmctld queues job records meanwhile)");
    } else if (rest === "validation" && op !== "delete") {
      actions.push("run a job step across every compute node to prove the result");
    }
  }
  if (keyRestarts.length > 0) {
    // Between the pause and the resume, when the rotation has them.
    const resume = actions.findIndex((a) => a.startsWith("resume scheduling"));
    actions.splice(resume < 0 ? actions.length : resume, 0, `install the new MUNGE key and restart munged on ${compressHostlist(keyRestarts)} (running jobs carry on)`);
  }
  return {
    stack, counts, actions: [...new Set(actions)], risks: [...new Set(risks)], touchedNodes: [...touched].sort(),
    changes: ops.filter(([, op]) => op !== "same").map(([name, op]) => ({ op, name })),
  };
}

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
