import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { accountSettings, changeCommands, declaredEntities, deleteCommands, qosSettings, READERS, sacctmgrProvider, userSettings, wallMinutes } from "../../components/accounting/sacctmgr";
import { configFrom } from "../support/config";

// What sacctmgr is told to do for each declared change, and how its output reads back.
// The commands run against the real slurmdbd in tests/e2e/accounting.test.ts.
describe("sacctmgr as a provider", () => {
  it("serializes as Pulumi ships a dynamic provider to its own process (built-ins required, nothing captured from Node's internals)", async () => {
    const { text } = await pulumi.runtime.serializeFunction(() => sacctmgrProvider);
    expect(text).toContain('require("node:child_process")');
    expect(text).toContain("sacctmgr");
  });

  it("reads durations as sacctmgr shows them in minutes", () => {
    expect(["", "01:00:00", "1-00:00:00", "30:00", "2-03:04:00"].map(wallMinutes)).toEqual(["", "60", "1440", "30", String(2 * 1440 + 3 * 60 + 4)]);
  });

  it("reads a QOS, an account and a user back as the settings it declares (what a refresh compares)", () => {
    const qos = READERS.qos.parse(["short|short|10|1||cpu=4|01:00:00|1.000000\n"]);
    expect(qos).toEqual(qosSettings("short", { priority: 10, maxJobsPerUser: 1, maxCpusPerUser: 4, maxWallMin: 60 }));
    const account = READERS.account.parse(["physics|physics|root\n", "physics||root|3|short,normal|normal||||\nphysics|alice||1|normal,short|normal||||\n"]);
    expect(account).toEqual(accountSettings("physics", { parent: "root", fairshare: 3, qos: ["normal", "short"] }));
    expect(READERS.user.parse(["alice|physics|None\n", "physics\nchemistry\n"])).toEqual(userSettings("alice", { accounts: ["physics", "chemistry"], adminLevel: "none" }));
    expect(READERS.qos.parse([""])).toBeUndefined();
  });

  it("adds what is missing with only the settings given, and changes only what differs (-1 clears a limit)", () => {
    const want = qosSettings("short", { maxJobsPerUser: 2 });
    expect(changeCommands("qos", "short", undefined, want)).toEqual([["add", "qos", "short", "Description=short", "Priority=0", "MaxJobsPerUser=2", "UsageFactor=1"]]);
    expect(changeCommands("qos", "short", { ...want, MaxJobsPerUser: "5", MaxWall: "60" }, want))
      .toEqual([["modify", "qos", "where", "name=short", "set", "MaxJobsPerUser=2", "MaxWall=-1"]]);
    expect(changeCommands("qos", "short", want, want)).toEqual([]);
  });

  it("moves a user between accounts: new associations first, then the default, then the old ones go", () => {
    const was = userSettings("alice", { accounts: ["chemistry"], adminLevel: "none" });
    const want = userSettings("alice", { accounts: ["physics"], adminLevel: "operator" });
    expect(changeCommands("user", "alice", was, want)).toEqual([
      ["add", "user", "alice", "account=physics"],
      ["modify", "user", "where", "name=alice", "set", "defaultaccount=physics", "adminlevel=Operator"],
      ["delete", "user", "alice", "account=chemistry"],
    ]);
    expect(changeCommands("user", "bob", undefined, userSettings("bob", { accounts: ["physics"], adminLevel: "none" })))
      .toEqual([["add", "user", "bob", "account=physics", "defaultaccount=physics"]]);
  });

  it("never takes root out of its own account, nor its administrator level", () => {
    const root = userSettings("root", { accounts: ["physics"], adminLevel: "none" });
    expect(root).toEqual({ Accounts: "physics,root", DefaultAccount: "root", AdminLevel: "Administrator" });
    expect(deleteCommands("user", "root", root)).toEqual([
      ["modify", "user", "where", "name=root", "set", "defaultaccount=root"],
      ["delete", "user", "root", "account=physics"],
    ]);
    expect(deleteCommands("account", "physics", {})).toEqual([["delete", "account", "physics"]]);
  });

  it("orders entities so a parent account and a QOS come before what uses them", () => {
    const a = configFrom({ clusterName: "dev", nodeGroups: { cpu: { count: 1 } }, accounting: {
      qos: { short: {} }, accounts: { alpha: { parent: "zeta", qos: ["short"] }, zeta: {} }, users: { alice: { accounts: ["alpha"] } } } }).accounting!;
    expect(declaredEntities(a).map((e) => `${e.kind}/${e.name} after ${e.after.join(",")}`)).toEqual([
      "qos/short after ", "account/zeta after ", "account/alpha after account/zeta,qos/short", "user/alice after account/alpha",
    ]);
  });
});
