import { z } from "zod";
import { CONFIG_NAMESPACE, StackConfig, stackConfigSchema } from "./schema";

/** Thrown for bad stack config; the message lists every problem by config path. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

/**
 * Turns Pulumi's flat config map (`{"hyperscaler:clusterName": "dev"}`, values as
 * strings, objects as JSON) into the typed stack config, reporting all errors at once.
 */
export function parseStackConfig(all: Record<string, string>, isSecret: (key: string) => boolean = () => false): StackConfig {
  const raw: Record<string, unknown> = {};
  const secret = new Set<string>();
  for (const [key, value] of Object.entries(all)) {
    const [ns, ...rest] = key.split(":");
    if (ns !== CONFIG_NAMESPACE) continue;
    raw[rest.join(":")] = decodeValue(value);
    if (isSecret(key)) secret.add(rest.join(":"));
  }
  const parsed = stackConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, raw, secret));
  return parsed.data;
}

/** Pulumi hands config values over as strings; YAML numbers, booleans and objects arrive JSON-encoded. */
function decodeValue(value: string): unknown {
  if (/^(true|false|null|-?\d+(\.\d+)?|[[{].*)$/s.test(value.trim())) {
    try { return JSON.parse(value); } catch { /* a plain string after all */ }
  }
  return value;
}

/** Config fields whose values are never printed, wherever they are (set with --secret or not). */
const SECRET_FIELDS = new Set(["accessKeyId", "secretAccessKey"]);

/** A given value as an error shows it: "[secret]" for a secret key's, its secret fields masked. */
function shownValue(given: unknown, secretKey: boolean): string {
  if (given === undefined) return "nothing";
  if (secretKey) return "[secret]";
  return JSON.stringify(given, (k, v: unknown) => (SECRET_FIELDS.has(k) ? "[secret]" : v));
}

function describeIssues(error: z.ZodError, raw: Record<string, unknown>, secret: ReadonlySet<string>): string[] {
  return error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const where = issue.path.length ? `${CONFIG_NAMESPACE}:${issue.path.join(".")}` : CONFIG_NAMESPACE;
      return `${where}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}` +
        ` (a typo? known keys: ${knownKeys(issue.path).join(", ")})`;
    }
    const path = `${CONFIG_NAMESPACE}:${issue.path.join(".")}`;
    if (issue.code === "invalid_key") {
      // A bad name as a map key (a node group or partition): zod nests the reason.
      const why = issue.issues.map((i) => i.message).join("; ");
      return `${path}: the name '${String(issue.path[issue.path.length - 1])}' ${why}; rename it in Pulumi.<stack>.yaml`;
    }
    const field = issue.path[issue.path.length - 1];
    const shown = shownValue(valueAt(raw, issue.path), secret.has(String(issue.path[0])) || SECRET_FIELDS.has(String(field)));
    return `${path}: ${issue.message} (given: ${shown}); fix with: ${configSetCommand(issue.path)}`;
  });
}

/** The command that sets one config value: a nested one by `--path` (a.b, a[0]). */
function configSetCommand(path: PropertyKey[]): string {
  if (path.length <= 1) return `pulumi config set ${CONFIG_NAMESPACE}:${String(path[0] ?? "")} <value>`;
  const key = path.map((k, i) => (typeof k === "number" ? `[${k}]` : i ? `.${String(k)}` : String(k))).join("");
  return `pulumi config set${SECRET_FIELDS.has(String(path[path.length - 1])) ? " --secret" : ""} --path '${CONFIG_NAMESPACE}:${key}' <value>`;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), raw);
}

function knownKeys(path: PropertyKey[]): string[] {
  let schema: z.ZodType = stackConfigSchema;
  for (const k of path) {
    const shape = (schema as z.ZodObject).shape as Record<string, z.ZodType> | undefined;
    if (!shape || typeof k !== "string" || !shape[k]) return [];
    schema = unwrap(shape[k]);
  }
  return Object.keys((schema as z.ZodObject).shape ?? {}).sort();
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { unwrap?: () => z.ZodType };
  while (typeof s.unwrap === "function") s = s.unwrap() as typeof s;
  return s;
}
