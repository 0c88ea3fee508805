import { z } from "zod";

/** How Docker reaches an engine: what DOCKER_HOST and the docker provider's `host` take. */
export const dockerHostUrl = z.string().regex(/^(unix|tcp|ssh|npipe):\/\/\S+$/, "must be a Docker host URL such as unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host");

/** An IPv4 address as a 32-bit number, or undefined when it is not one. */
export function ipv4Number(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) return undefined;
  return m.slice(1).reduce((n, o) => n * 256 + Number(o), 0);
}

export function ipv4String(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** An IPv4 CIDR as its first address and size, or undefined when it is not one (or has host bits set). */
export function cidrRange(s: string): { first: number; size: number } | undefined {
  const [addr, bits, ...rest] = s.split("/");
  const first = ipv4Number(addr);
  const prefix = Number(bits);
  if (rest.length || first === undefined || !/^\d{1,2}$/.test(bits ?? "") || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return first % size === 0 ? { first, size } : undefined;
}

export const ipv4 = z.string().refine((s) => ipv4Number(s) !== undefined, "must be an IPv4 address such as 192.168.1.10");
const cidr = z.string().refine((s) => cidrRange(s) !== undefined, "must be an IPv4 network in CIDR form, its first address (192.168.1.64/27, not 192.168.1.70/27)");

/** A workstation's name in the config (and in its docker provider's name). */
export const workstationName = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "must be lowercase letters, digits and '-', starting with a letter");

export const workstationSchema = z.strictObject({
  /** How Docker reaches the workstation's engine: `ssh://user@host` (Docker's own SSH transport), or a socket. */
  dockerHost: dockerHostUrl,
  /**
   * The workstation's network interface on the LAN the workstations share: the parent of
   * the cluster's macvlan network there, so containers on every workstation reach each
   * other at their own addresses (no NAT, no published ports, no privileged container).
   */
  interface: z.string().regex(/^[A-Za-z0-9_.@-]{1,15}$/, "must be a network interface name such as eth0 or enp3s0"),
  /** This workstation's share of network.subnet for its containers (Docker's ip-range); no two overlap, and the LAN's DHCP must not hand them out. */
  addresses: cidr,
});

export const clusterNetworkSchema = z.strictObject({
  /** The LAN the workstations share, in CIDR (e.g. 192.168.1.0/24). */
  subnet: cidr,
  /** The LAN's gateway. @default - the subnet's first usable address (Docker's default) */
  gateway: ipv4.optional(),
  /** The controller's fixed address: every node finds slurmctld there. In subnet, outside every workstation's addresses. */
  controllerAddress: ipv4,
});

/**
 * An S3-compatible bucket for the backups (AWS S3, MinIO, Ceph RGW, Garage...), over HTTPS
 * (pgBackRest speaks S3 over TLS only). The stack's objects go under `<clusterName>/` in the
 * bucket, so stacks may share one. Set the key pair with `--secret`: the program refuses it in
 * plain text.
 */
export const s3RepositorySchema = z.strictObject({
  /** Host name or address, with `:port` when not 443 (e.g. s3.eu-west-1.amazonaws.com, 192.168.1.5:9000). */
  endpoint: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/, "must be a host name or IPv4 address, with :port when not 443 (no scheme: HTTPS is the only one)"),
  /** The bucket, made beforehand (the stack does not create or delete it). */
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'"),
  /** @default us-east-1 */
  region: z.string().regex(/^[a-z0-9-]{1,32}$/, "must be a region name such as us-east-1").default("us-east-1"),
  /** `host` (bucket.endpoint, AWS's default) or `path` (endpoint/bucket: most self-hosted servers). @default host */
  uriStyle: z.enum(["host", "path"]).default("host"),
  /** A PEM file, on the machine that runs pulumi, with the CA that signed the endpoint's certificate (read at each up). @default - the system's CAs */
  caFile: z.string().min(1).optional(),
  accessKeyId: z.string({ error: "must be the S3 access key ID, set with --secret" }).min(1, "must be the S3 access key ID, set with --secret"),
  secretAccessKey: z.string({ error: "must be the S3 secret access key, set with --secret" }).min(1, "must be the S3 secret access key, set with --secret"),
}).superRefine((s3, ctx) => {
  // Host style puts the bucket in the host name: an address has no such name.
  if (s3.uriStyle === "host" && ipv4Number(s3Endpoint(s3.endpoint).host) !== undefined) {
    ctx.addIssue({ code: "custom", path: ["uriStyle"], message: `must be path for an endpoint given by address (${s3.endpoint}): host style would ask for ${s3.bucket}.${s3.endpoint}` });
  }
});

/** An S3 endpoint's host and port (443 when it names none). */
export function s3Endpoint(endpoint: string): { host: string; port: number } {
  const [host, port] = endpoint.split(":");
  return { host, port: port ? Number(port) : 443 };
}

