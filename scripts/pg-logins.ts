// pg-logins --stack STACK [--role ROLE]
// Checks that every application role (or one) can log in with the password the stack holds
// now, over TCP with password authentication, as an application would: after a rotation,
// this is the proof that the new password works. Prints one line per role, never a secret.
import { spawnSync } from "node:child_process";
import { cliArgs } from "./lib/args";
import { dockerFor, stackManifest } from "./lib/manifest";
import { CMD } from "../components/images/commands";

const usage = "pg-logins --stack STACK [--role ROLE]";
const values = cliArgs(usage, { stack: { type: "string" }, role: { type: "string" } });
if (!values.stack) {
  console.error(`usage: ${usage}`);
  process.exit(64);
}
const pulumi = (...args: string[]) => spawnSync("pulumi", [...args, "--stack", values.stack!, "--non-interactive"], { encoding: "utf8" });
const manifest = stackManifest(values.stack);
const container = manifest?.postgres?.container;
if (!manifest || !container) {
  console.error(`stack ${values.stack} has no PostgreSQL (hyperscaler:postgres), or is not deployed (no manifest output)`);
  process.exit(65);
}
const logins: Record<string, { database: string; user: string; password: string }> =
  JSON.parse(pulumi("stack", "output", "postgresLogins", "--json", "--show-secrets").stdout);
const roles = values.role ? [values.role] : Object.keys(logins).sort();
let failed = 0;
for (const role of roles) {
  const login = logins[role];
  if (!login) {
    console.error(`${role}: not an application role of this stack (roles: ${Object.keys(logins).join(", ")})`);
    failed++;
    continue;
  }
  // On the engine that runs PostgreSQL (the manifest's).
  const r = dockerFor(manifest, container, ["exec", "-i", container, CMD.pgLogin, login.user, login.database], { input: `${login.password}\n` });
  if (r.status === 0) console.log(`${role}: ${r.stdout.trim()}`);
  else { console.error(`${role}: login FAILED: ${(r.stderr || r.stdout).trim()}`); failed++; }
}
process.exit(failed ? 1 : 0);
