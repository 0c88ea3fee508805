import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO, run } from "../support/run";

// The docker plugin built from providers/docker maps Terraform's names to Pulumi's by its
// own table; @pulumi/docker's generated types say what the SDK sends. A property the SDK
// sends that the plugin does not know would be dropped without a word, so every one of
// them, nested ones included, must be among the plugin's inputs.
const SDK = path.join(REPO, "node_modules/@pulumi/docker");
const version = JSON.parse(fs.readFileSync(path.join(SDK, "package.json"), "utf8")).pulumi.version;
const pluginDir = path.join(process.env.PULUMI_HOME!, `plugins/resource-docker-v${version}`);
const origin = fs.existsSync(path.join(pluginDir, ".hyperscaler-origin")) ? fs.readFileSync(path.join(pluginDir, ".hyperscaler-origin"), "utf8").trim() : "";
const inputTypes = fs.readFileSync(path.join(SDK, "types/input.d.ts"), "utf8");

type Tree = { [name: string]: Tree | true };

/** An interface's properties, each with the tree of the input type it refers to, if any. */
function sdkTree(text: string, iface: string): Tree {
  const body = text.match(new RegExp(`export interface ${iface} \\{([\\s\\S]*?)\\n\\}`))?.[1];
  if (body === undefined) throw new Error(`no interface ${iface} in @pulumi/docker`);
  const tree: Tree = {};
  for (const [, name, type] of body.matchAll(/^ {4}(\w+)\??: (.*);$/gm)) {
    const nested = type.match(/inputs\.(\w+)/)?.[1];
    tree[name] = nested ? sdkTree(inputTypes, nested) : true;
  }
  return tree;
}

/** Paths in `want` that `have` lacks. */
function missing(want: Tree, have: Tree | true, prefix = ""): string[] {
  return Object.entries(want).flatMap(([k, v]) => {
    const there = have === true ? undefined : have[k];
    if (there === undefined) return [prefix + k];
    return v === true ? [] : missing(v, there, `${prefix}${k}.`);
  });
}

const RESOURCES = { "pulumi:providers:docker": ["provider", "ProviderArgs"], "docker:index/container:Container": ["container", "ContainerArgs"],
  "docker:index/network:Network": ["network", "NetworkArgs"], "docker:index/volume:Volume": ["volume", "VolumeArgs"],
  "docker:index/remoteImage:RemoteImage": ["remoteImage", "RemoteImageArgs"] } as const;

// Where the Terraform provider this plugin serves has moved on from the one @pulumi/docker
// 5.0.0 was generated from: a cluster volume's ID is now set by Docker alone (Computed),
// and the project makes no Swarm cluster volumes.
const READ_ONLY_NOW: Record<string, string[]> = { "docker:index/volume:Volume": ["cluster.id"] };

describe.skipIf(origin === "download")("the docker plugin built here takes every property @pulumi/docker sends", () => {
  const dump = run(path.join(pluginDir, "pulumi-resource-docker"), ["--input-properties"]);
  const plugin = JSON.parse(dump.stdout || "{}") as Record<string, Tree>;

  it.each(Object.entries(RESOURCES))("%s", (token, [file, iface]) => {
    expect(dump.code, dump.output).toBe(0);
    const sdk = sdkTree(fs.readFileSync(path.join(SDK, `${file}.d.ts`), "utf8"), iface);
    expect(Object.keys(sdk).length).toBeGreaterThan(3);
    expect(missing(sdk, plugin[token] ?? {})).toEqual(READ_ONLY_NOW[token] ?? []);
  });
});