/**
 * Where the stack's backups go: a repository container on another workstation, reached over
 * SFTP (workstation + address), or an S3-compatible bucket (s3).
 */
export const backupRepositorySchema = z.strictObject({
  /** The workstation it runs on: one of hyperscaler:workstations, not the controller's (its loss would take the backups too). */
  workstation: workstationName.optional(),
  /** Its fixed address on the LAN: in network.subnet, outside every workstation's addresses. */
  address: ipv4.optional(),
  /** An S3-compatible bucket instead of a repository container. */
  s3: s3RepositorySchema.optional(),
  /** The repository container's memory (workstation), and the shipper's. @default 256 */
  memoryMiB: z.number().int().min(64, "must be at least 64 MiB").default(256),
  /** Minutes between copies of the file backups (slurmctld's state, MariaDB's dumps) to it: their RPO there. @default 15 */
  shipIntervalMin: z.number().int().min(1, "must be at least 1 minute").default(15),
  /** Days the file backups' copies are kept. @default 7 */
  keepDays: z.number().int().min(1, "must be at least 1 day").default(7),
}).superRefine((r, ctx) => {
  if (r.s3 && (r.workstation || r.address)) {
    ctx.addIssue({ code: "custom", path: [r.workstation ? "workstation" : "address"], message: "is for a repository container; with s3 the backups go to the bucket: remove one of them" });
  } else if (!r.s3 && !(r.workstation && r.address)) {
    ctx.addIssue({ code: "custom", path: [r.workstation ? "address" : "workstation"],
      message: "must be set: the repository is a container on another workstation (workstation and address) or an S3 bucket (s3)" });
  }
});

export type WorkstationConfig = z.infer<typeof workstationSchema>;
export type ClusterNetworkConfig = z.infer<typeof clusterNetworkSchema>;
export type BackupRepositoryConfig = z.infer<typeof backupRepositorySchema>;
export type S3RepositoryConfig = z.infer<typeof s3RepositorySchema>;

/**
 * The LAN's gateway: as configured, else the subnet's first usable address. Always given
 * to Docker: left out, an engine that restarts reports one of its own choosing (the first
 * of the workstation's range), and the network would show as changed.
 */
export function lanGateway(network: ClusterNetworkConfig): string {
  return network.gateway ?? ipv4String(cidrRange(network.subnet)!.first + 1);
}

/** The most addresses one workstation may hand out: each gets a line in every node's hosts file. */
const MAX_WORKSTATION_ADDRESSES = 1024;

/**
 * A name for every address a node can have on the LAN, as hosts-file lines: the controller
 * by its hostname, each address of the workstations' ranges as ip-A-B-C-D. SLURM 24.11
 * looks up the name of the address in each request's MUNGE credential; a container on
 * another workstation is unknown to the local engine's DNS, which asks the LAN's
 * resolvers, and where they drop such queries every request waits out the resolver
 * (10 s, SLURM's message timeout): nodes never register.
 */
