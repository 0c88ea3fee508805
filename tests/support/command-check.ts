import * as fs from "node:fs";
import * as path from "node:path";
import { buildContext, type ImageRole } from "../../components/images/context";
import { REPO, run } from "./run";
import { simpleCommands } from "./runbook";

// Checks a command the way a reader would run it: the program exists (on the host, in the
// project, or in the image of the container `docker exec` names) and accepts every flag
// given, by the program's own --help. Returns the problems, empty when the command is good.

const BUILTINS = new Set(["export", "cd", "echo", "test", "[", "set", "read", "true", "false", "exit", "unset", "printf", "for", "do", "done", "if", "then", "fi", "while"]);

/** Flags of an argv (up to `--`), `--name=value` as `--name`. */
function flagsOf(args: string[]): string[] {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).filter((a) => /^--?[A-Za-z]/.test(a)).map((a) => a.split("=")[0]);
}

/** What makes PROG print every option it takes (curl lists them all only with "all"). */
const helpFlags = (prog: string) => (prog === "curl" ? ["--help", "all"] : ["--help"]);

function helpHas(help: string, flag: string): boolean {
  const has = (f: string) => new RegExp(`(^|[\\s,\\[(|])${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=$|[\\s,=\\[\\]|)])`, "m").test(help);
  if (has(flag)) return true;
  if (flag.startsWith("--") || flag.length <= 2) return false;
  // -it: each a short flag; -n1: -n with its value attached.
  return [...flag.slice(1)].every((c) => has(`-${c}`)) || has(flag.slice(0, 2));
}

