import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "shell-quote";
import { expect } from "vitest";
import { REPO, run } from "./run";

// Reads the operations guides the way the tests need them: fenced blocks (with their
// `runbook=<id>` / `expect=<id>` tags), procedures (### sections with a checklist), and
// the simple commands inside a shell snippet.

export const GUIDES_DIR = path.join(REPO, "docs/operations");

/** The procedures the issue names, which the end-to-end suite must run as written (by runbook tag). */
export const MAIN_PROCEDURES = ["deploy", "validate", "scale-up", "scale-down", "rotate-munge", "rotate-db-password", "backup", "restore", "rollback"];

/** Every guide: docs/operations/*.md. */
export function guideFiles(): string[] {
  return fs.readdirSync(GUIDES_DIR).filter((f) => f.endsWith(".md")).sort().map((f) => path.join(GUIDES_DIR, f));
}

export interface Block { file: string; line: number; lang: string; tags: Record<string, string>; text: string }

/** Fenced code blocks: ```lang key=value ... */
export function fencedBlocks(file: string): Block[] {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith("```"); i++) body.push(lines[i]);
    const tags = Object.fromEntries(open[2].split(/\s+/).filter((t) => t.includes("=")).map((t) => t.split("=", 2)));
    blocks.push({ file, line: start + 1, lang: open[1], tags, text: body.join("\n") });
  }
  return blocks;
}

/** Inline code spans that are commands (start with a program the guides run). */
export function inlineCommands(file: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fenced = false;
  fs.readFileSync(file, "utf8").split("\n").forEach((line, i) => {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) return;
    for (const m of line.matchAll(/`([^`]+)`/g)) {
      if (/^(pulumi|npm|bash|docker|source|git) /.test(m[1])) out.push({ line: i + 1, text: m[1].replace(/\\\|/g, "|") });
    }
  });
  return out;
}

export interface Procedure { file: string; title: string; line: number; body: string }

/** `###` sections that contain a checklist (`- [ ]`): the procedures. */
export function procedures(file: string): Procedure[] {
  const text = fs.readFileSync(file, "utf8");
  const out: Procedure[] = [];
  const heads = [...text.matchAll(/^(#{2,3}) (.+)$/gm)];
  heads.forEach((h, i) => {
    if (h[1] !== "###") return;
    const body = text.slice(h.index! + h[0].length, heads[i + 1]?.index ?? text.length);
    if (/^- \[ \] /m.test(body)) out.push({ file, title: h[2], line: text.slice(0, h.index).split("\n").length, body });
  });
  return out;
}

/**
 * The simple commands of a shell snippet, as argv arrays: pipelines and lists split,
 * command substitutions taken out as commands of their own, `VAR=value` prefixes and
 * redirections dropped, `<placeholder>` kept as one word. Variables stay as written.
 */
export function simpleCommands(script: string): string[][] {
  const out: string[][] = [];
  const joined = script.replace(/\\\n/g, " ");
  for (const rawLine of joined.split("\n")) {
    let line = rawLine;
    // $( ... ) with balanced parentheses, innermost first.
    for (let start = line.indexOf("$("); start >= 0; start = line.indexOf("$(")) {
      let depth = 0, end = start + 1;
      for (; end < line.length; end++) {
        if (line[end] === "(") depth++;
        else if (line[end] === ")" && --depth === 0) break;
      }
      out.push(...simpleCommands(line.slice(start + 2, end)));
      line = line.slice(0, start) + "SUBSTITUTED" + line.slice(end + 1);
    }
    line = line.replace(/<([A-Za-z][\w.-]*)>/g, "PLACEHOLDER_$1");
    let current: string[] = [];
    const flush = () => {
      while (current.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(current[0])) current.shift();
      if (current.length) out.push(current);
      current = [];
    };
    const tokens = parse(line, (key) => `$${key}`);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (typeof t === "string") { current.push(t); continue; }
      if ("comment" in t) break;
      if (!("op" in t)) continue;
      if (t.op === "glob") { current.push((t as { pattern: string }).pattern); continue; }
      if (/^[<>]/.test(t.op)) {
        if (/^[0-9]$/.test(current.at(-1) ?? "")) current.pop(); // the fd of 2>
        i++; // the redirection's target
        continue;
      }
      flush();
    }
    flush();
  }
  return out;
}

/**
 * Runs a guide's procedure as written (the blocks tagged runbook=ID, after the shell
 * preparation tagged runbook=session) and checks that every line of its expected output
 * (expect=ID, `…` for what varies) appears. Returns the output.
 */
export function runProcedure(id: string, opts: { cwd: string; env: NodeJS.ProcessEnv }): string {
  const blocks = guideFiles().flatMap(fencedBlocks);
  const tagged = (key: "runbook" | "expect", tag: string) => blocks.filter((b) => b.tags[key] === tag).map((b) => b.text);
  const normal = (s: string) => s.replace(/\s+/g, " ").trim();
  expect(tagged("runbook", id).length, `no block tagged runbook=${id}`).toBeGreaterThan(0);
  const r = run("bash", ["-e", "-o", "pipefail", "-c", [...tagged("runbook", "session"), ...tagged("runbook", id)].join("\n")], opts);
  expect(r.code, `${id} failed:\n${r.output}`).toBe(0);
  const lines = r.output.split("\n").map(normal);
  for (const want of tagged("expect", id).join("\n").split("\n").filter((l) => l.trim())) {
    const pattern = new RegExp(want.split("…").map((part) => normal(part).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*"));
    expect(lines.some((l) => pattern.test(l)), `${id}: expected a line like\n  ${want}\nin:\n${r.output}`).toBe(true);
  }
  return r.output;
}
