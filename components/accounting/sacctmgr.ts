import * as pulumi from "@pulumi/pulumi";
import type { AccountingConfig } from "../config";
import { dockerSync } from "../docker/cli";

/** What the cluster's accounting database holds, one kind at a time. */
export type EntityKind = "qos" | "account" | "user";

/**
 * One QOS, account or user as sacctmgr sets and shows it: field -> value, every field
 * always present, "" for none. What `pulumi up` applies, and what a refresh reads back.
 */
export type Settings = Record<string, string>;

/** Free text as it is compared: sacctmgr may lower its case (versions differ), so both sides are lowered. */
const text = (t: string) => t.toLowerCase();
const cpus = (n?: number) => (n === undefined ? "" : `cpu=${n}`);
const num = (n?: number) => (n === undefined ? "" : String(n));

/** A QOS's settings; SLURM's own defaults where the config leaves one out. */
export function qosSettings(name: string, q: AccountingConfig["qos"][string]): Settings {
  return {
    Description: text(q.description ?? name), Priority: String(q.priority ?? 0),
    MaxJobsPerUser: num(q.maxJobsPerUser), MaxSubmitJobsPerUser: num(q.maxSubmitJobsPerUser),
    MaxTRESPerUser: cpus(q.maxCpusPerUser), MaxWall: num(q.maxWallMin), UsageFactor: String(q.usageFactor ?? 1),
  };
}

/** An account's settings (the account and its association). */
export function accountSettings(name: string, a: AccountingConfig["accounts"][string]): Settings {
  const qos = a.qos ?? ["normal"];
  return {
    Parent: a.parent, Description: text(a.description ?? name), Organization: text(a.organization ?? a.parent),
    Fairshare: String(a.fairshare), QOS: [...qos].sort().join(","), DefaultQOS: a.defaultQos ?? qos[0],
    GrpJobs: num(a.maxRunningJobs), GrpTRES: cpus(a.maxCpus), MaxWall: num(a.maxWallMin),
  };
}

/** The account SLURM puts root in, with the cluster: never added or removed here. */
const ROOT_ACCOUNT = "root";

/** A user's settings. root keeps its own `root` account and stays an administrator. */
export function userSettings(name: string, u: AccountingConfig["users"][string]): Settings {
  const accounts = name === "root" ? [...new Set([ROOT_ACCOUNT, ...u.accounts])] : u.accounts;
  return {
    // root's own jobs (the cluster's validation steps) stay in root's account unless told.
    Accounts: [...accounts].sort().join(","), DefaultAccount: u.defaultAccount ?? (name === "root" ? ROOT_ACCOUNT : u.accounts[0]),
    AdminLevel: name === "root" ? "Administrator" : { none: "None", operator: "Operator", administrator: "Administrator" }[u.adminLevel],
  };
}

/** Every entity the config declares, parents before children (accounts by depth, then name). */
export function declaredEntities(a: AccountingConfig): { kind: EntityKind; name: string; settings: Settings; after: string[] }[] {
  const depth = (n: string): number => (a.accounts[n].parent === ROOT_ACCOUNT ? 0 : 1 + depth(a.accounts[n].parent));
  const accounts = Object.entries(a.accounts).sort(([x], [y]) => depth(x) - depth(y) || (x < y ? -1 : 1));
  return [
    ...Object.entries(a.qos).sort().map(([n, q]) => ({ kind: "qos" as const, name: n, settings: qosSettings(n, q), after: [] })),
    ...accounts.map(([n, acct]) => ({ kind: "account" as const, name: n, settings: accountSettings(n, acct),
      after: [...(acct.parent !== ROOT_ACCOUNT ? [`account/${acct.parent}`] : []), ...(acct.qos ?? []).filter((q) => a.qos[q]).map((q) => `qos/${q}`)] })),
    ...Object.entries(a.users).sort().map(([n, u]) => ({ kind: "user" as const, name: n, settings: userSettings(n, u),
      after: u.accounts.map((acct) => `account/${acct}`) })),
  ];
}

/** A duration as sacctmgr shows it (`[D-]HH:MM:SS`, or `MM:SS`) in minutes. */
export function wallMinutes(shown: string): string {
  if (!shown) return "";
  const [days, clock] = shown.includes("-") ? shown.split("-") : ["0", shown];
  const parts = clock.split(":").map(Number);
  while (parts.length < 3) parts.unshift(0);
  return String(Number(days) * 1440 + parts[0] * 60 + parts[1] + Math.round(parts[2] / 60));
}