/** Subcommand names listed in a help text's command sections. */
function subcommands(help: string): Set<string> {
  const names = new Set<string>();
  let inSection = false;
  for (const line of help.split("\n")) {
    if (/^([A-Z][\w ]*)?Commands:$/.test(line)) { inSection = true; continue; }
    if (!/^\s/.test(line)) inSection = false;
    const m = inSection && /^\s+([a-z][\w-]*)\*?\s{2,}/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

/** Container name suffix -> the image role that runs it. */
function roleOf(container: string): ImageRole | undefined {
  if (container.endsWith("-backup-repository") || container.endsWith("-backup-shipper")) return "backup-repository";
  const host = container.split("-").pop() ?? "";
  if (host === "controller" || host === "slurmdbd" || /^[a-z]+[0-9]{3}$/.test(host)) return "slurm";
  if (host === "mariadb") return "mariadb";
  if (host === "postgres") return "postgres";
  if (host === "prometheus" || host === "alertmanager") return "monitoring";
  return undefined;
}

export class CommandChecker {
  private helps = new Map<string, string>();
  private pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> };

  constructor(private readonly images: Record<ImageRole, string>) {}

  /** Problems with one simple command (argv as written in a guide). */
  check(argv: string[]): string[] {
    const [prog, ...args] = argv;
    // A builtin, or a placeholder where the reader puts their own command.
    if (BUILTINS.has(prog) || prog.startsWith("PLACEHOLDER_")) return [];
    if (prog === "source" || prog === ".") return this.projectFile(args[0]);
    if (prog === "npm") return this.npm(args);
    if (prog === "bash" || prog === "tsx") return this.projectScript(args[0], args.slice(1), prog);
    if (prog.startsWith("scripts/")) return this.projectScript(prog, args, "bash");
    if (prog === "pulumi" || prog === "docker" || prog === "git") return this.withSubcommands(prog, args);
    if (prog.startsWith("hyperscaler-")) return [`${prog} runs inside a container: docker exec <cluster>-<container> ${prog}`];
    return this.hostProgram(prog, args);
  }

  private help(key: string, cmd: string, args: string[]): string {
    if (!this.helps.has(key)) this.helps.set(key, run(cmd, args).output);
    return this.helps.get(key)!;
  }

  private badFlags(args: string[], help: string, what: string): string[] {
    return flagsOf(args).filter((f) => !helpHas(help, f)).map((f) => `${what} does not accept ${f}`);
  }

  private projectFile(file: string | undefined): string[] {
    return file && fs.existsSync(path.join(REPO, file)) ? [] : [`${file} does not exist in the project`];
  }

  private npm(args: string[]): string[] {
    if (args[0] === "test" || args[0] === "ci") return [];
    if (args[0] !== "run") return [`npm ${args[0]}: not a command the project uses`];
    const rest = args.slice(1).filter((a) => a !== "-s" && a !== "--silent");
    const script = this.pkg.scripts[rest[0]];
    if (!script) return [`npm run ${rest[0]}: no such script in package.json`];
    const sep = rest.indexOf("--");
    if (sep < 0) return [];
    // Arguments after -- go to the script's last command (past with-env.sh).
    let inner = simpleCommands(script).at(-1)!;
    if (inner[0] === "bash" && inner[1] === "scripts/with-env.sh") inner = inner.slice(2);
    return this.check([...inner, ...rest.slice(sep + 1)]);
  }

  private projectScript(file: string | undefined, args: string[], runner: string): string[] {
    if (file === "scripts/with-env.sh") return this.projectFile(file).concat(args.length ? this.check(args) : []);
    const missing = this.projectFile(file);
    if (missing.length || !flagsOf(args).length) return missing;
    const usage = this.help(`script ${file}`, runner === "tsx" ? path.join(REPO, "node_modules/.bin/tsx") : "bash", [path.join(REPO, file!), "--help"]);
    if (!usage.startsWith("usage:")) return [`${file} --help printed no usage: ${usage.slice(0, 200)}`];
    const own = flagsOf(args).filter((f) => !helpHas(usage, f));
    // scripts/up.sh passes what it does not know to `pulumi up`.
    if (own.length && usage.includes("[pulumi up flags]")) return this.withSubcommands("pulumi", ["up", ...own]);
    return own.map((f) => `${file} does not accept ${f} (usage: ${usage.trim()})`);
  }

  /** pulumi/docker/git: walks the subcommands by each level's help, then checks the flags there. */
  private withSubcommands(prog: string, args: string[]): string[] {
    const helpArgs = (sub: string[]) => (prog === "git" ? [...sub, "-h"] : [...sub, "--help"]);
    const sub: string[] = [];
    let help = this.help(prog, prog, helpArgs([]));
    for (const word of args) {
      if (word.startsWith("-") || (prog === "git" && sub.length === 1)) break;
      if (prog !== "git" && !subcommands(help).has(word)) {
        if (sub.length === 0 || subcommands(help).size === 0) break;
        // A command group (its help lists commands) takes a command: an alias (`stack init`)
        // has help of its own, a misspelling gets the group's again.
        if (this.help(`${prog} ${[...sub, word].join(" ")}`, prog, helpArgs([...sub, word])) === help) {
          return [`${prog} ${[...sub, word].join(" ")}: no such command`];
        }
      }
      sub.push(word);
      help = this.help(`${prog} ${sub.join(" ")}`, prog, helpArgs(sub));
      if (prog === "docker" && word === "exec") return this.dockerExec(args.slice(1), help);
    }
    if (sub.length === 0 && args.length && !args[0].startsWith("-")) return [`${prog} ${args[0]}: no such command`];
    return this.badFlags(args.slice(sub.length), help, `${prog} ${sub.join(" ")}`);
  }

  /** docker exec [flags] CONTAINER CMD...: the command is checked in that container's image. */
  private dockerExec(args: string[], help: string): string[] {
    let i = 0;
    const valued = new Set(["-u", "--user", "-e", "--env", "-w", "--workdir", "--env-file"]);
    for (; i < args.length && args[i].startsWith("-"); i++) if (valued.has(args[i])) i++;
    const problems = this.badFlags(args.slice(0, i), help, "docker exec");
    const container = args[i];
    if (container === undefined) return problems; // "`docker exec`" named in prose, not a command
    const role = roleOf(container);
    if (!role) return [...problems, `docker exec ${container}: not a container the stack makes (<cluster>-controller, -cpu001, -slurmdbd, -postgres, -mariadb, -prometheus, -alertmanager)`];
    return [...problems, ...this.inImage(role, args.slice(i + 1))];
  }

  private inImage(role: ImageRole, argv: string[]): string[] {
    let [prog, ...args] = argv;
    if (prog === "runuser") { const sep = args.indexOf("--"); [prog, ...args] = args.slice(sep + 1); }
    if (prog === "sh" && args[0] === "-c") return simpleCommands(args[1]).flatMap((c) => this.inImage(role, c));
    if (BUILTINS.has(prog)) return [];
    if (prog.startsWith("hyperscaler-")) {
      const copy = fs.readFileSync(path.join(REPO, "images", role, "Dockerfile"), "utf8").match(new RegExp(`^COPY (\\S+) /usr/local/s?bin/${prog}$`, "m"));
      if (!copy) return [`${prog} is not installed in the ${role} image (images/${role}/Dockerfile)`];
      const usage = fs.readFileSync(path.join(buildContext(role).dir, copy[1]), "utf8").split("\n")[1];
      return flagsOf(args).filter((f) => !helpHas(usage, f)).map((f) => `${prog} does not accept ${f} (usage: ${usage.slice(2)})`);
    }
    // openssl's flags are its subcommand's (`openssl x509 -noout`): that subcommand's help.
    const sub = prog === "openssl" && args[0] && !args[0].startsWith("-") ? [args.shift()!] : [];
    // SLURM's clients want a configuration before they print their help: give them a minimal one.
    const help = this.help(`${role} ${[prog, ...sub].join(" ")}`, "docker", ["run", "--rm", "--entrypoint", "sh", this.images[role], "-c",
      `command -v "$1" >/dev/null || { echo "NOT FOUND"; exit; }
      printf 'ClusterName=help\nSlurmctldHost=localhost\nAccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost\n' >/tmp/slurm.conf; export SLURM_CONF=/tmp/slurm.conf
      bin=$(command -v "$1")
      out=$(timeout 20 "$@" 2>&1 </dev/null || true)
      # sacct prints its usage only once it has reached slurmdbd: read the usage text from the program.
      case "$out" in *"Problem talking to the database"*) tr -c '[:print:]' '\n' <"$bin" | grep -E '^ *-[A-Za-z0-9], --|^ *--[a-z]' ;; *) echo "$out" ;; esac`, "_", prog, ...sub, ...helpFlags(prog)]);
    if (help.startsWith("NOT FOUND")) return [`${prog} is not in the ${role} image`];
    return this.badFlags(args, help, `${prog} (in the ${role} image)`);
  }

  private hostProgram(prog: string, args: string[]): string[] {
    const found = run("sh", ["-c", 'command -v "$1"', "_", prog]);
    if (found.code !== 0) return [`${prog}: not found on this machine`];
    return flagsOf(args).length ? this.badFlags(args, this.help(prog, prog, helpFlags(prog)), prog) : [];
  }
}
