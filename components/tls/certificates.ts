import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import type { StackConfig } from "../config";
import { EXPORTER_SERVER_NAME } from "../render";

/** The issuer the certificate resources run (Node, from the project's root). Two levels below the root, like the bundle. */
const ISSUER = path.resolve(__dirname, "../../components/tls/issue.js");

/** Public facts about the stack's certificates, kept in the manifest: what the next update renews from. */
export interface CertificatesRecord {
  /** The CA's certificate (PEM): what clients trust. */
  ca: string;
  caNotAfter: string;
  /** When the first of the services' certificates expires. */
  notAfter: string;
  /** Renewals of the CA and of the services' certificates so far (their triggers). */
  caGeneration: number;
  generation: number;
  /** The rotation epochs they were issued at (hyperscaler:rotation.caEpoch, .certificatesEpoch): epochs only grow. */
  caEpoch: number;
  certificatesEpoch: number;
}

/** Whether a certificate that expires at `notAfter` is inside its renewal window at `now`. */
export function renewalDue(notAfter: string, renewBeforeDays: number, now = Date.now()): boolean {
  return Date.parse(notAfter) - renewBeforeDays * 86400e3 <= now;
}

/**
 * What clients trust: the CA, and while a rotation rolls out, the CA before it (until it
 * expires), so a server still on an old certificate and one on a new certificate are both
 * accepted for the update that rotates. The next update drops the old CA.
 */
export function trustBundle(ca: string, previous: Pick<CertificatesRecord, "ca" | "caNotAfter"> | undefined, now = Date.now()): string {
  return previous && previous.ca !== ca && Date.parse(previous.caNotAfter) > now ? ca + previous.ca : ca;
}

interface Issued { cert: string; key: string; notAfter: string }

/** One run of the issuer: what it prints is kept, secret, in state; only a trigger makes a new one. */
function issuerRun<T>(name: string, request: pulumi.Input<Record<string, unknown>>, triggers: pulumi.Input<unknown>[], opts: pulumi.CustomResourceOptions): pulumi.Output<T> {
  const issued = new command.local.Command(name, {
    // Relative: the same command in every checkout of the project (state never sees a path).
    create: `node ${path.relative(process.cwd(), ISSUER)}`,
    stdin: pulumi.secret(pulumi.output(request).apply((r) => JSON.stringify(r))),
    triggers,
    logging: "none",
    addPreviousOutputInEnv: false,
  }, { ...opts, additionalSecretOutputs: ["stdout"] });
  return issued.stdout.apply((s) => JSON.parse(s) as T);
}

/** An SSH key pair: the private key (SEC1 PEM; secret), its authorized_keys line, and the SHA-256 of its blob in hex. */
export interface SshKey { key: string; publicKey: string; fingerprint: string }

/** An SSH key pair made once (ECDSA P-256) and kept, secret, in state. */
export function sshKey(name: string, comment: string, opts: pulumi.CustomResourceOptions): pulumi.Output<SshKey> {
  return issuerRun<SshKey>(name, { kind: "ssh", commonName: comment }, [], opts);
}

export interface ClusterCertificatesArgs {
  readonly cluster: string;
  readonly tls: StackConfig["tls"];
  readonly rotation: Pick<StackConfig["rotation"], "caEpoch" | "certificatesEpoch">;
  /** The last update's record (the manifest's `tls`): renewal is decided from its expiry dates. @default - a first issue */
  readonly previous?: CertificatesRecord;
  /** Prometheus's certificate (server, and client to the exporters), when the cluster has monitoring. */
  readonly prometheus?: { readonly dnsNames: readonly string[]; readonly ipAddresses: pulumi.Input<string[]> };
  /** Servers with a certificate of their own, by name (PostgreSQL, MariaDB): the DNS names it is for. @default {} */
  readonly servers?: Readonly<Record<string, readonly string[]>>;
}

/**
 * The stack's certificate authority and the certificates it issues: one for Prometheus
 * (its web server and its client certificate to the exporters), one every node exporter
 * serves, and one for each database server. Each is issued once by components/tls/issue.js and kept, secret, in state; an
 * update replaces it when its CA changes, when it is inside its renewal window
 * (hyperscaler:tls.renewBeforeDays), or when a rotation epoch is raised. Servers re-read
 * their certificate files for each connection, so a renewal drops no connection.
 */
