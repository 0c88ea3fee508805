import { configFrom } from "../support/config";
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseStackConfig } from "../../components/config";
import { parse as parseYaml } from "yaml";
import { REPO } from "../support/run";

function problems(all: Record<string, string>): string[] {
  try {
    parseStackConfig(all);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("parseStackConfig", () => {
  it("applies schema defaults and decodes Pulumi's string values", () => {
    const c = parseStackConfig({ "hyperscaler:clusterName": "dev", "hyperscaler:protect": "true", "other:key": "x",
      "hyperscaler:nodeGroups": '{"cpu":{"count":2}}' });
    expect(c).toEqual({
      clusterName: "dev", baseImage: "hyperscaler/debian-base:trixie", protect: true, requireRealPassphrase: false,
      controller: { cpus: 1, memoryMiB: 1024 },
      nodeGroups: { cpu: { count: 2, cpus: 1, memoryMiB: 512, features: [] } },
      overcommit: { cpu: 1, memory: 1 },
      slurm: { slurmctldPort: 6817, slurmdPort: 6818, maxNodeCount: 1024, tuning: "default", slurmdTimeoutSec: 300 },
      rotation: { mungeKeyEpoch: 0, postgresPasswordEpochs: {}, accountingPasswordEpoch: 0, caEpoch: 0, certificatesEpoch: 0, pitrKeyEpoch: 0, prometheusPasswordEpoch: 0 },
      tls: { certificateDays: 90, renewBeforeDays: 30, caDays: 3650 },
    });
  });

  it("reads a fraction that `pulumi config set --path` stored as a string, and names a value that is no number", () => {
    const base = { "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":2}}' };
    const c = parseStackConfig({ ...base, "hyperscaler:tls": '{"certificateDays":"1","renewBeforeDays":"0.5"}', "hyperscaler:overcommit": '{"cpu":"1.5"}' });
    expect(c.tls).toEqual({ certificateDays: 1, renewBeforeDays: 0.5, caDays: 3650 });
    expect(c.overcommit.cpu).toBe(1.5);
    expect(problems({ ...base, "hyperscaler:tls": '{"renewBeforeDays":"soon"}' })[0])
      .toMatch(/^hyperscaler:tls\.renewBeforeDays: .*number.*\(given: "soon"\); fix with: pulumi config set --path 'hyperscaler:tls\.renewBeforeDays'/);
    expect(problems({ ...base, "hyperscaler:tls": '{"certificateDays":30,"renewBeforeDays":30}' })[0]).toMatch(/^hyperscaler:tls\.renewBeforeDays: must be below certificateDays/);
  });

  it("names an unknown key and lists the known ones (a typo in Pulumi.<stack>.yaml)", () => {
    const p = problems({ "hyperscaler:clusterName": "dev", "hyperscaler:clusterNmae": "x", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}' });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/unknown key 'clusterNmae'/);
    expect(p[0]).toMatch(/known keys: accounting, backupRepository, baseImage, buildWorkstation, clusterName, controller, dockerHost, monitoring, network, nodeGroups/);
  });

  it("reports every problem at once, each with its path, the value given and the fix", () => {
    const p = problems({ "hyperscaler:clusterName": "Dev_1", "hyperscaler:protect": "yes", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}' });
    expect(p).toHaveLength(2);
    expect(p.join("\n")).toMatch(/hyperscaler:clusterName: must be a lowercase DNS label .*given: "Dev_1".*pulumi config set hyperscaler:clusterName/);
    expect(p.join("\n")).toMatch(/hyperscaler:protect: .*given: "yes"/);
  });

  it("gives the fix of a nested value as pulumi takes it: --path, quoted, indexes in brackets", () => {
    expect(problems({ "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":0}}' })[0])
      .toMatch(/fix with: pulumi config set --path 'hyperscaler:nodeGroups\.cpu\.count' <value>$/);
    expect(problems({ "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1,"features":["ok","Bad feature"]}}' }).join("\n"))
      .toMatch(/pulumi config set --path 'hyperscaler:nodeGroups\.cpu\.features\[1\]' <value>/);
  });

  it("requires the cluster name", () => {
    expect(problems({})[0]).toMatch(/^hyperscaler:clusterName: .*given: nothing/);
  });

  it("accepts the committed dev and prod stack files", () => {
    for (const stack of ["dev", "prod"]) {
      const { config } = parseYaml(fs.readFileSync(path.join(REPO, `Pulumi.${stack}.yaml`), "utf8"));
      // Pulumi hands objects, numbers and booleans to the program JSON-encoded.
      const all = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
      expect(parseStackConfig(all).clusterName).toBe(stack);
    }
  });

  it("uses the base image name that scripts/setup.sh builds", () => {
    const paths = fs.readFileSync(path.join(REPO, "scripts/lib/paths.sh"), "utf8");
    const suite = /HYPERSCALER_DEBIAN_SUITE=(\w+)/.exec(paths)?.[1];
    const built = /HYPERSCALER_BASE_IMAGE="([^"]+)"/.exec(paths)?.[1]?.replace("$HYPERSCALER_DEBIAN_SUITE", suite ?? "");
    expect(parseStackConfig({ "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}' }).baseImage).toBe(built);
  });
});

describe("cluster config rules", () => {
  const base = { clusterName: "dev", nodeGroups: { cpu: { count: 2 } } };
  const problemsOf = (values: Record<string, unknown>) =>
    problems(Object.fromEntries(Object.entries(values).map(([k, v]) => [`hyperscaler:${k}`, typeof v === "string" ? v : JSON.stringify(v)])));

  it.each([
    ["a negative count", { cpu: { count: -1 } }, /nodeGroups\.cpu\.count: must be at least 1 node .*given: -1/],
    ["a zero count", { cpu: { count: 0 } }, /nodeGroups\.cpu\.count: must be at least 1 node \(remove the group to have none\).*given: 0/],
    ["a non-integer count", { cpu: { count: 1.5 } }, /nodeGroups\.cpu\.count: must be a whole number of nodes .*given: 1.5/],
    ["CPUs below one", { cpu: { count: 1, cpus: 0 } }, /nodeGroups\.cpu\.cpus: must be at least 1 CPUs .*given: 0/],
    ["memory below what slurmd needs", { cpu: { count: 1, memoryMiB: 64 } }, /nodeGroups\.cpu\.memoryMiB: must be at least 256 MiB .*given: 64/],
    ["GPUs without a GRES type", { gpu: { count: 1, gpus: { count: 2 } } }, /nodeGroups\.gpu\.gpus\.type: GPUs need a GRES type/],
    ["GPU devices that do not match the GPU count", { gpu: { count: 1, gpus: { count: 2, type: "a100", hostDevices: ["/dev/nvidia0"] } } }, /nodeGroups\.gpu\.gpus\.hostDevices: lists 1 devices for 2 GPUs/],
    ["GPU numbers repeated", { gpu: { count: 1, gpus: { count: 2, type: "a100", ids: [1, 1] } } }, /nodeGroups\.gpu\.gpus\.ids: lists 1, 1 for 2 GPUs; give 2 different GPU numbers/],
    ["a negative GPU number", { gpu: { count: 1, gpus: { count: 1, type: "a100", ids: [-1] } } }, /nodeGroups\.gpu\.gpus\.ids\.0: must be a GPU number \(N of \/dev\/nvidiaN\)/],
    ["an unknown GPU access", { gpu: { count: 1, gpus: { count: 1, type: "a100", access: "nvidia" } } }, /nodeGroups\.gpu\.gpus\.access: .*"devices".*"toolkit".*"cdi"/],
    ["driver files with the toolkit", { gpu: { count: 1, gpus: { count: 1, type: "a100", access: "toolkit", driverFiles: ["/usr/bin/nvidia-smi"] } } },
      /nodeGroups\.gpu\.gpus\.driverFiles: is for access: devices; with access: toolkit the toolkit brings the devices and driver files/],
    ["a control device seen outside /dev", { gpu: { count: 1, gpus: { count: 1, type: "a100", controlDevices: ["/dev/nvidiactl:/tmp/ctl"] } } },
      /nodeGroups\.gpu\.gpus\.controlDevices\.0: must be a device path under \/dev, or HOST:NODE with NODE under \/dev/],
    ["a relative driver file", { gpu: { count: 1, gpus: { count: 1, type: "a100", driverFiles: ["libcuda.so.1"] } } }, /nodeGroups\.gpu\.gpus\.driverFiles\.0: must be an absolute path, or HOST:NODE/],
    ["an invalid group (host) name", { "Cpu_1": { count: 1 } }, /hyperscaler:nodeGroups\.Cpu_1: .*not end in a digit/],
    ["a group name ending in a digit (hostnames would collide)", { cpu1: { count: 1 } }, /nodeGroups\.cpu1: .*not end in a digit/],
    ["a typo inside a group", { cpu: { count: 1, cpu: 2 } }, /hyperscaler:nodeGroups\.cpu: unknown key 'cpu'/],
  ])("rejects %s, naming its path", (_what, nodeGroups, message) => {
    expect(problemsOf({ ...base, nodeGroups }).join("\n")).toMatch(message);
  });

  it("rejects partitions that name unknown node groups", () => {
    const p = problemsOf({ ...base, partitions: { batch: { nodeGroups: ["cpu", "gpu"], default: true } } });
    expect(p.join("\n")).toMatch(/hyperscaler:partitions\.batch\.nodeGroups\.1: names unknown node group 'gpu' \(defined: cpu\)/);
  });

  it("keeps the maintenance partition's name for the cluster's own job steps", () => {
    const p = problemsOf({ ...base, partitions: { hyperscaler: { nodeGroups: ["cpu"], default: true } } });
    expect(p.join("\n")).toMatch(/hyperscaler:partitions\.hyperscaler: 'hyperscaler' is the cluster's own hidden maintenance partition; give yours another name/);
  });

  it("requires exactly one default partition", () => {
    const p = problemsOf({ ...base, partitions: { a: { nodeGroups: ["cpu"] }, b: { nodeGroups: ["cpu"] } } });
    expect(p.join("\n")).toMatch(/hyperscaler:partitions: exactly one partition must have default: true \(found none\)/);
  });

  it("reports several problems in one run", () => {
    const p = problemsOf({ clusterName: "X", nodeGroups: { cpu: { count: -1, cpus: 0 } }, rotation: { mungeKeyEpoch: -1 } });
    expect(p.length).toBeGreaterThanOrEqual(4);
  });

  it("requires maxNodeCount to cover the nodes", () => {
    expect(problemsOf({ ...base, slurm: { maxNodeCount: 1 } }).join("\n")).toMatch(/hyperscaler:slurm\.maxNodeCount: is below the 2 compute nodes/);
  });

  it("rejects a password epoch for a role that does not exist, and an application role named like the superuser", () => {
    const p = problemsOf({ ...base, postgres: { roles: { postgres: { database: "x" } } }, rotation: { postgresPasswordEpochs: { grafana: 1 } } }).join("\n");
    expect(p).toMatch(/hyperscaler:postgres\.roles\.postgres: is the superuser/);
    expect(p).toMatch(/hyperscaler:rotation\.postgresPasswordEpochs\.grafana: names no PostgreSQL role \(roles: postgres\)/);
  });

  it("rejects an application that names an unknown role, a relative file or a bad owner, and defaults to pgpass", () => {
    const p = problemsOf({ ...base, postgres: { roles: { app: { database: "appdb" } },
      applications: { web: { container: "web", role: "nope", file: "run/pgpass", owner: "a:b:c" } } } }).join("\n");
    expect(p).toMatch(/hyperscaler:postgres\.applications\.web\.role: names no application role 'nope' \(roles: app\)/);
    expect(p).toMatch(/hyperscaler:postgres\.applications\.web\.file: must be an absolute path/);
    expect(p).toMatch(/hyperscaler:postgres\.applications\.web\.owner: must be user or user:group/);
    const ok = configFrom({ ...base, postgres: { roles: { app: { database: "appdb" } }, applications: { web: { container: "web", role: "app", file: "/run/pgpass" } } } });
    expect(ok.postgres?.applications.web).toEqual({ container: "web", role: "app", file: "/run/pgpass", format: "pgpass" });
    // The CA file: only a stack with workstations has a CA.
    const caFile = (workstations: object) => problemsOf({ ...base, ...workstations, postgres: { roles: { app: { database: "appdb" } },
      applications: { web: { container: "web", role: "app", file: "/run/pgpass", caFile: "/run/ca.pem" } } } }).join("\n");
    expect(caFile({})).toMatch(/hyperscaler:postgres\.applications\.web\.caFile: needs the stack's CA, which only stacks with hyperscaler:workstations have/);
  });

  it.each(["postgres:17", "postgres:latest", "postgres:16.4-trixie", "postgres:17.6-alpine", "mypostgres:15.8"])("rejects %s as the official PostgreSQL image", (image) => {
    expect(problemsOf({ ...base, postgres: { image } }).join("\n")).toMatch(/hyperscaler:postgres\.image: must be the official image pinned to a PostgreSQL 17 release/);
  });

  it("accepts the official PostgreSQL image pinned by release, with or without its digest", () => {
    for (const image of ["postgres:17.6-trixie", "postgres:17.10", `docker.io/library/postgres:17.6-trixie@sha256:${"a".repeat(64)}`]) {
      expect(configFrom({ ...base, postgres: { image } }).postgres?.image).toBe(image);
    }
  });

  it.each([
    ["an unknown parent account", { accounts: { physics: { parent: "science" } } }, /accounting\.accounts\.physics\.parent: names unknown account 'science' \(defined: root, physics\)/],
    ["a QOS name with spaces", { qos: { "long jobs": {} } }, /accounting\.qos\.long jobs: .*no spaces/],
    ["a limit below zero", { qos: { short: { maxJobsPerUser: -1 } } }, /accounting\.qos\.short\.maxJobsPerUser: must be 0 or more jobs \(leave it out for no limit\).*given: -1/],
    ["an account in a loop of parents", { accounts: { a: { parent: "b" }, b: { parent: "a" } } }, /accounting\.accounts\.a\.parent: makes a loop \(a -> b -> a\)/],
    ["an account given an unknown QOS", { accounts: { a: { qos: ["fast"] } } }, /accounting\.accounts\.a\.qos\.0: names unknown QOS 'fast' \(defined: normal\)/],
    ["a default QOS the account may not use", { qos: { short: {} }, accounts: { a: { qos: ["short"], defaultQos: "normal" } } }, /accounting\.accounts\.a\.defaultQos: 'normal' is not among the account's qos \(short\)/],
    ["a user in an unknown account", { users: { alice: { accounts: ["physics"] } } }, /accounting\.users\.alice\.accounts\.0: names unknown account 'physics' \(defined: none; add one under accounting\.accounts\)/],
    ["a capitalised account (sacctmgr would keep another name)", { accounts: { Physics: {} } }, /accounting\.accounts\.Physics: the name 'Physics' must be an account name SLURM keeps as given/],
    ["SLURM's own root account", { accounts: { root: {} } }, /accounting\.accounts\.root: is SLURM's own top account/],
  ])("refuses accounting config with %s, naming the path", (_what, accounting, message) => {
    expect(problemsOf({ ...base, accounting }).join("\n")).toMatch(message);
  });

  it("accepts a nested account tree with QOS, users and limits, with SLURM's defaults filled in", () => {
    const c = configFrom({ ...base, accounting: { qos: { short: { maxJobsPerUser: 0 } },
      accounts: { science: {}, physics: { parent: "science", qos: ["short", "normal"] } }, users: { alice: { accounts: ["physics", "science"] } } } });
    expect(c.accounting!.accounts.physics).toMatchObject({ parent: "science", fairshare: 1 });
    expect(c.accounting!.users.alice).toEqual({ accounts: ["physics", "science"], adminLevel: "none" });
    expect(c.rotation.accountingPasswordEpoch).toBe(0);
  });

  it("rejects a published PostgreSQL port below 1024 and an invalid database name", () => {
    const p = problemsOf({ ...base, postgres: { publishPort: 80, roles: { app: { database: "App-DB" } } } }).join("\n");
    expect(p).toMatch(/hyperscaler:postgres\.publishPort: must be 1024 or above/);
    expect(p).toMatch(/hyperscaler:postgres\.roles\.app\.database: must be a lowercase PostgreSQL name/);
  });

  it("rejects monitoring thresholds whose warning is not below critical, or out of range, naming the path", () => {
    const p = problemsOf({ ...base, monitoring: { thresholds: { cpuPercent: { warning: 95, critical: 90 }, diskPercent: { warning: 70, critical: 120 } } } }).join("\n");
    expect(p).toMatch(/hyperscaler:monitoring\.thresholds\.cpuPercent\.warning: warning must be below critical/);
    expect(p).toMatch(/hyperscaler:monitoring\.thresholds\.diskPercent\.critical: must be at most 100 percent/);
  });

  it("rejects an unpinned Grafana image and a web UI port below 1024", () => {
    const p = problemsOf({ ...base, monitoring: { grafana: { image: "grafana/grafana:latest" }, prometheus: { port: 80 } } }).join("\n");
    expect(p).toMatch(/hyperscaler:monitoring\.grafana\.image: must be pinned/);
    expect(p).toMatch(/hyperscaler:monitoring\.prometheus\.port: must be 1024 or above \(or false: not published\)/);
  });

  it("accepts a password epoch for Grafana's role when Grafana keeps its store in PostgreSQL", () => {
    const values = { ...base, postgres: {}, monitoring: { grafana: { image: "grafana/grafana-oss:11.3.0" } }, rotation: { postgresPasswordEpochs: { grafana: 2 } } };
    expect(configFrom(values).rotation.postgresPasswordEpochs).toEqual({ grafana: 2 });
    expect(problemsOf({ ...values, monitoring: {} }).join("\n")).toMatch(/postgresPasswordEpochs\.grafana: names no PostgreSQL role/);
  });

  describe("several workstations", () => {
    const base = {
      "hyperscaler:clusterName": "lab",
      "hyperscaler:workstations": JSON.stringify({
        main: { dockerHost: "unix:///var/run/docker.sock", interface: "eth0", addresses: "192.168.1.64/27" },
        gpu: { dockerHost: "ssh://ops@gpu1", interface: "enp3s0", addresses: "192.168.1.96/27" },
      }),
      "hyperscaler:network": JSON.stringify({ subnet: "192.168.1.0/24", controllerAddress: "192.168.1.10" }),
      "hyperscaler:controller": JSON.stringify({ workstation: "main" }),
      "hyperscaler:nodeGroups": JSON.stringify({ cpu: { count: 2 }, gpu: { count: 1, workstation: "gpu" } }),
    };
    const withJson = (key: string, value: unknown) => ({ ...base, [`hyperscaler:${key}`]: JSON.stringify(value) });

    it("accepts workstations with a LAN, the controller and each group placed", () => {
      const c = parseStackConfig(base);
      expect(c.workstations?.gpu).toEqual({ dockerHost: "ssh://ops@gpu1", interface: "enp3s0", addresses: "192.168.1.96/27" });
      expect(c.nodeGroups.gpu.workstation).toBe("gpu");
    });

    it("refuses contradictions by path, each with the fix", () => {
      expect(problems({ ...base, "hyperscaler:dockerHost": "ssh://ops@x" })).toEqual([expect.stringMatching(/^hyperscaler:dockerHost: is for a cluster on one engine; .*remove hyperscaler:dockerHost/)]);
      expect(problems(withJson("controller", {}))).toEqual([expect.stringMatching(/^hyperscaler:controller\.workstation: must name the workstation the controller .* one of main, gpu/)]);
      expect(problems(withJson("nodeGroups", { cpu: { count: 1, workstation: "gpu2" } }))).toEqual([expect.stringMatching(/^hyperscaler:nodeGroups\.cpu\.workstation: names unknown workstation 'gpu2' \(defined: main, gpu\)/)]);
      expect(problems({ ...base, "hyperscaler:buildWorkstation": "gpu2" })).toEqual([expect.stringMatching(/^hyperscaler:buildWorkstation: names unknown workstation 'gpu2' \(defined: main, gpu\)/)]);
      expect(parseStackConfig({ ...base, "hyperscaler:buildWorkstation": "gpu" }).buildWorkstation).toBe("gpu");
      const { ["hyperscaler:network"]: _, ...noNetwork } = base;
      expect(problems(noNetwork)).toEqual([expect.stringMatching(/^hyperscaler:network: must give the LAN the workstations share/)]);
    });

    it("refuses addresses outside the subnet, overlapping, or a controller address Docker could hand out", () => {
      const ws = (gpuAddresses: string) => ({
        main: { dockerHost: "unix:///var/run/docker.sock", interface: "eth0", addresses: "192.168.1.64/27" },
        gpu: { dockerHost: "ssh://ops@gpu1", interface: "enp3s0", addresses: gpuAddresses },
      });
      expect(problems(withJson("workstations", ws("192.168.2.0/27")))).toEqual([expect.stringMatching(/^hyperscaler:workstations\.gpu\.addresses: is not inside network\.subnet 192\.168\.1\.0\/24/)]);
      expect(problems(withJson("workstations", ws("192.168.1.64/26")))).toEqual([expect.stringMatching(/^hyperscaler:workstations\.gpu\.addresses: overlaps workstation 'main'/)]);
      expect(problems(withJson("workstations", ws("192.168.0.0/21")))).toEqual(expect.arrayContaining([expect.stringMatching(/^hyperscaler:workstations\.gpu\.addresses: is 2048 addresses; at most 1024/)]));
      expect(problems(withJson("workstations", ws("192.168.1.70/27")))).toEqual([expect.stringMatching(/^hyperscaler:workstations\.gpu\.addresses: must be an IPv4 network in CIDR form, its first address/)]);
      expect(problems(withJson("network", { subnet: "192.168.1.0/24", controllerAddress: "192.168.1.70" }))).toEqual([expect.stringMatching(/controllerAddress: is inside workstation 'main's addresses, which Docker hands out/)]);
      expect(problems(withJson("network", { subnet: "192.168.1.0/24", controllerAddress: "192.168.1.1" }))).toEqual([expect.stringMatching(/controllerAddress: is the subnet's network, broadcast or gateway address/)]);
      expect(problems(withJson("network", { subnet: "192.168.1.0/24", controllerAddress: "10.0.0.1" }))).toEqual([expect.stringMatching(/controllerAddress: is not inside network\.subnet/)]);
    });

    it("takes the log store with its LAN front at a free address, and names the field where it is missing or taken", () => {
      const logs = (l: object) => withJson("monitoring", { logs: l });
      expect(parseStackConfig(logs({ address: "192.168.1.30" })).monitoring?.logs).toEqual({ port: 9428, address: "192.168.1.30", retentionDays: 7, maxDiskGiB: 10, memoryMiB: 512 });
      expect(problems(logs({}))).toEqual([expect.stringMatching(/^hyperscaler:monitoring\.logs\.address: must be set on several workstations: the log store's fixed address on the LAN/)]);
      expect(problems(logs({ address: "192.168.1.10" }))).toEqual([expect.stringMatching(/^hyperscaler:monitoring\.logs\.address: is network\.controllerAddress already: take another/)]);
      expect(problems(logs({ address: "192.168.1.100" }))).toEqual([expect.stringMatching(/^hyperscaler:monitoring\.logs\.address: is inside workstation 'gpu's addresses/)]);
      expect(problems(logs({ address: "192.168.1.30", port: false }))).toEqual([expect.stringMatching(/^hyperscaler:monitoring\.logs\.port: /)]);
      expect(problems({ "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}', "hyperscaler:monitoring": '{"logs":{"address":"192.168.1.30"}}' }))
        .toEqual([expect.stringMatching(/^hyperscaler:monitoring\.logs\.address: is for a cluster on several workstations/)]);
    });

    it("takes the dashboard server with its defaults, and names the field of a bad size or port", () => {
      const dashboards = (d: object) => ({ "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}', "hyperscaler:monitoring": JSON.stringify({ dashboards: d }) });
      expect(parseStackConfig(dashboards({})).monitoring?.dashboards).toEqual({ port: 8080, memoryMiB: 256 });
      expect(parseStackConfig(dashboards({ port: false })).monitoring?.dashboards).toEqual({ port: false, memoryMiB: 256 });
      expect(problems(dashboards({ memoryMiB: 64 }))).toEqual([expect.stringMatching(/^hyperscaler:monitoring\.dashboards\.memoryMiB: /)]);
      expect(problems(dashboards({ port: 80 }))).toEqual([expect.stringMatching(/^hyperscaler:monitoring\.dashboards\.port: must be 1024 or above/)]);
      expect(problems(dashboards({ theme: "dark" }))).toEqual([expect.stringMatching(/^hyperscaler:monitoring\.dashboards: .*theme/)]);
    });

    it("takes a backup repository on another workstation at a free address, and refuses one beside the data or where Docker hands out addresses", () => {
      const postgres = { "hyperscaler:postgres": JSON.stringify({ roles: { app: { database: "appdb" } } }) };
      const repo = (r: unknown) => ({ ...withJson("backupRepository", r), ...postgres });
      expect(parseStackConfig(repo({ workstation: "gpu", address: "192.168.1.20" })).backupRepository).toEqual({ workstation: "gpu", address: "192.168.1.20", memoryMiB: 256, shipIntervalMin: 15, keepDays: 7 });
      expect(problems(repo({ workstation: "main", address: "192.168.1.20" }))).toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.workstation: is the controller's workstation, where PostgreSQL's data is: .* name another of main, gpu, or remove hyperscaler:backupRepository/)]);
      expect(problems(repo({ workstation: "gpu2", address: "192.168.1.20" }))).toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.workstation: names unknown workstation 'gpu2'/)]);
      expect(problems(repo({ workstation: "gpu", address: "192.168.1.100" }))).toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.address: is inside workstation 'gpu's addresses, which Docker hands out/)]);
      expect(problems(repo({ workstation: "gpu", address: "192.168.1.10" }))).toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.address: is network\.controllerAddress already: take another/)]);
      expect(problems(repo({ workstation: "gpu", address: "10.1.1.1" }))).toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.address: is not inside network\.subnet/)]);
      expect(problems(withJson("backupRepository", { workstation: "gpu", address: "192.168.1.20" }))).toEqual([expect.stringMatching(/^hyperscaler:backupRepository: holds PostgreSQL's backups, and the stack has no hyperscaler:postgres/)]);
      expect(problems({ "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}', ...postgres, "hyperscaler:backupRepository": '{"workstation":"gpu","address":"192.168.1.20"}' }))
        .toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.workstation: names workstation 'gpu' but hyperscaler:workstations defines none/)]);
    });

    it("takes an S3 bucket instead of a repository container, on one engine too, and never prints its key pair", () => {
      const postgres = { "hyperscaler:postgres": JSON.stringify({ roles: { app: { database: "appdb" } } }) };
      const oneEngine = { "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}', ...postgres };
      const keys = { accessKeyId: "AKIAEXAMPLEID", secretAccessKey: "wJalr/EXAMPLE+KEY" };
      const s3 = (more: Record<string, unknown>, also: Record<string, unknown> = {}) =>
        ({ ...oneEngine, "hyperscaler:backupRepository": JSON.stringify({ s3: { endpoint: "192.168.1.5:9000", bucket: "hpc-backups", uriStyle: "path", ...keys, ...more }, ...also }) });
      expect(parseStackConfig(s3({ uriStyle: "path" })).backupRepository).toEqual({ memoryMiB: 256, shipIntervalMin: 15, keepDays: 7,
        s3: { endpoint: "192.168.1.5:9000", bucket: "hpc-backups", region: "us-east-1", uriStyle: "path", ...keys } });
      expect(problems(s3({}, { workstation: "gpu", address: "192.168.1.20" })))
        .toContainEqual(expect.stringMatching(/^hyperscaler:backupRepository\.workstation: is for a repository container; with s3 the backups go to the bucket/));
      expect(problems({ ...oneEngine, "hyperscaler:backupRepository": '{"keepDays":3}' }))
        .toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.workstation: must be set: .* \(workstation and address\) or an S3 bucket \(s3\)/)]);
      expect(problems(s3({ uriStyle: undefined }))).toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.s3\.uriStyle: must be path for an endpoint given by address \(192\.168\.1\.5:9000\)/)]);
      expect(parseStackConfig(s3({ endpoint: "s3.example.com", uriStyle: undefined })).backupRepository?.s3?.uriStyle).toBe("host");
      const bad = problems(s3({ endpoint: "https://s3.example.com", bucket: "Backups", uriStyle: "virtual" }));
      expect(bad).toEqual([
        expect.stringMatching(/^hyperscaler:backupRepository\.s3\.endpoint: must be a host name .*no scheme.*given: "https:\/\/s3\.example\.com"/),
        expect.stringMatching(/^hyperscaler:backupRepository\.s3\.bucket: must be an S3 bucket name/),
        expect.stringMatching(/^hyperscaler:backupRepository\.s3\.uriStyle: /),
      ]);
      // Where an error shows the whole object, or a key itself, its value is masked: set
      // with --secret the whole key is, set in plain text (refused later) the key pair is.
      const noPostgres = { "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}', "hyperscaler:backupRepository": s3({})["hyperscaler:backupRepository"] };
      const plain = problems(noPostgres).join("\n");
      expect(plain).toMatch(/^hyperscaler:backupRepository: holds PostgreSQL's backups, and the stack has no hyperscaler:postgres.*"accessKeyId":"\[secret\]"/);
      expect(plain).toContain("hpc-backups");
      let secretKey = "";
      try { parseStackConfig(noPostgres, (k) => k === "hyperscaler:backupRepository"); } catch (e) { secretKey = (e as ConfigError).problems.join("\n"); }
      expect(secretKey).toMatch(/given: \[secret\]/);
      expect(problems(s3({ secretAccessKey: "" })).join("\n")).toMatch(/s3\.secretAccessKey: must be the S3 secret access key, set with --secret \(given: \[secret\]\); fix with: pulumi config set --secret --path 'hyperscaler:backupRepository\.s3\.secretAccessKey' <value>/);
      for (const text of [plain, secretKey]) for (const v of Object.values(keys)) expect(text).not.toContain(v);
    });

    it("refuses placement without workstations", () => {
      expect(problems({ "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1,"workstation":"gpu"}}' }))
        .toEqual([expect.stringMatching(/^hyperscaler:nodeGroups\.cpu\.workstation: names workstation 'gpu' but hyperscaler:workstations defines none/)]);
    });
  });
});
