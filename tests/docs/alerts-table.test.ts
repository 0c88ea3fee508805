import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { alertRules } from "../../components/render";
import { configFrom, devValues } from "../support/config";
import { REPO } from "../support/run";

// The README's alert table restates the rules Prometheus runs: it must name each one, and
// no other. Every alert the code can render: a stack with PostgreSQL, accounting, GPUs, a backup repository and the log store.
describe("the README's alert table", () => {
  it("names every alert the rules have, and only those", () => {
    const thresholds = configFrom({ ...devValues, monitoring: {} }).monitoring!.thresholds;
    const rules = alertRules({ thresholds, postgres: { databases: ["app"], backupIntervalMin: 60, pitr: { walMaxDelaySec: 60, backupIntervalMin: 1440 } }, accounting: { database: "slurm_acct_db", backupIntervalMin: 60 }, certificates: true, backupShip: { intervalMin: 15, parts: ["slurmctld-state", "mariadb-backups"] }, logs: true });
    const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("| alert | default | from |")).split("\n\n")[0];
    const documented = [...table.matchAll(/^\| ([A-Z]\w+) \|/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect([...documented].sort()).toEqual([...new Set(rules.map((r) => r.alert))].sort());
  });
});
