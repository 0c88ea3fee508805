import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildRoleImage } from "../support/docker";
import { CommandChecker } from "../support/command-check";
import { fencedBlocks, guideFiles, GUIDES_DIR, inlineCommands, MAIN_PROCEDURES, procedures, simpleCommands } from "../support/runbook";
import { REPO } from "../support/run";

// The operations guides cannot drift from the code: every command in them is checked
// against the program that would run it (its existence, and every flag by its own --help,
// in the container's image for `docker exec`), every file and image command they name
// exists, and every procedure has its checklist, verification, rollback and risk note.
// tests/e2e/runbooks.test.ts runs the main procedures as written.

const GUIDES = ["deployment", "maintenance", "backup-recovery", "scaling", "security", "performance-tuning", "accounting", "troubleshooting", "quick-reference"];

let checker: CommandChecker;
beforeAll(() => {
  checker = new CommandChecker({
    slurm: buildRoleImage("slurm", "hyperscaler/slurm:test"),
    postgres: buildRoleImage("postgres", "hyperscaler/postgres:test"),
    monitoring: buildRoleImage("monitoring", "hyperscaler/monitoring:test"),
    mariadb: buildRoleImage("mariadb", "hyperscaler/mariadb:test"),
    "backup-repository": buildRoleImage("backup-repository", "hyperscaler/backup-repository:test"),
    logs: buildRoleImage("logs", "hyperscaler/logs:test"),
    dashboards: buildRoleImage("dashboards", "hyperscaler/dashboards:test"),
  });
}, 600_000);

const files = [...guideFiles(), path.join(REPO, "README.md")];
const rel = (f: string) => path.relative(REPO, f);

