import { z } from "zod";

/**
 * An account, QOS or user name as SLURM's database keeps it: lowercase (sacctmgr lowers
 * what it is given, so a capital would read back as another name), no spaces.
 */
const slurmName = (what: string) => z.string().regex(/^[a-z_][a-z0-9_.-]{0,63}$/,
  `must be an ${what} name SLURM keeps as given: lowercase letters, digits, '_', '.', '-', no spaces, starting with a letter or '_'`);
const accountName = slurmName("account");
const qosName = slurmName("QOS");

/** A limit: a whole number, 0 or more; left out means none. */
const limit = (what: string) => z.number().int(`must be a whole number of ${what}`).min(0, `must be 0 or more ${what} (leave it out for no limit)`).optional();
// No comma: sacctmgr reads one as a list separator. Kept and compared in lowercase (sacctmgr may lower it).
const text = z.string().regex(/^[A-Za-z0-9 _.:()/-]{1,100}$/, "must be up to 100 letters, digits, spaces or _.:()/- (no comma)");
const positiveInt = (what: string) => z.number().int(`must be a whole number of ${what}`).min(1, `must be at least 1 ${what}`);

/** Limits SLURM applies per QOS (sacctmgr's names in brackets). */
const qosSchema = z.strictObject({
  description: text.optional(),
  /** Added to the priority of a job in this QOS (Priority; PriorityWeightQOS scales it). @default 0 */
  priority: limit("priority points"),
  /** Jobs a user may run at once in this QOS (MaxJobsPerUser). */
  maxJobsPerUser: limit("jobs"),
  /** Jobs a user may have queued or running in this QOS (MaxSubmitJobsPerUser). */
  maxSubmitJobsPerUser: limit("jobs"),
  /** CPUs a user's running jobs may hold at once in this QOS (MaxTRESPerUser=cpu=N). */
  maxCpusPerUser: limit("CPUs"),
  /** Longest job in this QOS, in minutes (MaxWall). */
  maxWallMin: limit("minutes"),
  /** How usage in this QOS counts toward fair share (UsageFactor; 0 = free). @default 1 */
  usageFactor: z.number().min(0, "must be 0 or more").optional(),
});

const accountSchema = z.strictObject({
  /** The parent account: `root` or another account of this config. @default "root" */
  parent: accountName.default("root"),
  description: text.optional(),
  organization: text.optional(),
  /** Fair-share shares against its siblings (Fairshare). @default 1 */
  fairshare: positiveInt("shares").default(1),
  /** QOS its jobs may use (QOS); set here, not inherited from the parent. @default ["normal"] (SLURM's own) */
  qos: z.array(qosName).min(1, "must name at least one QOS (leave it out for SLURM's normal)").optional(),
  /** QOS a job gets when it names none (DefaultQOS); one of `qos`. @default - the first of `qos` */
  defaultQos: qosName.optional(),
  /** Jobs the account's users may run at once, together (GrpJobs). */
  maxRunningJobs: limit("jobs"),
  /** CPUs the account's running jobs may hold at once, together (GrpTRES=cpu=N). */
  maxCpus: limit("CPUs"),
  /** Longest job, in minutes (MaxWall). */
  maxWallMin: limit("minutes"),
});

const userSchema = z.strictObject({
  /** Accounts the user may charge. */
  accounts: z.array(accountName).min(1, "must name at least one account"),
  /** The account a job is charged to when it names none. @default - the first of `accounts` (root: `root`) */
  defaultAccount: accountName.optional(),
  /** SLURM administrative level (AdminLevel). @default "none" */
  adminLevel: z.enum(["none", "operator", "administrator"], "must be none, operator or administrator").default("none"),
});

const months = positiveInt("months").optional();

/**
 * SLURM accounting: slurmdbd with its MariaDB, job records (`sacct`, `sreport`), fair share,
 * and the accounts, users and QOS declared here, applied by `pulumi up` as a diff.
 */
