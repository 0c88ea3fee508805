import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../support/run";

/**
 * The house's floors: a folder of components/ imports only from floors below its own (or
 * within itself); the program, scripts, policy and tests stand on top and nothing imports
 * them. The closing note's picture is this table.
 */
const FLOORS: Record<string, number> = {
  config: 0,
  render: 1, images: 1,
  docker: 2, munge: 2, report: 2,
  node: 3, tls: 3,
  repository: 4,
  postgres: 5,
  monitoring: 6, accounting: 6,
  cluster: 7,
};

/** Every relative import of a TypeScript file, as a path from the repo root. */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gm)]
    .map((m) => path.relative(REPO, path.resolve(path.dirname(file), m[1])));
}

const tsFiles = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []);

describe("the layers of components/", () => {
  const files = tsFiles(path.join(REPO, "components"));
  const edges = files.flatMap((f) => imports(f).map((to) => ({ from: path.relative(REPO, f), to })));

  it("puts every folder on a floor", () => {
    const folders = fs.readdirSync(path.join(REPO, "components"), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(folders).toEqual(Object.keys(FLOORS).sort());
  });

  it("has no arrow up or sideways between folders, and none out of components/", () => {
    const bad = edges.filter(({ from, to }) => {
      const [, src] = from.split("/");
      const [top, dst] = to.split("/");
      if (top !== "components") return true;
      return src !== dst && !(FLOORS[dst] < FLOORS[src]);
    }).map(({ from, to }) => `${from} -> ${to}`);
    expect(edges.length).toBeGreaterThan(30);
    expect(bad).toEqual([]);
  });
});
