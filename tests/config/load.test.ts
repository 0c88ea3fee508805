import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseStackConfig } from "../../components/config";
import { REPO } from "../support/run";

function problems(all: Record<string, string>): string[] {
  try {
    parseStackConfig(all);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("parseStackConfig", () => {
  it("applies schema defaults and decodes Pulumi's string values", () => {
    const c = parseStackConfig({ "hyperscaler:clusterName": "dev", "hyperscaler:protect": "true", "other:key": "x" });
    expect(c).toEqual({ clusterName: "dev", baseImage: "hyperscaler/debian-base:bookworm", protect: true, requireRealPassphrase: false });
  });

  it("names an unknown key and lists the known ones (a typo in Pulumi.<stack>.yaml)", () => {
    const p = problems({ "hyperscaler:clusterName": "dev", "hyperscaler:clusterNmae": "x" });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/unknown key 'clusterNmae'/);
    expect(p[0]).toMatch(/known keys: baseImage, clusterName, protect/);
  });

  it("reports every problem at once, each with its path, the value given and the fix", () => {
    const p = problems({ "hyperscaler:clusterName": "Dev_1", "hyperscaler:protect": "yes" });
    expect(p).toHaveLength(2);
    expect(p.join("\n")).toMatch(/hyperscaler:clusterName: must be a lowercase DNS label .*given: "Dev_1".*pulumi config set hyperscaler:clusterName/);
    expect(p.join("\n")).toMatch(/hyperscaler:protect: .*given: "yes"/);
  });

  it("requires the cluster name", () => {
    expect(problems({})[0]).toMatch(/^hyperscaler:clusterName: .*given: nothing/);
  });

  it("accepts the committed dev and prod stack files", () => {
    for (const stack of ["dev", "prod"]) {
      const yaml = fs.readFileSync(path.join(REPO, `Pulumi.${stack}.yaml`), "utf8");
      const all = Object.fromEntries([...yaml.matchAll(/^\s+(hyperscaler:\w+):\s*(.+)$/gm)].map((m) => [m[1], m[2].trim()]));
      expect(parseStackConfig(all).clusterName).toBe(stack);
    }
  });

  it("uses the base image name that scripts/setup.sh builds", () => {
    const paths = fs.readFileSync(path.join(REPO, "scripts/lib/paths.sh"), "utf8");
    const built = /HYPERSCALER_BASE_IMAGE="([^"]+)"/.exec(paths)?.[1];
    expect(parseStackConfig({ "hyperscaler:clusterName": "dev" }).baseImage).toBe(built);
  });
});