export class ClusterCertificates extends pulumi.ComponentResource {
  /** The CA's certificate (PEM, public): what a client of the stack's TLS endpoints trusts. */
  readonly caCertificate: pulumi.Output<string>;
  /** The CAs to trust now (the CA, and during a rotation the one before it). */
  readonly trust: pulumi.Output<string>;
  /** Prometheus's certificate and key, one PEM; secret. */
  readonly prometheus?: pulumi.Output<string>;
  /** The node exporters' certificate and key, one PEM; secret. */
  readonly exporter: pulumi.Output<string>;
  /** Each of `servers`' certificate and key, one PEM; secret. */
  readonly servers: Record<string, pulumi.Output<string>> = {};
  readonly record: pulumi.Output<CertificatesRecord>;

  constructor(name: string, args: ClusterCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hyperscaler:tls:ClusterCertificates", name, {}, opts);
    const { tls, previous } = args;
    const renew = (notAfter?: string) => (notAfter && renewalDue(notAfter, tls.renewBeforeDays) ? 1 : 0);
    const caGeneration = (previous?.caGeneration ?? 0) + renew(previous?.caNotAfter);
    const generation = (previous?.generation ?? 0) + renew(previous?.notAfter);

    const issue = (part: string, request: pulumi.Input<Record<string, unknown>>, triggers: pulumi.Input<unknown>[]) =>
      issuerRun<Issued>(`${name}-${part}`, request, triggers, { parent: this });
    const ca = issue("ca", { kind: "ca", commonName: `hyperscaler ${args.cluster} CA`, days: tls.caDays },
      [args.rotation.caEpoch, caGeneration, tls.caDays]);
    this.caCertificate = pulumi.unsecret(ca.apply((c) => c.cert));
    const leaf = (part: string, what: { dnsNames: readonly string[]; ipAddresses?: pulumi.Input<string[]>; usages: string[] }) => {
      const request = pulumi.all([ca, what.ipAddresses ?? []]).apply(([c, ipAddresses]) => ({
        kind: "leaf", commonName: what.dnsNames[0], dnsNames: what.dnsNames, ipAddresses, usages: what.usages, days: tls.certificateDays,
        ca: { cert: c.cert, key: c.key },
      }));
      const identity = pulumi.all([what.ipAddresses ?? []]).apply(([ips]) => JSON.stringify([what.dnsNames, ips, what.usages, tls.certificateDays]));
      return issue(part, request, [this.caCertificate, generation, args.rotation.certificatesEpoch, identity]);
    };
    const pem = (c: Issued) => c.cert + c.key;
    const exporter = leaf("exporter", { dnsNames: [EXPORTER_SERVER_NAME], usages: ["server"] });
    this.exporter = pulumi.secret(exporter.apply(pem));
    const prometheus = args.prometheus && leaf("prometheus", { ...args.prometheus, usages: ["server", "client"] });
    if (prometheus) this.prometheus = pulumi.secret(prometheus.apply(pem));
    // Server only, and for the loopback too: a client in the server's container checks it as well.
    const servers = Object.entries(args.servers ?? {}).sort().map(([server, dnsNames]) => {
      const issued = leaf(server, { dnsNames: [...dnsNames, "localhost"], ipAddresses: ["127.0.0.1"], usages: ["server"] });
      this.servers[server] = pulumi.secret(issued.apply(pem));
      return issued;
    });

    this.trust = this.caCertificate.apply((c) => trustBundle(c, previous));
    const notAfters = pulumi.unsecret(pulumi.all([exporter, prometheus, ...servers]).apply(([e, p, ...s]) => [e, ...(p ? [p] : []), ...s].map((c) => c!.notAfter)));
    this.record = pulumi.all([this.caCertificate, pulumi.unsecret(ca.apply((c) => c.notAfter)), notAfters]).apply(([caCert, caNotAfter, leaves]) => ({
      ca: caCert, caNotAfter, notAfter: [...leaves].sort()[0], caGeneration, generation,
      caEpoch: args.rotation.caEpoch, certificatesEpoch: args.rotation.certificatesEpoch,
    }));
    this.registerOutputs({ caCertificate: this.caCertificate });
  }
}