export function lanHosts(p: { workstations: readonly { addresses: string }[]; controllerAddress: string; controllerHost: string }): string {
  const lines = [`${p.controllerAddress} ${p.controllerHost}`];
  for (const w of p.workstations) {
    const range = cidrRange(w.addresses)!;
    for (let n = range.first; n < range.first + range.size; n++) {
      const ip = ipv4String(n);
      lines.push(`${ip} ip-${ip.replaceAll(".", "-")}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** What the workstation settings need of the whole config. */
interface Placement {
  dockerHost?: string;
  workstations?: Record<string, WorkstationConfig>;
  network?: ClusterNetworkConfig;
  controller: { workstation?: string };
  nodeGroups: Record<string, { workstation?: string }>;
  backupRepository?: { workstation?: string; address?: string };
  buildWorkstation?: string;
  monitoring?: { logs?: { address?: string } };
}

/** Where the workstation settings contradict each other or the rest, by config path. */
export function workstationIssues(c: Placement): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const names = Object.keys(c.workstations ?? {});
  const placed: [string[], string | undefined][] = [
    [["controller", "workstation"], c.controller.workstation],
    [["backupRepository", "workstation"], c.backupRepository?.workstation],
    [["buildWorkstation"], c.buildWorkstation],
    ...Object.entries(c.nodeGroups).map(([g, group]): [string[], string | undefined] => [["nodeGroups", g, "workstation"], group.workstation]),
  ];
  if (!c.workstations) {
    if (c.monitoring?.logs?.address) issues.push({ path: ["monitoring", "logs", "address"], message: "is for a cluster on several workstations (the log store's address on their LAN): remove it" });
    if (c.network) issues.push({ path: ["network"], message: "is for a cluster on several workstations: define hyperscaler:workstations too, or remove it" });
    for (const [path, ws] of placed) {
      if (ws) issues.push({ path, message: `names workstation '${ws}' but hyperscaler:workstations defines none` });
    }
    return issues;
  }
  if (names.length === 0) issues.push({ path: ["workstations"], message: "must define at least one workstation (or remove it: the cluster then runs on hyperscaler:dockerHost)" });
  if (c.dockerHost) issues.push({ path: ["dockerHost"], message: "is for a cluster on one engine; with workstations each has its own dockerHost: remove hyperscaler:dockerHost" });
  if (!c.controller.workstation && names.length > 0) {
    issues.push({ path: ["controller", "workstation"], message: `must name the workstation the controller (and PostgreSQL, monitoring, accounting) runs on: one of ${names.join(", ")}` });
  }
  for (const [path, ws] of placed) {
    if (ws && !c.workstations[ws]) issues.push({ path, message: `names unknown workstation '${ws}' (defined: ${names.join(", ") || "none"})` });
  }
  if (!c.network) {
    issues.push({ path: ["network"], message: "must give the LAN the workstations share (subnet, controllerAddress) when hyperscaler:workstations is set" });
    return issues;
  }
  const subnet = cidrRange(c.network.subnet);
  if (!subnet) return issues; // the schema has said why
  const inSubnet = (n: number) => n >= subnet.first && n < subnet.first + subnet.size;
  const ranges = Object.entries(c.workstations).map(([name, w]) => ({ name, range: cidrRange(w.addresses) }));
  ranges.forEach(({ name, range }, i) => {
    if (!range) return;
    if (range.size > MAX_WORKSTATION_ADDRESSES) {
      issues.push({ path: ["workstations", name, "addresses"], message: `is ${range.size} addresses; at most ${MAX_WORKSTATION_ADDRESSES} (a /22 or smaller): each gets a name in every node's hosts file` });
    }
    if (!inSubnet(range.first) || !inSubnet(range.first + range.size - 1)) {
      issues.push({ path: ["workstations", name, "addresses"], message: `is not inside network.subnet ${c.network!.subnet}` });
    }
    for (const other of ranges.slice(0, i)) {
      if (other.range && range.first < other.range.first + other.range.size && other.range.first < range.first + range.size) {
        issues.push({ path: ["workstations", name, "addresses"], message: `overlaps workstation '${other.name}'s addresses: give each workstation its own range` });
      }
    }
  });
  // Fixed addresses: in the subnet, where Docker hands out none, and each its own.
  const fixed: [(string | number)[], string | undefined][] = [
    [["network", "controllerAddress"], c.network.controllerAddress],
    [["backupRepository", "address"], c.backupRepository?.address],
    [["monitoring", "logs", "address"], c.monitoring?.logs?.address],
  ];
  fixed.forEach(([path, text], i) => {
    const address = text === undefined ? undefined : ipv4Number(text);
    if (address === undefined) return;
    const owner = ranges.find(({ range }) => range && address >= range.first && address < range.first + range.size);
    const taken = fixed.slice(0, i).find(([, other]) => other === text);
    if (!inSubnet(address)) issues.push({ path, message: `is not inside network.subnet ${c.network!.subnet}` });
    else if (owner) issues.push({ path, message: `is inside workstation '${owner.name}'s addresses, which Docker hands out: take one outside every workstation's range` });
    else if ([subnet.first, subnet.first + subnet.size - 1, ipv4Number(lanGateway(c.network!))].includes(address)) {
      issues.push({ path, message: "is the subnet's network, broadcast or gateway address: take another" });
    } else if (taken) issues.push({ path, message: `is ${taken[0].join(".")} already: take another` });
  });
  if (c.monitoring?.logs && !c.monitoring.logs.address) {
    issues.push({ path: ["monitoring", "logs", "address"], message: "must be set on several workstations: the log store's fixed address on the LAN, where the other workstations' engines send their containers' output (in network.subnet, outside every workstation's addresses)" });
  }
  if (c.backupRepository?.workstation && c.backupRepository.workstation === c.controller.workstation) {
    issues.push({ path: ["backupRepository", "workstation"], message: `is the controller's workstation, where PostgreSQL's data is: backups there are lost with it; name another of ${names.join(", ")}, or remove hyperscaler:backupRepository to keep them beside the data` });
  }
  return issues;
}

/** The workstation a node group runs on: its own, else the controller's (undefined on one engine). */
export function groupWorkstation(c: Pick<Placement, "controller" | "nodeGroups">, group: string): string | undefined {
  return c.nodeGroups[group].workstation ?? c.controller.workstation;
}

/** The engine of the controller (and of PostgreSQL, monitoring, accounting): the stack's docker provider's `host`. */
export function platformDockerHost(c: Pick<Placement, "dockerHost" | "workstations" | "controller">): string | undefined {
  return c.workstations && c.controller.workstation ? c.workstations[c.controller.workstation]?.dockerHost : c.dockerHost;
}
