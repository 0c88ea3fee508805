import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { PolicyPack, PolicyResource, validateResourceOfType } from "@pulumi/policy";
// Which volumes hold data (SLURM's state, the databases and their backups): the naming module's list.
import { isDataVolume } from "../components/config/names";

/**
 * hyperscaler's policy pack: rules every stack of the project must keep, checked by
 * `pulumi preview --policy-pack policy` (npm test, the pull-request workflow) against the
 * resources the providers will see, not the components' own arguments.
 */

/** Capabilities a container may keep after dropping ALL: what SLURM, MUNGE and PostgreSQL need (components/docker). */
export const ALLOWED_CAPABILITIES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"];
/** One more for a role (its hyperscaler.role label): sshd's privilege separation chroots; the shipper reads every file of the volumes it copies. */
export const ROLE_CAPABILITIES: Record<string, string[]> = { "backup-repository": ["CAP_SYS_CHROOT"], "backup-shipper": ["CAP_DAC_READ_SEARCH"] };

/** Commands (by the components' names) whose stdin is a secret: the MUNGE key, database logins, password files. */
const SECRET_DELIVERY = /-(munge-key|login|password-file)$/;
/** Environment variables that hold secrets. */
const SECRET_ENV = /^[A-Z0-9_]*(PASSWORD|SECRET|TOKEN)[A-Z0-9_]*=/;

/** The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::...`). */
const stackOf = (urn: string) => urn.split("::")[0].replace(/^urn:pulumi:/, "");

/** True when a value is a pinned image: an image ID, a digest, or a tag other than latest. */
export function isPinnedImage(image: string): boolean {
  if (/^sha256:[0-9a-f]{64}$/.test(image) || /@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && tag !== "latest";
}

/** A value the policy can read in this preview, or undefined where it is not known yet (reading it throws). */
function knownOrUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

const fromRandom = (deps: PolicyResource[] | undefined) => (deps ?? []).some((d) => d.type.startsWith("random:"));

new PolicyPack("hyperscaler", {
  enforcementLevel: "mandatory",
  policies: [
    {
      name: "no-privileged-containers",
      description: "No container runs privileged: a privileged node owns the host.",
      validateResource: validateResourceOfType(docker.Container, (c, _args, report) => {
        if (c.privileged) report(`container '${c.name}' is privileged; give it the capabilities it needs instead`);
      }),
    },
    {
      name: "capabilities-dropped",
      description: `Containers drop ALL capabilities and add back at most ${ALLOWED_CAPABILITIES.join(", ")}, with no-new-privileges.`,
      validateResource: validateResourceOfType(docker.Container, (c, _args, report) => {
        if (!c.capabilities?.drops?.includes("ALL")) report(`container '${c.name}' does not drop ALL capabilities`);
        const role = (c.labels ?? []).find((l) => l.label === "hyperscaler.role")?.value ?? "";
        const extra = (c.capabilities?.adds ?? []).filter((cap) => !ALLOWED_CAPABILITIES.includes(cap) && !(ROLE_CAPABILITIES[role] ?? []).includes(cap));
        if (extra.length > 0) report(`container '${c.name}' adds ${extra.join(", ")}, beyond what the nodes need (${ALLOWED_CAPABILITIES.join(", ")})`);
        if (!(c.securityOpts ?? []).includes("no-new-privileges")) report(`container '${c.name}' lacks securityOpts no-new-privileges`);
      }),
    },
    {
      name: "ports-on-loopback",
      description: "Published ports bind 127.0.0.1 only, unless the pack's config sets allowPublicPorts.",
      configSchema: { properties: { allowPublicPorts: { type: "boolean", default: false } } },
      validateResource: validateResourceOfType(docker.Container, (c, args, report) => {
        if (args.getConfig<{ allowPublicPorts?: boolean }>().allowPublicPorts) return;
        for (const p of c.ports ?? []) {
          if ((p.ip ?? "0.0.0.0") !== "127.0.0.1") {
            report(`container '${c.name}' publishes port ${p.external ?? p.internal} on ${p.ip ?? "0.0.0.0"}: bind 127.0.0.1, ` +
              `or allow it with --policy-pack-config (ports-on-loopback: { allowPublicPorts: true })`);
          }
        }
      }),
    },
    {
      name: "images-pinned",
      description: "Images are a local build, an image ID, a digest or a version tag: never latest or untagged.",
      validateStack: (args, report) => {
        const images = new Map(args.resources.filter((r) => r.isType(docker.RemoteImage)).map((r) => [r.urn, r]));
        for (const r of images.values()) {
          const i = r.asType(docker.RemoteImage)!;
          if (!i.build && !isPinnedImage(i.name)) report(`image '${i.name}' is not pinned; use a version tag or a digest`, r.urn);
        }
        for (const r of args.resources.filter((x) => x.isType(docker.Container))) {
          // An image made by an image resource is checked there (its ID is unknown before the build).
          if ((r.propertyDependencies.image ?? []).some((d) => images.has(d.urn))) continue;
          const image = String(r.props.image);
          if (!isPinnedImage(image)) report(`container '${r.props.name}' runs image '${image}', which is not pinned; use a version tag or a digest`, r.urn);
        }
      },
    },
    {
      name: "data-volumes-protected",
      description: "In the stacks the pack's config names (default: prod), SLURM's state and the PostgreSQL and MariaDB volumes are protected.",
      configSchema: { properties: { protectedStacks: { type: "array", items: { type: "string" }, default: ["prod"] } } },
      validateResource: validateResourceOfType(docker.Volume, (v, args, report) => {
        const stacks = args.getConfig<{ protectedStacks?: string[] }>().protectedStacks ?? ["prod"];
        if (stacks.includes(stackOf(args.urn)) && isDataVolume(v.name ?? "") && !args.opts.protect) {
          report(`volume '${v.name}' holds data but is not protected in stack '${stackOf(args.urn)}': set hyperscaler:protect true`);
        }
      }),
    },
    {
      name: "secrets-from-random",
      description: "Secret inputs (a key or password on a command's stdin, a password in a container's env) come from random resources, " +
        "or from secret config where the pack's config names the resource.",
      // A value from `pulumi config set --secret` has no resource behind it, as a literal has: the pack
      // cannot tell them apart, so such resources are named here (the project's own components have none).
      configSchema: { properties: { configSecrets: { type: "array", items: { type: "string" }, default: [] } } },
      validateStack: (args, report) => {
        const fromConfig = new Set(args.getConfig<{ configSecrets?: string[] }>().configSecrets ?? []);
        for (const r of args.resources) {
          if (fromConfig.has(r.name)) continue;
          // By the components' names (its command line is unknown before the container exists).
          if (r.isType(command.local.Command) && SECRET_DELIVERY.test(r.name) && !fromRandom(r.propertyDependencies.stdin)) {
            report(`'${r.name}' delivers a secret that comes from no random resource: make it with random.RandomPassword (rotated by a keeper)`, r.urn);
          }
          if (r.isType(docker.Container)) {
            const secretEnvs = knownOrUndefined(() => ((r.props.envs ?? []) as string[]).filter((e) => SECRET_ENV.test(e)));
            // Unknown before an update means made by a resource; a literal or a config value is always known.
            if (secretEnvs && secretEnvs.length > 0 && !fromRandom(r.propertyDependencies.envs)) {
              report(`container '${r.props.name}' gets ${secretEnvs.map((e) => e.split("=")[0]).join(", ")} from no random resource: make it with random.RandomPassword`, r.urn);
            }
          }
        }
      },
    },
  ],
});