/** `sacctmgr -n -P` output as rows of fields. */
const rows = (out: string) => out.split("\n").filter((l) => l.length > 0).map((l) => l.split("|"));
/** A number as sacctmgr prints it (`1.000000`) as the config writes it (`1`). */
const number = (s: string) => (s === "" ? "" : String(Number(s)));

/** The queries that read an entity back: sacctmgr argv each, and how their output reads as Settings (undefined: not there). */
export const READERS: Record<EntityKind, { queries: (name: string) => string[][]; parse: (outputs: string[]) => Settings | undefined }> = {
  qos: {
    queries: (name) => [["show", "qos", `name=${name}`, "format=Name,Description,Priority,MaxJobsPU,MaxSubmitPU,MaxTRESPU,MaxWall,UsageFactor"]],
    parse: ([out]) => {
      const r = rows(out)[0];
      if (!r) return undefined;
      return { Description: text(r[1]), Priority: r[2], MaxJobsPerUser: r[3], MaxSubmitJobsPerUser: r[4], MaxTRESPerUser: r[5], MaxWall: wallMinutes(r[6]), UsageFactor: number(r[7]) };
    },
  },
  account: {
    queries: (name) => [
      ["show", "account", name, "format=Account,Description,Organization"],
      ["show", "assoc", `account=${name}`, "format=Account,User,ParentName,Share,QOS,DefaultQOS,GrpJobs,GrpTRES,MaxWall"],
    ],
    parse: ([account, assocs]) => {
      const a = rows(account)[0];
      const assoc = rows(assocs).find((r) => r[1] === "");
      if (!a || !assoc) return undefined;
      return {
        Parent: assoc[2], Description: text(a[1]), Organization: text(a[2]), Fairshare: assoc[3], QOS: assoc[4].split(",").filter(Boolean).sort().join(","),
        DefaultQOS: assoc[5], GrpJobs: assoc[6], GrpTRES: assoc[7], MaxWall: wallMinutes(assoc[8]),
      };
    },
  },
  user: {
    queries: (name) => [
      ["show", "user", name, "format=User,DefaultAccount,AdminLevel"],
      ["show", "assoc", `user=${name}`, "format=Account"],
    ],
    parse: ([user, assocs]) => {
      const u = rows(user)[0];
      if (!u) return undefined;
      return { Accounts: [...new Set(rows(assocs).map((r) => r[0]))].sort().join(","), DefaultAccount: u[1], AdminLevel: u[2] };
    },
  },
};

/** What sacctmgr does, as argv lists, to take an entity from `was` (undefined: not there) to `want`. */
export function changeCommands(kind: EntityKind, name: string, was: Settings | undefined, want: Settings): string[][] {
  // sacctmgr clears a limit set to -1.
  const set = (keys: string[]) => keys.map((k) => `${k}=${want[k] === "" ? "-1" : want[k]}`);
  const changed = Object.keys(want).filter((k) => was?.[k] !== want[k]);
  if (kind === "user") {
    const accounts = want.Accounts.split(",");
    const had = was ? was.Accounts.split(",").filter(Boolean) : [];
    const added = accounts.filter((a) => !had.includes(a));
    const removed = had.filter((a) => !accounts.includes(a));
    return [
      ...(added.length ? [["add", "user", name, `account=${added.join(",")}`, ...(was ? [] : [`defaultaccount=${want.DefaultAccount}`])]] : []),
      ...(was && (changed.includes("DefaultAccount") || changed.includes("AdminLevel"))
        ? [["modify", "user", "where", `name=${name}`, "set", `defaultaccount=${want.DefaultAccount}`, `adminlevel=${want.AdminLevel}`]] : []),
      ...(!was && want.AdminLevel !== "None" ? [["modify", "user", "where", `name=${name}`, "set", `adminlevel=${want.AdminLevel}`]] : []),
      ...(removed.length ? [["delete", "user", name, `account=${removed.join(",")}`]] : []),
    ];
  }
  if (!was) {
    const given = Object.keys(want).filter((k) => want[k] !== "");
    return [["add", kind, name, ...given.map((k) => `${k}=${want[k]}`)]];
  }
  return changed.length ? [["modify", kind, "where", `name=${name}`, "set", ...set(changed)]] : [];
}

