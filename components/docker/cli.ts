import { spawn } from "node:child_process";

/** What a finished `docker` command left behind. */
export interface DockerResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the `docker` CLI (DOCKER_HOST decides which engine) without a shell, feeding
 * `stdin` if given. Asynchronous, so one provider process can work on several resources
 * at once. Never logs its input: secrets travel on stdin.
 */
export function dockerTry(args: readonly string[], stdin?: string | Buffer): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", [...args], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => reject(new Error(`cannot run docker (${e.message}); run scripts/setup.sh, which installs and starts it`)));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on("error", () => { /* the command exited before reading all input; its exit code tells */ });
    child.stdin.end(stdin ?? "");
  });
}

/** Like dockerTry, but a non-zero exit is an error naming the command (not its input) and docker's message. */
export async function docker(args: readonly string[], stdin?: string | Buffer): Promise<string> {
  const r = await dockerTry(args, stdin);
  if (r.code !== 0) {
    throw new Error(`docker ${args.join(" ")} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout.trim();
}

/** True when docker's answer means the object is not there (already removed by hand, say). */
export function isNotFound(r: DockerResult): boolean {
  return r.code !== 0 && /no such (container|object|image|network|volume)|not found/i.test(r.stderr);
}