describe("the operations guides", () => {
  it("has the six guides, troubleshooting and the quick reference", () => {
    for (const g of GUIDES) expect(fs.existsSync(path.join(GUIDES_DIR, `${g}.md`)), g).toBe(true);
  });

  it.each(files.map((f) => [rel(f), f]))("%s: every command exists and accepts its flags", (_name, file) => {
    const commands = [
      ...fencedBlocks(file).filter((b) => b.lang === "sh").flatMap((b) => simpleCommands(b.text).map((argv) => ({ line: b.line, argv }))),
      ...inlineCommands(file).flatMap((c) => simpleCommands(c.text).map((argv) => ({ line: c.line, argv }))),
    ];
    expect(commands.length).toBeGreaterThan(0);
    const problems = commands.flatMap(({ line, argv }) => checker.check(argv).map((p) => `${rel(file)}:${line}: ${argv.join(" ")}: ${p}`));
    expect(problems).toEqual([]);
  }, 300_000);

  it.each(files.map((f) => [rel(f), f]))("%s: every file and image command it names exists", (_name, file) => {
    const text = fs.readFileSync(file, "utf8");
    const paths = [...text.matchAll(/(?<![\w/.-])((?:scripts|images|components|stacks|bench|tests|docs|\.ci|\.github)\/[\w./-]*\w)/g)].map((m) => m[1]);
    const missing = paths.filter((p) => !fs.existsSync(path.join(REPO, p)) && !fs.existsSync(path.join(GUIDES_DIR, p)));
    const dockerfiles = fs.readdirSync(path.join(REPO, "images")).filter((r) => fs.existsSync(path.join(REPO, "images", r, "Dockerfile")))
      .map((r) => fs.readFileSync(path.join(REPO, "images", r, "Dockerfile"), "utf8")).join("\n");
    const unknownCommands = [...new Set([...text.matchAll(/(?<![\w.])hyperscaler-[a-z][a-z-]*[a-z]\b/g)].map((m) => m[0]))]
      .filter((c) => !dockerfiles.includes(`/usr/local/sbin/${c}\n`));
    expect({ missing, unknownCommands }).toEqual({ missing: [], unknownCommands: [] });
  });

  it.each(guideFiles().map((f) => [rel(f), f]))("%s: every procedure has when, automation, risk, checklist, verification with output, rollback", (_name, file) => {
    for (const p of procedures(file)) {
      const missing = ["**When:**", "**Automated:**", "**Risk:**", "**Verify:**", "**Rollback:**"].filter((label) => !p.body.includes(label));
      expect(missing, `${rel(file)}:${p.line} "${p.title}"`).toEqual([]);
      expect(p.body, `${rel(file)}:${p.line} "${p.title}": expected output`).toMatch(/```text/);
    }
  });

  it("tags every main procedure once, and every expected output belongs to a procedure", () => {
    const blocks = guideFiles().flatMap(fencedBlocks);
    const runbooks = new Map<string, string>();
    for (const b of blocks.filter((b) => b.tags.runbook)) {
      const where = `${rel(b.file)}#${b.tags.runbook}`;
      expect([undefined, where], `runbook=${b.tags.runbook} in two guides`).toContain(runbooks.get(b.tags.runbook));
      runbooks.set(b.tags.runbook, where);
    }
    for (const id of MAIN_PROCEDURES) expect(runbooks.has(id), id).toBe(true);
    for (const b of blocks.filter((b) => b.tags.expect)) expect(runbooks.has(b.tags.expect), `expect=${b.tags.expect}`).toBe(true);
  });
});

describe("the command checker", () => {
  it.each([
    [["pulumi", "up", "--no-such-flag"], /pulumi up does not accept --no-such-flag/],
    [["pulumi", "stak", "ls"], /pulumi stak: no such command/],
    [["pulumi", "stack", "outptu", "manifest"], /pulumi stack outptu: no such command/],
    [["docker", "volume", "lss"], /docker volume lss: no such command/],
    [["npm", "run", "no-such-script"], /no such script/],
    [["npm", "run", "audit", "--", "--stack", "dev", "--jsn"], /scripts\/audit.ts does not accept --jsn/],
    [["bash", "scripts/up.sh", "--stack", "dev", "--reason", "x", "--yess"], /pulumi up does not accept --yess/],
    [["bash", "scripts/no-such.sh"], /does not exist/],
    [["docker", "exec", "$CLUSTER-controller", "sinfo", "--nodez"], /sinfo \(in the slurm image\) does not accept --nodez/],
    [["docker", "exec", "$CLUSTER-controller", "sacct", "--allusres"], /sacct \(in the slurm image\) does not accept --allusres/],
    [["docker", "exec", "$CLUSTER-mariadb", "hyperscaler-mariadb-restore", "slurm_acct_db", "--onto", "x"], /hyperscaler-mariadb-restore does not accept --onto/],
    [["docker", "exec", "$CLUSTER-controller", "hyperscaler-pg-backup", "appdb"], /hyperscaler-pg-backup is not installed in the slurm image/],
    [["docker", "exec", "$CLUSTER-postgres", "hyperscaler-pg-restore", "appdb", "--onto", "x"], /hyperscaler-pg-restore does not accept --onto/],
    [["docker", "exec", "$CLUSTER-postgres", "no-such-program"], /no-such-program is not in the postgres image/],
    [["docker", "exec", "$CLUSTER-webapp", "ls"], /not a container the stack makes/],
    [["hyperscaler-validate", "cpu001"], /runs inside a container/],
  ])("refuses %j", (argv, message) => {
    expect(checker.check(argv as string[]).join("\n")).toMatch(message);
  });

  it("accepts good commands, and splits a snippet into its simple commands", () => {
    const snippet = 'NODES=$(docker exec "$CLUSTER-controller" sinfo -h -N -o %N | sort -u)\ndocker exec -i "$CLUSTER-cpu001" unmunge 2>&1 # comment';
    const commands = simpleCommands(snippet);
    expect(commands).toEqual([
      ["docker", "exec", "$CLUSTER-controller", "sinfo", "-h", "-N", "-o", "%N"], ["sort", "-u"],
      ["docker", "exec", "-i", "$CLUSTER-cpu001", "unmunge"],
    ]);
    expect(commands.flatMap((c) => checker.check(c))).toEqual([]);
  });
});
