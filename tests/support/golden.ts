import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "./run";

/** The stacks whose URN contract tests/components keeps (tests/components/golden/<stack>.urns.txt). */
export const GOLDEN_STACKS = fs.readdirSync(path.join(REPO, "tests/components/golden"))
  .filter((f) => f.endsWith(".urns.txt")).map((f) => f.slice(0, -".urns.txt".length)).sort();

/** One resource of a golden list: its type, name and full URN (the type chain rebuilt from its parents). */
export interface GoldenResource { type: string; name: string; urn: string }

/** A golden list's resources as `pulumi preview --json` names them, in stack STACK of project hyperscaler. */
export function goldenResources(list: string, stack = list): GoldenResource[] {
  const rows = fs.readFileSync(path.join(REPO, "tests/components/golden", `${list}.urns.txt`), "utf8").trim().split("\n").map((line) => {
    const [, type, name, parent] = /^(\S+) (\S+) <- (\S+)$/.exec(line)!;
    return { type, name, parent };
  });
  // Names are unique among components (the parents); a child's chain is its parent's plus its own type.
  const components = new Map(rows.filter((r) => r.type.startsWith("hyperscaler:")).map((r) => [r.name, r]));
  const chain = (r: { type: string; parent: string }): string => {
    const parent = components.get(r.parent);
    return parent ? `${chain(parent)}$${r.type}` : r.type;
  };
  return rows.map((r) => ({ type: r.type, name: r.name, urn: `urn:pulumi:${stack}::hyperscaler::${chain(r)}::${r.name}` }));
}