/** What removes an entity; root keeps its own account. */
export function deleteCommands(kind: EntityKind, name: string, was: Settings): string[][] {
  if (kind !== "user" || name !== "root") return [["delete", kind, name]];
  const others = was.Accounts.split(",").filter((a) => a && a !== ROOT_ACCOUNT);
  return [
    ["modify", "user", "where", "name=root", "set", `defaultaccount=${ROOT_ACCOUNT}`],
    ...(others.length ? [["delete", "user", "root", `account=${others.join(",")}`]] : []),
  ];
}

/** Inputs of one entity resource. */
export interface EntityInputs {
  /** Container sacctmgr runs in (the controller), and its Docker engine. */
  readonly container: string;
  readonly dockerHost: string;
  /** The cluster's name: sacctmgr waits until slurmctld has registered it with slurmdbd. */
  readonly cluster: string;
  readonly kind: EntityKind;
  readonly name: string;
  readonly settings: Settings;
}

/** Runs sacctmgr in the controller; throws with what it said. */
function sacctmgr(i: EntityInputs, argv: string[]): string {
  const r = dockerSync(["exec", i.container, "timeout", "60", "sacctmgr", "-i", "-n", "-P", ...argv], i.dockerHost || undefined);
  if (r.status !== 0) {
    throw new Error(`sacctmgr ${argv.join(" ")} failed (exit ${r.status}) in ${i.container}: ${(r.stderr || r.stdout || String(r.error)).trim().slice(0, 800)}`);
  }
  return r.stdout;
}

/** Waits (up to 3 min) until slurmdbd answers and knows the cluster: slurmctld registers it at its first start. */
function waitForDatabase(i: EntityInputs): void {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      if (sacctmgr(i, ["show", "cluster", "format=Cluster"]).split("\n").includes(i.cluster)) return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`slurmdbd does not know cluster ${i.cluster} after 3 minutes: is slurmctld running with accounting?`);
    // A synchronous pause: the provider's steps run one command after another.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
}

function readEntity(i: EntityInputs): Settings | undefined {
  const reader = READERS[i.kind];
  return reader.parse(reader.queries(i.name).map((q) => sacctmgr(i, q)));
}

function apply(i: EntityInputs): EntityInputs {
  waitForDatabase(i);
  for (const argv of changeCommands(i.kind, i.name, readEntity(i), i.settings)) sacctmgr(i, argv);
  return i;
}

/**
 * sacctmgr as a Pulumi provider: create, update and delete apply the declared settings;
 * read (refresh) shows what the database holds, so a change made by hand with sacctmgr
 * is drift in the next preview, and `pulumi up` puts the declared settings back.
 */
export const sacctmgrProvider: pulumi.dynamic.ResourceProvider<EntityInputs, EntityInputs> = {
  async create(inputs) {
    return { id: `${inputs.kind}/${inputs.name}`, outs: apply(inputs) };
  },
  async diff(_id, olds, news) {
    const changes = JSON.stringify(olds.settings) !== JSON.stringify(news.settings) || olds.container !== news.container;
    return { changes, replaces: olds.name !== news.name || olds.kind !== news.kind ? ["name"] : [] };
  },
  async update(_id, _olds, news) {
    return { outs: apply(news) };
  },
  async read(id, props) {
    if (!props) throw new Error(`${id}: nothing to read it by`);
    const settings = readEntity(props);
    // Gone from the database: the refresh drops it from state, and `up` adds it again.
    return settings ? { id, props: { ...props, settings } } : { id: "", props };
  },
  async delete(_id, props) {
    const was = readEntity(props);
    if (was) for (const argv of deleteCommands(props.kind, props.name, was)) sacctmgr(props, argv);
  },
};

/** One QOS, account or user in the cluster's accounting database, kept as declared. */
export class AccountingEntity extends pulumi.dynamic.Resource {
  declare readonly settings: pulumi.Output<Settings>;
  constructor(name: string, args: Omit<EntityInputs, "container"> & { container: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(sacctmgrProvider, name, { ...args }, opts, "accounting", { qos: "Qos", account: "Account", user: "User" }[args.kind]);
  }
}