export const accountingSchema = z.strictObject({
  /** QOS by name (SLURM's own `normal` is always there). @default {} */
  qos: z.record(qosName, qosSchema).default({}),
  /** Accounts by name, under `root`. @default {} */
  accounts: z.record(accountName, accountSchema).default({}),
  /** Users by (OS login) name and the accounts they may charge. `root` is always in account `root`. @default {} */
  users: z.record(slurmName("user"), userSchema).default({}),
  /** Fair share: how fast past use is forgotten, and how much each factor weighs in a job's priority. */
  priority: z.strictObject({
    /** Half-life of past usage, in hours (PriorityDecayHalfLife). @default 168 (7 days) */
    decayHalfLifeHours: positiveInt("hours").default(168),
    /** Minutes between recalculations of usage and fair share (PriorityCalcPeriod). @default 5 */
    calcPeriodMin: positiveInt("minutes").default(5),
    /** @default 10000 */
    fairshareWeight: z.number().int().min(0).default(10000),
    /** @default 1000 */
    ageWeight: z.number().int().min(0).default(1000),
    /** @default 1000 */
    qosWeight: z.number().int().min(0).default(1000),
    /** @default 0 */
    jobSizeWeight: z.number().int().min(0).default(0),
  }).prefault({}),
  /** How long the database keeps records (slurmdbd's Purge*After); left out: forever. */
  purge: z.strictObject({
    jobsAfterMonths: months,
    stepsAfterMonths: months,
    eventsAfterMonths: months,
    usageAfterMonths: months,
  }).prefault({}),
  /** slurmdbd's container. */
  slurmdbd: z.strictObject({
    cpus: positiveInt("CPUs").default(1),
    memoryMiB: positiveInt("MiB").min(256, "must be at least 256 MiB").default(512),
  }).prefault({}),
  /** MariaDB's container (the accounting database). */
  mariadb: z.strictObject({
    cpus: positiveInt("CPUs").default(1),
    memoryMiB: positiveInt("MiB").min(512, "must be at least 512 MiB (its buffer pool is 256 MiB)").default(1024),
  }).prefault({}),
  /** Scheduled backups of the accounting database, verified by a test restore. */
  backup: z.strictObject({
    /** @default 60 */
    intervalMin: positiveInt("minutes").default(60),
    /** @default 24 */
    retain: positiveInt("backups").default(24),
    /** Back up (verified) before MariaDB's container is replaced or removed. @default false */
    beforeReplace: z.boolean().default(false),
  }).prefault({}),
}).superRefine((a, ctx) => {
  const accounts = Object.keys(a.accounts);
  const qos = ["normal", ...Object.keys(a.qos)];
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
  if (a.qos.normal) issue(["qos", "normal"], "is SLURM's default QOS, made with the cluster; declare a QOS of your own and give it to accounts (qos, defaultQos)");
  if (a.accounts.root) issue(["accounts", "root"], "is SLURM's own top account; declare yours under it (parent: root is the default)");
  for (const [name, acct] of Object.entries(a.accounts)) {
    if (acct.parent !== "root" && !a.accounts[acct.parent]) {
      issue(["accounts", name, "parent"], `names unknown account '${acct.parent}' (defined: root${accounts.length ? ", " + accounts.join(", ") : ""})`);
    }
    // A parent chain that comes back to the account would never reach root.
    const seen = new Set([name]);
    for (let p = acct.parent; p !== "root" && a.accounts[p]; p = a.accounts[p].parent) {
      if (seen.has(p)) { issue(["accounts", name, "parent"], `makes a loop (${[...seen, p].join(" -> ")}); every account must lead up to root`); break; }
      seen.add(p);
    }
    (acct.qos ?? []).forEach((q, i) => {
      if (!qos.includes(q)) issue(["accounts", name, "qos", i], `names unknown QOS '${q}' (defined: ${qos.join(", ")})`);
    });
    if (acct.defaultQos && !(acct.qos ?? ["normal"]).includes(acct.defaultQos)) {
      issue(["accounts", name, "defaultQos"], `'${acct.defaultQos}' is not among the account's qos (${(acct.qos ?? ["normal"]).join(", ")})`);
    }
  }
  for (const [name, user] of Object.entries(a.users)) {
    user.accounts.forEach((acct, i) => {
      if (!a.accounts[acct]) issue(["users", name, "accounts", i], `names unknown account '${acct}' (defined: ${accounts.join(", ") || "none; add one under accounting.accounts"})`);
    });
    if (user.defaultAccount && !user.accounts.includes(user.defaultAccount)) {
      issue(["users", name, "defaultAccount"], `'${user.defaultAccount}' is not among the user's accounts (${user.accounts.join(", ")})`);
    }
  }
});

export type AccountingConfig = z.infer<typeof accountingSchema>;
