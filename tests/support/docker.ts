import { randomBytes } from "node:crypto";
import { buildContext, type ImageRole } from "../../components/images/context";
import * as path from "node:path";
import { REPO, run, RunResult } from "./run";

/** Runs `docker ARGS`, failing the test with docker's own message when it fails. */
export function docker(args: string[], input?: string | Buffer): string {
  const r = dockerTry(args, input);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} failed (${r.code}):\n${r.output}`);
  return r.stdout;
}

export function dockerTry(args: string[], input?: string | Buffer): RunResult {
  return run("docker", args, { input });
}

/** Builds a role image (images/<role>/Dockerfile, in its build context) on the configured base image, or on `base`; from another checkout's images/ when given. */
export function buildRoleImage(role: ImageRole, tag: string, base = process.env.HYPERSCALER_BASE_IMAGE, images = path.join(REPO, "images")): string {
  const context = buildContext(role, images);
  docker(["build", "-q", "--build-arg", `BASE_IMAGE=${base}`, "-t", tag, "-f", path.join(context.dir, context.dockerfile), context.dir]);
  return tag;
}

/** The stand-in for the official postgres:17 image (tests/fixtures/official-postgres), built on the base image. */
export function buildOfficialPostgresStandIn(): string {
  const tag = "hyperscaler/official-postgres-standin:17";
  const dir = path.join(REPO, "tests/fixtures/official-postgres");
  docker(["build", "-q", "--build-arg", `BASE_IMAGE=${process.env.HYPERSCALER_BASE_IMAGE}`, "-t", tag, dir]);
  return tag;
}

/** An environment as `K=V` strings, for `docker run -e`. */
export const envList = (env: Record<string, string>): string[] => Object.entries(env).map(([k, v]) => `${k}=${v}`);

/** A fresh MUNGE key: 1024 random bytes, as the MungeKey component makes. */
export function newMungeKey(): Buffer {
  return randomBytes(1024);
}
