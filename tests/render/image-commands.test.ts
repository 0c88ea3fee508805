import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { IMAGE_COMMANDS } from "../../components/images/commands";
import { buildContext, type ImageRole } from "../../components/images/context";
import { REPO } from "../support/run";

/** The commands a Dockerfile installs: `COPY <file> /usr/local/sbin/<name>`, with the file it copies. */
function installed(role: ImageRole): Map<string, string> {
  const dockerfile = fs.readFileSync(path.join(REPO, "images", role, "Dockerfile"), "utf8");
  return new Map([...dockerfile.matchAll(/^COPY\s+(\S+)\s+\/usr\/local\/sbin\/(hyperscaler-[a-z0-9-]+)\s*$/gm)].map((m) => [m[2], m[1]]));
}

// Every command the components and scripts run in a container (components/images/commands.ts)
// is installed by each image that must have it, from a file that exists.
describe.each<ImageRole>(["slurm", "postgres", "mariadb", "monitoring", "backup-repository", "dashboards"])("images/%s/Dockerfile", (role) => {
  const commands = installed(role);
  const needed = Object.values(IMAGE_COMMANDS).filter((c) => (c.images as readonly string[]).includes(role)).map((c) => c.name);

  it("installs every command the components run in it, from a file in its build context", () => {
    expect(needed.length).toBeGreaterThan(0);
    for (const name of needed) {
      expect(commands.has(name), `${name} in images/${role}/Dockerfile`).toBe(true);
      expect(fs.existsSync(path.join(buildContext(role).dir, commands.get(name)!)), commands.get(name)).toBe(true);
    }
  });
});

it("names no command twice", () => {
  const names = Object.values(IMAGE_COMMANDS).map((c) => c.name);
  expect(new Set(names).size).toBe(names.length);
});
