import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO, run } from "../support/run";

// The published dev passphrase reaches the stack `dev` only (scripts/bin/pulumi, first on
// PATH after `source scripts/env.sh`): any other stack is refused before the CLI writes
// its encryption salt, so prod's secrets can never be bound to a passphrase everyone knows.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-passphrase-"));
const state = path.join(dir, "state");
fs.mkdirSync(state);
fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
fs.copyFileSync(path.join(REPO, "Pulumi.prod.yaml"), path.join(dir, "Pulumi.prod.yaml"));
const prodFile = () => fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
const committedProd = prodFile();

/** A shell that did `source scripts/env.sh`, with only the passphrase settings given. */
function shell(command: string, passphrase: Record<string, string | undefined>) {
  return run("bash", ["-c", `source "${REPO}/scripts/env.sh" && cd "${dir}" && ${command}`], {
    env: { PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: undefined, PULUMI_CONFIG_PASSPHRASE_FILE: undefined, ...passphrase },
  });
}
const stacks = () => fs.readdirSync(state, { recursive: true }).map(String).filter((f) => f.endsWith(".json") && f.includes("stacks"));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the dev passphrase never reaches another stack", () => {
  it("refuses prod when the dev passphrase is given, writing nothing", () => {
    const r = shell("pulumi stack select prod --create --non-interactive", { PULUMI_CONFIG_PASSPHRASE: "hyperscaler-dev-only" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/refused, nothing written: the published dev passphrase is for the stack 'dev' only, not 'prod'/);
    expect(r.stderr).toMatch(/export PULUMI_CONFIG_PASSPHRASE_FILE=.*prod\.passphrase/);
    expect(prodFile()).toBe(committedProd);
    expect(stacks()).toEqual([]);
  });

  it("refuses prod when a passphrase file holds the dev passphrase", () => {
    const file = path.join(dir, "dev.passphrase");
    fs.writeFileSync(file, "hyperscaler-dev-only");
    const r = shell("pulumi stack init prod --non-interactive", { PULUMI_CONFIG_PASSPHRASE_FILE: file });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/refused, nothing written/);
    expect(prodFile()).toBe(committedProd);
    expect(stacks()).toEqual([]);
  });

  it("gives prod no passphrase when none is set: the CLI stops before writing", () => {
    for (const command of ["pulumi stack select prod --create --non-interactive", "pulumi stack init prod --non-interactive"]) {
      const r = shell(command, {});
      expect(r.code, r.output).not.toBe(0);
      expect(r.stderr).toMatch(/passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/);
    }
    expect(prodFile()).toBe(committedProd);
    expect(stacks()).toEqual([]);
  });

  it("gives dev the dev passphrase when none is set", () => {
    const r = shell("pulumi stack init dev --non-interactive && pulumi config set --secret probe s3cret --stack dev && pulumi config get probe --stack dev", {});
    expect(r.code, r.output).toBe(0);
    expect(r.stdout.trim().split("\n").pop()).toBe("s3cret");
    // The selected stack (no --stack) is dev too.
    expect(shell("pulumi config get probe", {}).stdout.trim()).toBe("s3cret");
  });

  it("lets prod use a passphrase of its own", () => {
    const r = shell("pulumi stack init prod --non-interactive && pulumi config get hyperscaler:clusterName --stack prod", { PULUMI_CONFIG_PASSPHRASE: "prod-own-passphrase" });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/^prod$/m);
    expect(prodFile()).toMatch(/^encryptionsalt: /m);
    // With prod selected and the dev passphrase given, even a command without --stack is refused.
    const selected = shell("pulumi config get hyperscaler:clusterName", { PULUMI_CONFIG_PASSPHRASE: "hyperscaler-dev-only" });
    expect(selected.code).not.toBe(0);
    expect(selected.stderr).toMatch(/not 'prod'/);
  });
});
