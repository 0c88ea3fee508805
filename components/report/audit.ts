/** One entry of `pulumi stack history --json` (the fields read here). */
export interface HistoryEntry {
  readonly version: number;
  readonly kind: string;
  readonly startTime: string;
  readonly message?: string;
  readonly result: string;
  readonly resourceChanges?: Readonly<Record<string, number>>;
  readonly environment?: Readonly<Record<string, string>>;
  /** Config of the update: secret values arrive encrypted (`secret: true`) and are never shown. */
  readonly config?: Readonly<Record<string, { readonly value?: string; readonly secret?: boolean }>>;
}

/** What an auditor reads about one update. */
export interface AuditRecord {
  version: number;
  time: string;
  kind: string;
  result: string;
  /** From the update message (scripts/up.sh records it); else the git author, marked as such. */
  who: string;
  why: string;
  resourceChanges: Record<string, number>;
  /** Config keys changed since the previous update: `key: old -> new` (secrets: "[secret changed]"). */
  configChanges: string[];
  computeNodes?: number;
  mungeKeyEpoch: number;
  postgresPasswordEpochs: Record<string, number>;
  /** From the update's checkpoint, when the backend keeps one (the file backend does). */
  mungeKeyFingerprint?: string;
}

/** Reads the message scripts/up.sh writes: `who=<operator>@<host>; reason=<text>`. */
function parseMessage(message: string | undefined): { who?: string; why: string } {
  const m = /^who=([^;]*); reason=(.*)$/s.exec(message ?? "");
  return m ? { who: m[1], why: m[2] } : { why: message ?? "" };
}

const json = (v: string | undefined) => { try { return v === undefined ? undefined : JSON.parse(v); } catch { return v; } };

/**
 * Audit records, oldest first, with config changes against the previous update. The file
 * backend records every version as 0: then updates are numbered 1, 2, ... in start order.
 * `fingerprints` are keyed by start time (ISO).
 */
export function auditRecords(history: readonly HistoryEntry[], fingerprints: ReadonlyMap<string, string> = new Map()): AuditRecord[] {
  const numbered = history.every((h) => !h.version);
  const sorted = [...history].sort((a, b) => (numbered ? a.startTime.localeCompare(b.startTime) : a.version - b.version))
    .map((h, i) => (numbered ? { ...h, version: i + 1 } : h));
  let previous: HistoryEntry["config"] = {};
  return sorted.map((h) => {
    const config = h.config ?? {};
    const shown = (c?: { value?: string }) => (c === undefined ? "(unset)" : c.value ?? "");
    const configChanges = [...new Set([...Object.keys(previous ?? {}), ...Object.keys(config)])].sort().flatMap((k) => {
      const a = previous?.[k];
      const b = config[k];
      if (a?.value === b?.value && a?.secret === b?.secret) return [];
      if (a?.secret || b?.secret) return [`${k}: [secret changed]`];
      return [`${k}: ${shown(a)} -> ${shown(b)}`];
    });
    if (h.kind === "update" || h.kind === "destroy") previous = config;
    const { who, why } = parseMessage(h.message);
    const groups = json(config["hyperscaler:nodeGroups"]?.value) as Record<string, { count?: number }> | undefined;
    const rotation = json(config["hyperscaler:rotation"]?.value) as { mungeKeyEpoch?: number; postgresPasswordEpochs?: Record<string, number> } | undefined;
    const author = h.environment?.["git.author"];
    return {
      version: h.version, time: h.startTime, kind: h.kind, result: h.result,
      who: who ?? `not recorded${author ? ` (git author: ${author})` : ""}`, why,
      resourceChanges: { ...h.resourceChanges }, configChanges,
      ...(groups && typeof groups === "object" ? { computeNodes: Object.values(groups).reduce((n, g) => n + (g.count ?? 0), 0) } : {}),
      // Unset rotation config means epoch 0 (the schema's default).
      mungeKeyEpoch: rotation?.mungeKeyEpoch ?? 0, postgresPasswordEpochs: rotation?.postgresPasswordEpochs ?? {},
      ...(fingerprints.has(h.startTime) ? { mungeKeyFingerprint: fingerprints.get(h.startTime) } : {}),
    };
  });
}

/** The audit report as Markdown: one table row per update, then the config changes. */
export function renderAuditMarkdown(stack: string, records: readonly AuditRecord[]): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = [
    `# Audit: stack \`${stack}\``, "",
    "| version | time | who | why | kind | result | changes | nodes | MUNGE key (epoch, fingerprint) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...records.map((r) => `| ${r.version} | ${r.time} | ${cell(r.who)} | ${cell(r.why)} | ${r.kind} | ${r.result} | ` +
      `${Object.entries(r.resourceChanges).filter(([k]) => k !== "same").map(([k, v]) => `${k} ${v}`).join(", ") || "none"} | ` +
      `${r.computeNodes ?? ""} | ${r.mungeKeyEpoch ?? ""}${r.mungeKeyFingerprint ? `, ${r.mungeKeyFingerprint}` : ""} |`),
    "",
  ];
  for (const r of records.filter((x) => x.configChanges.length > 0)) {
    lines.push(`**Version ${r.version}: config changes**`, ...r.configChanges.map((c) => `- \`${c}\``), "");
  }
  return lines.join("\n");
}
