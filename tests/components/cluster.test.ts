import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as preflight from "../../components/cluster/preflight";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { devValues, mixedValues, workstationsValues } from "../support/config";
import { buildMocked, commandLine, MOCK_SECRET, mockedCluster, Registered } from "../support/mocks";
import { REPO } from "../support/run";

// Component graphs under Pulumi mocks: names, parents, hardening and secrecy, checked
// without an engine. Real deployments are in tests/e2e.
let cluster: typeof import("../../components/cluster");
beforeAll(async () => {
  cluster = await mockedCluster();
});
const build = (values: Record<string, unknown>, more?: Parameters<typeof buildMocked>[2]) => buildMocked(cluster, values, more);
const CONTAINER = "docker:index/container:Container";
const isContainer = (r: Registered) => r.type === CONTAINER;
const SLURM_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"];
const outputOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
const isSecret = (o: unknown) => (o as { isSecret: Promise<boolean> }).isSecret;
const stackValues = (stack: string) => {
  const config = parse(fs.readFileSync(path.join(REPO, `Pulumi.${stack}.yaml`), "utf8")).config as Record<string, unknown>;
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^hyperscaler:/, ""), v]));
};

describe("HyperscalerCluster under mocks", () => {
  it.each(["dev", "prod", "workstations"])("keeps the URN contract of the %s stack (sorted type and name list)", (stack) => {
    const { registered } = build(stack === "workstations" ? workstationsValues : stackValues(stack));
    const urns = registered.map((r) => `${r.type} ${r.name} <- ${r.parent ?? "(stack)"}`).sort().join("\n") + "\n";
    const golden = path.join(__dirname, "golden", `${stack}.urns.txt`);
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, urns);
    expect(urns).toBe(fs.readFileSync(golden, "utf8"));
  });

  it("names children after hostnames, so adding a node adds names and changes none", () => {
    const names = (count: number) => new Set(build({ ...devValues, nodeGroups: { cpu: { count } } }).registered.map((r) => r.name));
    const two = names(2);
    const three = names(3);
    expect([...two].filter((n) => !three.has(n))).toEqual([]);
    expect([...three].filter((n) => !two.has(n)).sort()).toEqual(
      ["dev-cpu003", "dev-cpu003-membership"]);
  });

  it("gives the slurm configs to the controller only: compute nodes fetch them from slurmctld", async () => {
    const { registered } = build(devValues);
    const configs = registered.filter((r) => /\.conf$/.test(r.name)).map((r) => r.name).sort();
    expect(configs).toEqual(["dev-controller-cgroup.conf", "dev-controller-gres.conf", "dev-controller-slurm.conf"]);
    const cpu001 = registered.find((r) => r.name === "dev-cpu001" && isContainer(r))!;
    expect(await outputOf(pulumi.all(cpu001.props.envs as pulumi.Input<string>[]))).toContain("HYPERSCALER_CONF_SERVER=controller:6817");
  });

  it("parents every resource inside the cluster component", () => {
    const { registered } = build(devValues);
    const orphans = registered.filter((r) => r.type !== "hyperscaler:cluster:HyperscalerCluster" && !r.parent);
    expect(orphans.map((r) => r.name)).toEqual([]);
  });

  it("hardens every container: ALL capabilities dropped but SLURM's, no new privileges, health-checked, no ports", () => {
    const { registered } = build(mixedValues);
    const containers = registered.filter(isContainer);
    expect(containers).toHaveLength(1 + 128 + 3);
    for (const c of containers) {
      expect(c.props.capabilities).toEqual({ drops: ["ALL"], adds: SLURM_CAPS });
      expect(c.props.securityOpts).toEqual(["no-new-privileges"]);
      expect(c.props.privileged).toBeUndefined();
      expect((c.props.healthcheck as { tests: string[] }).tests[0]).toBe("CMD-SHELL");
      expect(c.props.ports).toEqual([]);
      expect(c.opts.deleteBeforeReplace).toBe(true);
    }
    const gpu = containers.find((c) => c.name === "lab-gpu001")!;
    expect(gpu.props.devices).toEqual(["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"]
      .map((d) => ({ hostPath: `/dev/${d}`, containerPath: `/dev/${d}`, permissions: "rwm" })));
  });

  it("preflight checks every port the config publishes: the dashboards' and the log store's too, none that is false", async () => {
    const { configFrom } = await import("../support/config");
    const ports = (monitoring: object) => preflight.publishedPorts(configFrom({ ...devValues, monitoring }));
    expect(ports({ dashboards: { port: 18080 }, logs: { port: 19428 }, alertmanager: { port: false } })).toEqual([
      { path: "monitoring.prometheus.port", port: 9090 },
      { path: "monitoring.dashboards.port", port: 18080 },
      { path: "monitoring.logs.port", port: 19428 },
    ]);
    expect(ports({ dashboards: { port: false } }).map((p) => p.path)).toEqual(["monitoring.prometheus.port", "monitoring.alertmanager.port"]);
  });

  it("preflight names data an older release wrote, by volume, with the upgrade guide, and passes this release's", () => {
    const { dataVersionProblems, DATA_RELEASE } = preflight;
    expect(dataVersionProblems("c", {})).toEqual([]);
    expect(dataVersionProblems("c", { slurmState: 42 << 8, postgres: DATA_RELEASE.postgres, mariadb: "11.8.3" })).toEqual([]);
    const old = dataVersionProblems("c", { slurmState: 38 << 8, postgres: 15, mariadb: "10.11.6" });
    expect(old).toHaveLength(3);
    expect(old[0]).toMatch(/^volume c-slurmctld-state: .*protocol 38\.x.*nothing was changed; move it with docs\/operations\/maintenance\.md#upgrade-a-stack-from-debian-12$/);
    expect(old[1]).toMatch(/^volume c-postgres-data: a PostgreSQL 15 data directory/);
    expect(old[2]).toMatch(/^volume c-mariadb-data: MariaDB 10\.11\.6 data/);
  });

  describe("gives GPU nodes their GPUs the way the group's access says", () => {
    const gpuNode = (gpus: Record<string, unknown>) => {
      const { registered } = build({ ...devValues, nodeGroups: { gpu: { count: 1, gpus: { count: 2, type: "h100", ...gpus } } } });
      const node = registered.filter(isContainer).find((c) => c.name === "dev-gpu001")!;
      const env = outputOf(node.props.envs as pulumi.Output<string[]>);
      return Object.assign({}, node.props, { env }) as Record<string, unknown> & { env: Promise<string[]> };
    };

    it("devices: the chosen GPUs and the driver's devices as on the host, driver files read-only, libraries on the loader's path", async () => {
      const node = gpuNode({ ids: [2, 3], controlDevices: ["/dev/nvidiactl", "/tmp/fake/uvm:/dev/nvidia-uvm"],
        driverFiles: ["/usr/lib/x86_64-linux-gnu/libcuda.so.580.1", "/opt/drv/nvidia-smi:/usr/bin/nvidia-smi", "/usr/local/nvidia/lib64/libnvidia-ml.so.1"] });
      expect(node.devices).toEqual([
        { hostPath: "/dev/nvidia2", containerPath: "/dev/nvidia2", permissions: "rwm" },
        { hostPath: "/dev/nvidia3", containerPath: "/dev/nvidia3", permissions: "rwm" },
        { hostPath: "/dev/nvidiactl", containerPath: "/dev/nvidiactl", permissions: "rwm" },
        { hostPath: "/tmp/fake/uvm", containerPath: "/dev/nvidia-uvm", permissions: "rwm" },
      ]);
      expect(node.mounts).toEqual([
        { type: "bind", source: "/usr/lib/x86_64-linux-gnu/libcuda.so.580.1", target: "/usr/lib/x86_64-linux-gnu/libcuda.so.580.1", readOnly: true },
        { type: "bind", source: "/opt/drv/nvidia-smi", target: "/usr/bin/nvidia-smi", readOnly: true },
        { type: "bind", source: "/usr/local/nvidia/lib64/libnvidia-ml.so.1", target: "/usr/local/nvidia/lib64/libnvidia-ml.so.1", readOnly: true },
      ]);
      expect(await node.env).toEqual(expect.arrayContaining(["HYPERSCALER_GPU_COUNT=2",
        "HYPERSCALER_DRIVER_LIBRARY_DIRS=/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64"]));
      expect(node.gpus).toBeUndefined();
      expect(node.deviceRequests).toBeUndefined();
    });

    it("toolkit: docker's --gpus with the chosen GPUs, compute and utility driver parts, no device files of its own", async () => {
      const node = gpuNode({ access: "toolkit", ids: [1, 0] });
      expect(node.gpus).toBe("device=1,0");
      expect(node.devices).toEqual([]);
      expect(node.mounts).toBeUndefined();
      expect(await node.env).toEqual(expect.arrayContaining(["HYPERSCALER_GPU_COUNT=2", "NVIDIA_DRIVER_CAPABILITIES=compute,utility"]));
    });

    it("cdi: preflight finds each GPU in the host's CDI specs (YAML or JSON, as nvidia-ctk writes them) or names what is missing", () => {
      const dirs = [fs.mkdtempSync(path.join(os.tmpdir(), "cdi-a-")), fs.mkdtempSync(path.join(os.tmpdir(), "cdi-b-"))];
      try {
        fs.writeFileSync(path.join(dirs[0], "nvidia.yaml"), [
          'cdiVersion: "0.6.0"', "kind: nvidia.com/gpu", "devices:",
          "  - name: \"0\"", "    containerEdits: { deviceNodes: [{ path: /dev/nvidia0 }] }",
          "  - name: all", "    containerEdits: { deviceNodes: [{ path: /dev/nvidia0 }] }",
          "containerEdits: { deviceNodes: [{ path: /dev/nvidiactl }] }"].join("\n"));
        fs.writeFileSync(path.join(dirs[1], "extra.json"), JSON.stringify({ cdiVersion: "0.6.0", kind: "nvidia.com/gpu", devices: [{ name: "1", containerEdits: {} }] }));
        expect(preflight.cdiSpecProblems(dirs, ["nvidia.com/gpu=0", "nvidia.com/gpu=1"])).toEqual([]);
        expect(preflight.cdiSpecProblems(dirs, ["nvidia.com/gpu=0", "nvidia.com/gpu=2"])).toEqual([
          `no CDI spec in ${dirs.join(" or ")} defines nvidia.com/gpu=2 (defined: nvidia.com/gpu=0, nvidia.com/gpu=1, nvidia.com/gpu=all)`]);
        fs.writeFileSync(path.join(dirs[1], "broken.yaml"), "kind: [");
        expect(preflight.cdiSpecProblems(dirs, ["nvidia.com/gpu=0"])[0]).toMatch(/^the CDI spec .*broken\.yaml does not parse/);
      } finally {
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
      }
    });

    it("cdi: a CDI device request naming each GPU", () => {
      const node = gpuNode({ access: "cdi" });
      expect(node.deviceRequests).toEqual([{ driver: "cdi", deviceIds: ["nvidia.com/gpu=0", "nvidia.com/gpu=1"] }]);
      expect(node.devices).toEqual([]);
      expect(node.gpus).toBeUndefined();
    });
  });

  it("keeps the MUNGE key secret: a RandomPassword rotated by its epoch keeper, every delivery's stdin secret, none in the manifest", async () => {
    const { c, registered } = build({ ...devValues, rotation: { mungeKeyEpoch: 3 } });
    const key = registered.find((r) => r.name === "dev-munge-key-bytes")!;
    expect(key.type).toBe("random:index/randomPassword:RandomPassword");
    expect(key.props).toMatchObject({ length: 1024, keepers: { epoch: "3" } });
    const deliveries = registered.filter((r) => /-(munge-key|membership)$/.test(r.name) && r.props.stdin !== undefined);
    expect(deliveries.map((d) => d.name).sort()).toEqual(["dev-controller-munge-key", "dev-cpu001-membership", "dev-cpu002-membership"]);
    for (const d of deliveries) {
      expect(await isSecret(d.props.stdin)).toBe(true);
      expect(d.props.logging).toBe("none");
      expect(await commandLine(d.props, "create")).not.toContain(MOCK_SECRET);
    }
    expect(await isSecret(c.manifest)).toBe(false);
    expect(JSON.stringify(await outputOf(c.manifest))).not.toContain(MOCK_SECRET);
  });

  it("drains a node before removing it: the controller runs hyperscaler-node-remove on delete", async () => {
    const { registered } = build(devValues);
    const membership = registered.find((r) => r.name === "dev-cpu001-membership")!;
    expect(await commandLine(membership.props, "delete")).toBe(`c=dev-controller; if [ "$(docker inspect --format '{{.State.Running}}' "$c" 2>/dev/null)" = true ]; then docker exec "$c" hyperscaler-node-remove cpu001 3600; fi`);
    // Deleted before the node's container and the controller's (it depends on both).
    const dependsOn = (membership.opts.dependsOn as (pulumi.Resource & { __name: string })[]).map((d) => d.__name);
    expect(dependsOn).toEqual(expect.arrayContaining(["dev-cpu001", "dev-controller"]));
    // Never replaced: a re-created container is an update (its ID in the environment), which delivers the key again.
    expect(membership.props.triggers).toBeUndefined();
    expect(Object.keys(await outputOf(pulumi.output(membership.props.environment as Record<string, string>)))).toEqual(["HYPERSCALER_CONTAINER_ID"]);
  });

  it("makes two resources of a compute node: its container and its membership", () => {
    const { registered } = build(devValues);
    expect(registered.filter((r) => r.name.startsWith("dev-cpu001")).map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      "command:local:Command dev-cpu001-membership", "docker:index/container:Container dev-cpu001"]);
  });

  it("protects the key and slurmctld's state volume in a protected stack, and only there", () => {
    for (const protect of [true, false]) {
      const { registered } = build({ ...devValues, protect });
      expect(registered.find((r) => r.name === "dev-munge-key")!.opts.protect).toBe(protect);
      expect(registered.find((r) => r.name === "dev-slurmctld-state")!.opts.protect).toBe(protect);
    }
  });

  it("keeps every PostgreSQL password secret and its data protected and retained in a protected stack", async () => {
    const { registered } = build({ ...devValues, protect: true, postgres: { roles: { app: { database: "appdb" } } } });
    const logins = registered.filter((r) => r.name.endsWith("-login"));
    expect(logins.map((l) => l.name).sort()).toEqual(["dev-postgres-app-login", "dev-postgres-postgres-login"]);
    for (const l of logins) expect(await isSecret(l.props.stdin)).toBe(true);
    const passwords = registered.filter((r) => r.name.endsWith("-password"));
    expect(passwords.map((p) => [p.type, p.props.special])).toEqual([["random:index/randomPassword:RandomPassword", false], ["random:index/randomPassword:RandomPassword", false]]);
    for (const v of ["dev-postgres-data", "dev-postgres-backups"]) {
      const volume = registered.find((r) => r.name === v)!;
      expect([volume.opts.protect, volume.opts.retainOnDelete]).toEqual([true, true]);
    }
    const pg = registered.find((r) => r.name === "dev-postgres" && isContainer(r))!;
    expect(pg.props.capabilities).toEqual({ drops: ["ALL"], adds: SLURM_CAPS });
  });

  it("archives PostgreSQL continuously into a repository per key epoch; a rotation keeps the previous repository and its key", async () => {
    const pitrOf = async (epoch: number) => {
      const { registered } = build({ ...devValues, postgres: { roles: { app: { database: "appdb" } }, pitr: { walMaxDelaySec: 30, retainFull: 3 } },
        rotation: { pitrKeyEpoch: epoch } });
      const configure = registered.find((r) => r.name === "dev-postgres-pitr")!;
      expect(await isSecret(configure.props.stdin)).toBe(true);
      // After the superuser's login: the server has been initialised.
      expect((configure.opts.dependsOn as pulumi.Resource[]).map((d) => (d as unknown as { __name: string }).__name)).toEqual(["dev-postgres-postgres-login"]);
      return {
        line: await commandLine(configure.props, "create"),
        confs: await outputOf(configure.props.stdin as pulumi.Output<string>),
        keys: registered.filter((r) => /-pitr-key-/.test(r.name)).map((r) => [r.name, r.props.length, r.props.special]),
      };
    };
    const first = await pitrOf(0);
    expect(first.line).toMatch(/hyperscaler-pg-pitr configure 30 1440 7$/);
    expect(first.keys).toEqual([["dev-postgres-pitr-key-0", 64, false]]);
    expect(first.confs).toMatch(/^\[global\]\nrepo1-path=\/backups\/pgbackrest\/key0\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=.+\nrepo1-retention-full=3\n/);
    expect(first.confs).toContain("[dev]\npg1-path=/var/lib/postgresql/data\n");
    expect(first.confs).not.toContain("#previous");
    const rotated = await pitrOf(1);
    expect(rotated.keys.map(([n]) => n)).toEqual(["dev-postgres-pitr-key-1", "dev-postgres-pitr-key-0"]);
    const [current, previous] = rotated.confs.split("#previous\n");
    expect(current).toContain("repo1-path=/backups/pgbackrest/key1\n");
    expect(previous).toContain("repo1-path=/backups/pgbackrest/key0\n");
    // Two rotations on, the oldest repository's key is gone (the image removes its files).
    expect((await pitrOf(2)).keys.map(([n]) => n)).toEqual(["dev-postgres-pitr-key-2", "dev-postgres-pitr-key-1"]);
  });

  it("hands an application its role's password as a secret, after the server has it, in the application's container", async () => {
    const { registered } = build({ ...devValues, postgres: { roles: { app: { database: "appdb" } },
      applications: { web: { container: "web", role: "app", file: "/run/pgpass", reload: ["kill", "-HUP", "1"] } } } });
    const exec = registered.find((r) => r.name === "dev-postgres-web-password-file")!;
    // No such container here: by its name, the command's last words the file, owner and reload.
    expect(await commandLine(exec.props, "create")).toMatch(/^docker exec -i web sh -c .* hyperscaler-password-file \/run\/pgpass '' kill -HUP 1$/);
    expect(await commandLine(exec.props, "delete")).toMatch(/^c=web; .*docker exec "\$c" rm -f \/run\/pgpass; fi$/);
    expect(await isSecret(exec.props.stdin)).toBe(true);
    expect(await outputOf(exec.props.stdin as pulumi.Output<string>)).toMatch(/^\*:\*:appdb:app:.+\n$/);
    expect((exec.opts.dependsOn as pulumi.Resource[]).map((d) => (d as unknown as { __name: string }).__name)).toEqual(["dev-postgres-app-login"]);
  });

  it("backs every database up before the PostgreSQL container is replaced, when the config asks", async () => {
    const pgValues = (beforeReplace: boolean) => ({ ...devValues, postgres: { roles: { app: { database: "appdb" }, ops: { database: "opsdb" } }, backup: { beforeReplace } } });
    const hook = (beforeReplace: boolean) => build(pgValues(beforeReplace)).registered.find((r) => r.name === "dev-postgres-backup-before-replace");
    expect(hook(false)).toBeUndefined();
    const h = hook(true)!;
    expect(await commandLine(h.props, "delete")).toContain(`sh -c 'hyperscaler-pg-backup appdb 24 && hyperscaler-pg-backup opsdb 24'`);
    expect(h.opts.deleteBeforeReplace).toBe(true);
  });

  it("keeps the accounting password secret, rotated by its epoch, set in MariaDB before slurmdbd gets it; entities after their parents", async () => {
    const { c, registered } = build({ ...devValues, protect: true, rotation: { accountingPasswordEpoch: 2 }, accounting: {
      qos: { short: { maxJobsPerUser: 1 } },
      accounts: { science: {}, physics: { parent: "science", qos: ["short"] } },
      users: { alice: { accounts: ["physics"] } },
    } });
    const password = registered.find((r) => r.name === "dev-accounting-password")!;
    expect([password.type, password.props.special, password.props.keepers]).toEqual(["random:index/randomPassword:RandomPassword", false, { epoch: "2" }]);
    const login = registered.find((r) => r.name === "dev-accounting-mariadb-login")!;
    const conf = registered.find((r) => r.name === "dev-accounting-slurmdbd.conf")!;
    for (const r of [login, conf]) {
      expect(await isSecret(r.props.stdin)).toBe(true);
      expect(await commandLine(r.props, "create")).not.toContain(MOCK_SECRET);
    }
    expect(await outputOf(conf.props.stdin as pulumi.Output<string>)).toContain(`StoragePass=${MOCK_SECRET}\n`);
    expect(await commandLine(conf.props, "update")).toMatch(/hyperscaler-install \/etc\/slurm\/slurmdbd.conf 0600 slurm:slurm && hyperscaler-dbd-restart'$/);
    const names = (r: Registered) => ((r.opts.dependsOn ?? []) as unknown as { __name: string }[]).map((d) => d.__name);
    expect(names(conf)).toContain("dev-accounting-mariadb-login");
    expect(names(registered.find((r) => r.name === "dev-accounting-account-physics")!)).toEqual(expect.arrayContaining(["dev-accounting-account-science", "dev-accounting-qos-short"]));
    expect(names(registered.find((r) => r.name === "dev-accounting-user-alice")!)).toContain("dev-accounting-account-physics");
    for (const v of ["dev-accounting-mariadb-data", "dev-accounting-mariadb-backups"]) {
      expect([registered.find((r) => r.name === v)!.opts.protect, registered.find((r) => r.name === v)!.opts.retainOnDelete]).toEqual([true, true]);
    }
    for (const name of ["dev-accounting-mariadb", "dev-accounting-slurmdbd"]) {
      expect(registered.find((r) => r.name === name && isContainer(r))!.props.capabilities).toEqual({ drops: ["ALL"], adds: SLURM_CAPS });
    }
    // slurmctld loads its accounting plugin at start: accounting on means a controller of its own.
    const ctl = registered.find((r) => r.name === "dev-controller" && isContainer(r))!;
    expect(await outputOf(pulumi.all(ctl.props.envs as pulumi.Input<string>[]))).toContain("HYPERSCALER_DBD=slurmdbd:6819");
    expect((await outputOf(c.manifest)).accounting).toEqual({ slurmdbd: "dev-slurmdbd", mariadb: "dev-mariadb", database: "slurm_acct_db", passwordEpoch: 2, backup: { intervalMin: 60, retain: 24 } });
    expect(JSON.stringify(await outputOf(c.manifest))).not.toContain(MOCK_SECRET);
  });

  it("refuses an accounting password epoch that goes backwards, naming the one that rotates again", async () => {
    const { configFrom } = await import("../support/config");
    const previous = { mungeKey: { epoch: 0 }, accounting: { passwordEpoch: 3 } } as unknown as Parameters<typeof preflight.epochProblems>[1];
    const at = (accountingPasswordEpoch: number) => preflight.epochProblems(configFrom({ ...devValues, rotation: { accountingPasswordEpoch } }), previous);
    expect(at(2)).toEqual(["hyperscaler:rotation.accountingPasswordEpoch went backwards (3 -> 2); epochs only grow: set it to 4 to rotate again"]);
    expect(at(3)).toEqual([]);
    // The CA's, the certificates' and Prometheus's login's epochs too (several workstations).
    const tls = { tls: { caEpoch: 2, certificatesEpoch: 1 }, monitoring: { webPasswordEpoch: 1 } } as unknown as Parameters<typeof preflight.epochProblems>[1];
    expect(preflight.epochProblems(configFrom({ ...devValues, rotation: { caEpoch: 1, certificatesEpoch: 1, prometheusPasswordEpoch: 0 } }), tls)).toEqual([
      "hyperscaler:rotation.caEpoch went backwards (2 -> 1); epochs only grow: set it to 3 to rotate again",
      "hyperscaler:rotation.prometheusPasswordEpoch went backwards (1 -> 0); epochs only grow: set it to 2 to rotate again"]);
  });

  it("scrapes every node: scaling changes only the targets file's content and the new node's own resources", () => {
    const monitored = (count: number) => build({ ...devValues, nodeGroups: { cpu: { count } }, monitoring: {} }).registered;
    const two = monitored(2);
    const three = monitored(3);
    const targets = (r: Registered[]) => JSON.parse(String(r.find((x) => x.name === "dev-monitoring-node.json")!.props.stdin));
    expect(targets(three).map((t: { labels: { node: string } }) => t.labels.node)).toEqual(["controller", "cpu001", "cpu002", "cpu003"]);
    // The Prometheus container's inputs do not depend on the node count.
    const prom = (r: Registered[]) => JSON.stringify(r.find((x) => x.name === "dev-monitoring-prometheus")!.props);
    expect(prom(three)).toBe(prom(two));
    const added = three.map((r) => r.name).filter((n) => !two.some((t) => t.name === n));
    expect(added.every((n) => n.startsWith("dev-cpu003"))).toBe(true);
  });

  it("binds Prometheus, Alertmanager and Grafana to 127.0.0.1 ports from config, and hands Grafana its database password as a secret", async () => {
    const { registered } = build({ ...devValues, postgres: {}, monitoring: { alertmanager: { port: false }, grafana: { image: "grafana/grafana-oss:11.3.0", port: 3300 } } });
    const container = (name: string) => registered.find((r) => r.name === name && isContainer(r))!;
    const local = (internal: number, external: number) => ({ internal, external, ip: "127.0.0.1", protocol: "tcp" });
    expect(container("dev-monitoring-prometheus").props.ports).toEqual([local(9090, 9090)]);
    expect(container("dev-monitoring-alertmanager").props.ports).toEqual([]);
    const grafana = container("dev-monitoring-grafana");
    expect(grafana.props.ports).toEqual([local(3000, 3300)]);
    expect(grafana.props.capabilities).toEqual({ drops: ["ALL"], adds: [] });
    expect(grafana.opts.additionalSecretOutputs).toEqual(["envs"]);
    const envs = grafana.props.envs as pulumi.Output<string>[];
    const values = await outputOf(pulumi.all(envs));
    expect(values).toContain("GF_DATABASE_USER=grafana");
    expect(await isSecret(envs[values.findIndex((e) => e.startsWith("GF_DATABASE_PASSWORD="))])).toBe(true);
    // Grafana's role is made in PostgreSQL beside the configured ones.
    expect(registered.map((r) => r.name)).toContain("dev-postgres-grafana-login");
  });

  it("the dashboard server: no capability, 127.0.0.1 only, no volume; the project, datasource and each dashboard the stack has provisioned into it, again in a new container", async () => {
    const { registered } = build({ ...devValues, postgres: {}, monitoring: { dashboards: { port: 18080 } } });
    const server = registered.find((r) => r.name === "dev-monitoring-dashboards" && isContainer(r))!;
    expect(server.props.ports).toEqual([{ internal: 8080, external: 18080, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(server.props.capabilities).toEqual({ drops: ["ALL"], adds: [] });
    expect(server.props.volumes ?? []).toEqual([]);
    const provisioned = registered.filter((r) => r.type === "command:local:Command" && /^dev-monitoring-dashboards?-(?!image)/.test(r.name));
    expect(provisioned.map((r) => r.name).sort()).toEqual([
      "dev-monitoring-dashboard-cluster-overview", "dev-monitoring-dashboard-nodes", "dev-monitoring-dashboard-postgres",
      "dev-monitoring-dashboards-datasource", "dev-monitoring-dashboards-project",
    ]);
    for (const r of provisioned) {
      // Triggered by the container's id: a new container is provisioned again.
      expect(await outputOf(pulumi.output(r.props.triggers as pulumi.Input<string>[])), r.name).toEqual(["dev-monitoring-dashboards-id"]);
      expect(await outputOf(pulumi.output(r.props.create as pulumi.Input<string>)), r.name).toContain("hyperscaler-dashboards-provision");
      expect(await outputOf(pulumi.output(r.props.delete as pulumi.Input<string>)), r.name).toContain("hyperscaler-dashboards-provision --remove");
    }
    // The panels with an alert carry its levels from the config: a new threshold is an update of that dashboard alone.
    const nodes = JSON.parse(await outputOf(pulumi.output(provisioned.find((r) => r.name === "dev-monitoring-dashboard-nodes")!.props.stdin as pulumi.Input<string>)));
    expect(nodes.spec.panels.p0.spec.plugin.spec.thresholds.steps.map((s: { value: number }) => s.value)).toEqual([70, 90]);
    const cooler = build({ ...devValues, postgres: {}, monitoring: { dashboards: { port: 18080 }, thresholds: { cpuPercent: { warning: 60 } } } }).registered;
    const stdinOf = async (list: typeof registered, name: string) => outputOf(pulumi.output(list.find((r) => r.name === name)!.props.stdin as pulumi.Input<string>));
    expect(await stdinOf(cooler, "dev-monitoring-dashboard-nodes")).not.toEqual(await stdinOf(registered, "dev-monitoring-dashboard-nodes"));
    expect(await stdinOf(cooler, "dev-monitoring-dashboard-cluster-overview")).toEqual(await stdinOf(registered, "dev-monitoring-dashboard-cluster-overview"));
    // Without monitoring.dashboards, no server.
    expect(build({ ...devValues, monitoring: {} }).registered.filter((r) => r.name.startsWith("dev-monitoring-dashboard"))).toEqual([]);
    // Several workstations: Prometheus serves TLS with a login; the datasource reaches it with
    // a Perses secret naming files (the password delivered as a secret), never holding them.
    const lan = build({ ...workstationsValues, monitoring: { dashboards: {} } }).registered;
    const datasource = JSON.parse(await stdinOf(lan, "dev-monitoring-dashboards-datasource"));
    expect(datasource.spec.plugin.spec.proxy.spec).toEqual({ url: "https://prometheus:9090", secret: "prometheus-login" });
    const secret = await stdinOf(lan, "dev-monitoring-dashboards-secret");
    expect(JSON.parse(secret).spec).toEqual({ basicAuth: { username: "admin", passwordFile: "/perses/prometheus/password" }, tlsConfig: { caFile: "/perses/prometheus/ca.pem", serverName: "prometheus" } });
    const password = lan.find((r) => r.name === "dev-monitoring-dashboards-prometheus-password")!;
    expect(await isSecret(password.props.stdin)).toBe(true);
    expect(await outputOf(pulumi.output(password.props.create as pulumi.Input<string>))).toContain("hyperscaler-install /perses/prometheus/password 0400 perses:perses");
  });

  it("on several workstations: a provider, a macvlan network and a copy of the SLURM image on each other one; nodes there on them", async () => {
    const { registered } = build(workstationsValues);
    const named = (name: string) => registered.find((r) => r.name === name)!;
    const container = (name: string) => registered.find((r) => r.name === name && isContainer(r))!;
    // Only workstations with something on them get a provider.
    expect(registered.filter((r) => r.type === "pulumi:providers:docker").map((r) => [r.name, r.props.host])).toEqual([["dev-workstation-gpu", "ssh://ops@gpu1"]]);
    const network = (name: string) => named(name).props;
    expect(network("dev-network")).toMatchObject({ driver: "macvlan", options: { parent: "eth0" }, ipamConfigs: [{ subnet: "192.168.1.0/24", ipRange: "192.168.1.64/27", gateway: "192.168.1.1" }] });
    expect(network("dev-network-gpu")).toMatchObject({ driver: "macvlan", options: { parent: "enp3s0" }, ipamConfigs: [{ subnet: "192.168.1.0/24", ipRange: "192.168.1.96/27" }] });
    expect((named("dev-network-gpu").opts.provider as unknown as { __name: string }).__name).toBe("dev-workstation-gpu");
    // The remote node's container is made by the remote provider, from the copied image.
    expect((container("dev-gpu001").opts.provider as unknown as { __name: string }).__name).toBe("dev-workstation-gpu");
    expect(container("dev-cpu001").opts.provider).toBeUndefined();
    const copy = named("dev-slurm-image-copy-gpu");
    expect(await commandLine(copy.props, "create")).toMatch(/save "\$TAG" \| docker -H "\$TO" load/);
    expect(await outputOf(pulumi.output(copy.props.environment as Record<string, string>))).toMatchObject({ TO: "ssh://ops@gpu1", TAG: "hyperscaler/slurm:dev", FROM: "unix:///var/run/docker.sock" });
    // The controller at its fixed address; nodes register theirs and find slurmctld by address.
    const ctlNet = await outputOf(pulumi.output(container("dev-controller").props.networksAdvanced as { ipv4Address?: string }[]));
    expect(ctlNet[0].ipv4Address).toBe("192.168.1.10");
    const envs = await outputOf(pulumi.output(container("dev-gpu001").props.envs as string[]));
    expect(envs).toEqual(expect.arrayContaining(["HYPERSCALER_CONF_SERVER=192.168.1.10:6817", "HYPERSCALER_REGISTER_ADDRESS=1"]));
    // Every address of the LAN has a name ahead of DNS, on every node of every workstation:
    // the controller by its own, the rest ip-A-B-C-D (SLURM looks up each request's sender).
    for (const node of ["dev-controller", "dev-gpu001", "dev-cpu001"]) {
      const lines = (await outputOf(pulumi.output(named(`${node}-lan-hosts`).props.stdin as string))).trim().split("\n");
      expect(lines).toHaveLength(1 + 3 * 32);
      expect(lines).toEqual(expect.arrayContaining(["192.168.1.10 controller", "192.168.1.64 ip-192-168-1-64", "192.168.1.159 ip-192-168-1-159"]));
      expect(await commandLine(named(`${node}-lan-hosts`).props, "create")).toMatch(/hyperscaler-lan-hosts$/);
    }
    // On one engine Docker's DNS knows every node: no such lines.
    expect(build(devValues).registered.filter((r) => r.name.endsWith("-lan-hosts"))).toEqual([]);
    // docker exec into the remote node goes to its engine; the membership's drain runs on the controller's.
    expect(await outputOf(pulumi.output(named("dev-gpu001-membership").props.environment as Record<string, string>))).toMatchObject({ DOCKER_HOST: "ssh://ops@gpu1" });
    expect(await commandLine(named("dev-gpu001-membership").props, "delete")).toMatch(/^export DOCKER_HOST=unix:\/\/\/var\/run\/docker\.sock; c=dev-controller; .* hyperscaler-node-remove gpu001 3600; fi$/);
  });

  it("builds every role image on hyperscaler:buildWorkstation's engine, copied to the controller's and to the nodes' from there", async () => {
    const values = { ...workstationsValues, buildWorkstation: "idle", postgres: { roles: { app: { database: "appdb" } } }, monitoring: {} };
    const { registered } = build(values);
    const named = (name: string) => registered.find((r) => r.name === name)!;
    const provider = (r: { opts: { provider?: unknown } }) => (r.opts.provider as { __name: string } | undefined)?.__name;
    const builds = registered.filter((r) => r.type === "docker:index/remoteImage:RemoteImage");
    expect(builds.map((r) => r.name).sort()).toEqual(["dev-accounting-mariadb-image-build", "dev-monitoring-image-build", "dev-postgres-image-build", "dev-slurm-image-build"]);
    expect(builds.map(provider)).toEqual(builds.map(() => "dev-workstation-idle"));
    const env = async (name: string) => outputOf(pulumi.output(named(name).props.environment as Record<string, string>));
    for (const image of ["dev-slurm-image", "dev-postgres-image", "dev-monitoring-image", "dev-accounting-mariadb-image"]) {
      expect(await env(`${image}-copy`), image).toMatchObject({ FROM: "ssh://ops@idle", TO: "unix:///var/run/docker.sock" });
    }
    expect(await env("dev-slurm-image-copy-gpu")).toMatchObject({ FROM: "ssh://ops@idle", TO: "ssh://ops@gpu1" });
    // It only builds: no cluster network there.
    expect(registered.filter((r) => r.name === "dev-network-idle")).toEqual([]);
    // Where the controller builds (the default), nothing is copied to it.
    expect(build(workstationsValues).registered.filter((r) => r.name === "dev-slurm-image-copy")).toEqual([]);
  });

  it("on several workstations: a backup repository on another one, which pgBackRest reaches over SFTP with the stack's keys, the host checked by fingerprint", async () => {
    const values = { ...workstationsValues, postgres: { roles: { app: { database: "appdb" } } }, backupRepository: { workstation: "idle", address: "192.168.1.20" } };
    const { registered } = build({ ...values, rotation: { pitrKeyEpoch: 2 } });
    const named = (name: string) => registered.find((r) => r.name === name)!;
    const provider = (r: Registered) => (r.opts.provider as unknown as { __name: string } | undefined)?.__name;
    // The repository's workstation has no nodes: a provider and a network there, no SLURM image.
    expect(registered.filter((r) => r.type === "pulumi:providers:docker").map((r) => r.name).sort()).toEqual(["dev-workstation-gpu", "dev-workstation-idle"]);
    expect(registered.find((r) => r.name === "dev-slurm-image-copy-idle")).toBeUndefined();
    const repo = registered.find((r) => r.name === "dev-backup-repository" && isContainer(r))!;
    expect(provider(repo)).toBe("dev-workstation-idle");
    expect(provider(named("dev-network-idle"))).toBe("dev-workstation-idle");
    expect((await outputOf(pulumi.output(repo.props.networksAdvanced as { ipv4Address?: string }[])))[0].ipv4Address).toBe("192.168.1.20");
    expect(repo.props.capabilities).toEqual({ drops: ["ALL"], adds: ["CAP_CHOWN", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SYS_CHROOT"] });
    const volume = registered.find((r) => r.type === "docker:index/volume:Volume" && r.props.name === "dev-backup-repository")!;
    expect(provider(volume)).toBe("dev-workstation-idle");
    // Built on the controller's engine, copied there.
    expect(await outputOf(pulumi.output(named("dev-backup-repository-image-copy").props.environment as Record<string, string>))).toMatchObject({ TO: "ssh://ops@idle", TAG: "hyperscaler/backup-repository:dev" });
    // Keys: made by the issuer, secret; the host key and the client's public key installed there.
    for (const key of ["host-key", "client-key"]) expect(named(`dev-backup-repository-${key}`).opts.additionalSecretOutputs).toEqual(["stdout"]);
    expect(await isSecret(named("dev-backup-repository-host-key-install").props.stdin)).toBe(true);
    expect(await outputOf(pulumi.output(named("dev-backup-repository-host-key-install").props.environment as Record<string, string>))).toEqual({ DOCKER_HOST: "ssh://ops@idle" });
    // Only the current key epoch's repository and the one before it are kept there.
    expect(await commandLine(named("dev-backup-repository-prune").props, "create")).toMatch(/hyperscaler-repository-prune postgres key2 key1$/);
    // pgBackRest's configs (both epochs) point at it over SFTP; its key follows them, all secret.
    const pitr = named("dev-postgres-pitr");
    expect(await isSecret(pitr.props.stdin)).toBe(true);
    const confs = await outputOf(pulumi.output(pitr.props.stdin as string));
    const [current, rest] = confs.split("\n#previous\n");
    const [previous, key] = rest.split("\n#sftp-key\n");
    for (const [conf, epoch] of [[current, 2], [previous, 1]] as const) {
      expect(conf).toContain(`repo1-type=sftp\nrepo1-sftp-host=192.168.1.20\nrepo1-sftp-host-user=repository\nrepo1-sftp-private-key-file=/etc/pgbackrest/sftp-key\n`);
      expect(conf).toMatch(/^repo1-sftp-host-key-check-type=fingerprint$/m);
      expect(conf).toMatch(/^repo1-sftp-host-fingerprint=\S+$/m);
      expect(conf).toContain(`repo1-path=/repository/postgres/key${epoch}\n`);
    }
    expect(key.length).toBeGreaterThan(0);
    // The shipper beside the controller copies the file backups there, reading them only.
    const shipper = registered.find((r) => r.name === "dev-backup-repository-shipper" && isContainer(r))!;
    expect(provider(shipper)).toBeUndefined();
    expect(shipper.props.capabilities).toEqual({ drops: ["ALL"], adds: ["CAP_DAC_READ_SEARCH"] });
    expect(await outputOf(pulumi.output(shipper.props.volumes as { volumeName: string; containerPath: string; readOnly: boolean }[]))).toEqual([
      { volumeName: "dev-slurmctld-state", containerPath: "/ship/slurmctld-state", readOnly: true },
      { volumeName: "dev-mariadb-backups", containerPath: "/ship/mariadb-backups", readOnly: true },
    ]);
    for (const part of ["key", "password"]) expect(await isSecret(named(`dev-backup-repository-shipper-${part}`).props.stdin), part).toBe(true);
    expect(await outputOf(pulumi.output(named("dev-backup-repository-shipper-known-hosts").props.stdin as string))).toMatch(/^192\.168\.1\.20 ecdsa-sha2-nistp256 \S+ dev backup repository\n$/);
    expect(await outputOf(pulumi.output(named("dev-backup-repository-shipper-settings").props.stdin as string))).toBe("REPOSITORY_HOST=192.168.1.20\nINTERVAL_MIN=15\nKEEP_DAYS=7\n");
    // Prometheus scrapes the shipper's exporter, and pages when a folder's copy is late or missing.
    const monitored = build({ ...values, monitoring: {} }).registered;
    const delivered = (file: string) => outputOf(pulumi.output(monitored.find((r) => r.name === `dev-monitoring-${file}`)!.props.stdin as string));
    expect(JSON.parse(await delivered("node.json")).map((t: { labels: { node: string; role: string } }) => t.labels))
      .toContainEqual({ node: "backup-shipper", role: "backup-shipper" });
    const rules = await delivered("alerts.yml");
    expect(rules).toMatch(/alert: BackupShipLate\n\s+expr: time\(\) - hyperscaler_backup_ship_last_success_timestamp_seconds > 2700\n/);
    expect(rules).toContain('absent(hyperscaler_backup_ship_last_success_timestamp_seconds{part="slurmctld-state"}) or absent(hyperscaler_backup_ship_last_success_timestamp_seconds{part="mariadb-backups"})');
    // Without it: the repository beside the data, no key, nothing on the idle workstation.
    const local = build({ ...workstationsValues, monitoring: {} }).registered;
    expect(local.find((r) => r.name.startsWith("dev-backup-repository"))).toBeUndefined();
    const localRules = await outputOf(pulumi.output(local.find((r) => r.name === "dev-monitoring-alerts.yml")!.props.stdin as string));
    expect(localRules).toContain("alert: NodeExporterDown");
    expect(localRules).not.toContain("BackupShip");
    expect(local.filter((r) => r.type === "pulumi:providers:docker").map((r) => r.name)).toEqual(["dev-workstation-gpu"]);
  });

  it("on one engine: an S3 bucket as the repository, which pgBackRest and the shipper reach with the key pair (secret) and the CA given", async () => {
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-ca-")), "ca.pem");
    fs.writeFileSync(caFile, "-----BEGIN CERTIFICATE-----\nTESTCA\n-----END CERTIFICATE-----\n");
    const keys = { accessKeyId: "AKIAGRAPHTEST", secretAccessKey: "graph/secret+key'quote" };
    const s3 = { endpoint: "192.168.1.5:9000", bucket: "hpc-backups", uriStyle: "path", caFile, ...keys };
    const { registered } = build({ ...devValues, postgres: { roles: { app: { database: "appdb" } } }, backupRepository: { s3, shipIntervalMin: 5 } });
    const named = (name: string) => registered.find((r) => r.name === name)!;
    // No repository container, no SSH keys: the bucket is the repository.
    expect(registered.filter((r) => r.name.startsWith("dev-backup-repository")).map((r) => r.name).sort()).toEqual([
      "dev-backup-repository", "dev-backup-repository-image", "dev-backup-repository-image-build", "dev-backup-repository-restic-password", "dev-backup-repository-shipper",
      "dev-backup-repository-shipper-password", "dev-backup-repository-shipper-s3-ca", "dev-backup-repository-shipper-s3-credentials", "dev-backup-repository-shipper-settings",
    ]);
    expect(named("dev-backup-repository").type).toBe("hyperscaler:repository:BackupRepository");
    const pitr = named("dev-postgres-pitr");
    expect(await isSecret(pitr.props.stdin)).toBe(true);
    const [conf, ca] = (await outputOf(pulumi.output(pitr.props.stdin as string))).split("\n#s3-ca\n");
    expect(conf).toContain("repo1-type=s3\nrepo1-s3-endpoint=192.168.1.5\nrepo1-storage-port=9000\nrepo1-s3-bucket=hpc-backups\nrepo1-s3-region=us-east-1\nrepo1-s3-uri-style=path\n" +
      `repo1-s3-key=${keys.accessKeyId}\nrepo1-s3-key-secret=${keys.secretAccessKey}\nrepo1-storage-ca-file=/etc/pgbackrest/s3-ca.pem\nrepo1-path=/dev/postgres/key0\n`);
    expect(ca).toBe(fs.readFileSync(caFile, "utf8"));
    const credentials = named("dev-backup-repository-shipper-s3-credentials").props.stdin;
    expect(await isSecret(credentials)).toBe(true);
    expect(await outputOf(pulumi.output(credentials as string))).toBe("AWS_ACCESS_KEY_ID=AKIAGRAPHTEST\nAWS_SECRET_ACCESS_KEY='graph/secret+key'\\''quote'\n");
    expect(await outputOf(pulumi.output(named("dev-backup-repository-shipper-settings").props.stdin as string))).toBe(
      "INTERVAL_MIN=5\nKEEP_DAYS=7\nS3_URL=https://192.168.1.5:9000/hpc-backups/dev/files\nS3_REGION=us-east-1\nS3_BUCKET_LOOKUP=path\nS3_CA_FILE=/etc/hyperscaler/s3-ca.pem\n");
    // The key pair is in no resource's input but those secret ones.
    for (const r of registered) {
      if (r.name === "dev-postgres-pitr" || r.name === "dev-backup-repository-shipper-s3-credentials") continue;
      expect(JSON.stringify(r.props), r.name).not.toContain(keys.secretAccessKey);
    }
  });

  it("preflight asks the backup repository's workstation too, though no node runs there, naming its dockerHost", async () => {
    const { configFrom } = await import("../support/config");
    const dead = "tcp://127.0.0.1:9";
    const problems = preflight.hostProblems(configFrom({
      ...workstationsValues, postgres: { roles: { app: { database: "appdb" } } }, backupRepository: { workstation: "idle", address: "192.168.1.20" },
      workstations: { ...workstationsValues.workstations, idle: { ...workstationsValues.workstations.idle, dockerHost: dead } },
    }));
    expect(problems).toContainEqual(expect.stringMatching(/^workstation idle \(tcp:\/\/127\.0\.0\.1:9\): (hyperscaler:workstations\.idle\.dockerHost: the Docker engine did not answer|cannot run docker)/));
    // Without the repository nothing runs there: not asked.
    expect(preflight.hostProblems(configFrom({ ...workstationsValues, workstations: { ...workstationsValues.workstations, idle: { ...workstationsValues.workstations.idle, dockerHost: dead } } }))
      .filter((p) => p.startsWith("workstation idle"))).toEqual([]);
  });

  it("on several workstations: the services only the cluster uses are on a bridge of the controller's workstation, off the LAN", async () => {
    const { registered } = build({ ...workstationsValues, postgres: { roles: { app: { database: "appdb" } } }, monitoring: {} });
    const networksOf = async (name: string) => (await outputOf(pulumi.output(registered.find((r) => r.name === name && isContainer(r))!.props.networksAdvanced as { name: string }[])))
      .map((n) => n.name);
    expect(registered.find((r) => r.name === "dev-platform-network")!.props).toMatchObject({ name: "dev-platform", driver: "bridge" });
    for (const service of ["dev-postgres", "dev-accounting-mariadb", "dev-accounting-slurmdbd", "dev-monitoring-alertmanager"]) {
      expect(await networksOf(service), service).toEqual(["dev-platform"]);
    }
    // The controller and Prometheus reach the nodes on the LAN, and the services on the bridge.
    expect(await networksOf("dev-controller")).toEqual(["dev-net", "dev-platform"]);
    expect(await networksOf("dev-monitoring-prometheus")).toEqual(["dev-platform", "dev-net"]);
    expect(await networksOf("dev-cpu001")).toEqual(["dev-net"]);
    // On one workstation there is one network, as before.
    const one = build(devValues).registered;
    expect(one.filter((r) => r.type === "docker:index/network:Network").map((r) => r.name)).toEqual(["dev-network"]);
  });

  it("the log store: every container sends its output there through its own engine (127.0.0.1 on the controller's workstation, the LAN front elsewhere); the store is off the LAN", async () => {
    const { registered } = build({ ...workstationsValues, postgres: { roles: { app: { database: "appdb" } } }, monitoring: { logs: { port: 19428, address: "192.168.1.30" } } });
    const containers = registered.filter(isContainer);
    const sink = (name: string) => {
      const c = containers.find((r) => r.name === name)!;
      return c.props.logDriver ? [c.props.logDriver, (c.props.logOpts as Record<string, string>)["splunk-url"], (c.props.logOpts as Record<string, string>)["splunk-source"]] : undefined;
    };
    for (const local of ["dev-controller", "dev-cpu001", "dev-postgres", "dev-monitoring-prometheus", "dev-monitoring-alertmanager"]) {
      expect(sink(local), local).toEqual(["splunk", "http://127.0.0.1:19428", "main"]);
    }
    expect(sink("dev-gpu001")).toEqual(["splunk", "http://192.168.1.30:9428", "gpu"]);
    expect(containers.find((r) => r.name === "dev-gpu001")!.props.logOpts).toMatchObject({ "splunk-index": "dev", tag: "{{.Name}}", mode: "non-blocking", "splunk-verify-connection": "false" });
    // The store keeps its own output (it would send to itself); its front takes the LAN's lines and forwards them.
    expect(sink("dev-monitoring-logs")).toBeUndefined();
    const networks = async (name: string) => outputOf(pulumi.output(containers.find((r) => r.name === name)!.props.networksAdvanced as { name: string; ipv4Address?: string }[]));
    expect(await networks("dev-monitoring-logs")).toEqual([{ name: "dev-platform" }]);
    expect(await networks("dev-monitoring-logs-ingest")).toEqual([{ name: "dev-platform" }, { name: "dev-net", ipv4Address: "192.168.1.30" }]);
    // Without monitoring.logs: Docker's json-file, as before (no change for existing stacks).
    expect(build({ ...workstationsValues, monitoring: {} }).registered.filter(isContainer).filter((r) => r.props.logDriver)).toEqual([]);
  });

  it("on several workstations: Prometheus and the LAN's node exporters serve TLS from the stack's CA, kept secret, renewed in their window", async () => {
    const values = { ...workstationsValues, postgres: { roles: { app: { database: "appdb" } } }, monitoring: {} };
    const { c, registered } = build(values);
    const named = (name: string, type = "command:local:Command") => registered.find((r) => r.name === name && r.type === type)!;
    for (const part of ["ca", "exporter", "prometheus"]) {
      expect(named(`dev-tls-${part}`).opts.additionalSecretOutputs, part).toEqual(["stdout"]);
      expect(await isSecret(named(`dev-tls-${part}`).props.stdin), part).toBe(true);
    }
    const env = async (name: string) => (await outputOf(pulumi.output(named(name, CONTAINER).props.envs as string[])));
    for (const node of ["dev-controller", "dev-cpu001", "dev-gpu001", "dev-monitoring-prometheus"]) expect(await env(node), node).toContain("HYPERSCALER_TLS=1");
    for (const service of ["dev-accounting-slurmdbd", "dev-postgres"]) expect(await env(service), service).not.toContain("HYPERSCALER_TLS=1");
    for (const node of ["dev-controller", "dev-cpu001", "dev-gpu001"]) expect(await isSecret(named(`${node}-tls`).props.stdin), node).toBe(true);
    // The LAN's exporters are scraped over TLS; the platform's, on its bridge, as before.
    const targets = JSON.parse(await outputOf(pulumi.output(named("dev-monitoring-node.json").props.stdin as string))) as { targets: string[]; labels: Record<string, string> }[];
    expect(Object.fromEntries(targets.map((t) => [t.labels.node, t.labels.__scheme__ ?? "http"])))
      .toEqual({ controller: "https", cpu001: "https", gpu001: "https", postgres: "http", slurmdbd: "http", mariadb: "http" });
    // The manifest and the outputs hold the CA's certificate, never a key.
    const manifest = await outputOf(c.manifest);
    expect(manifest.tls!.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(await outputOf(c.certificates!.caCertificate)).toBe(manifest.tls!.ca);
    expect(JSON.stringify(manifest)).not.toMatch(/PRIVATE KEY|mock-secret/);
    expect(manifest.tls!.generation).toBe(0);
    // Renewal: inside the window the certificates' trigger moves on; outside it, nothing changes.
    const record = (days: number) => ({ ...manifest.tls!, notAfter: new Date(Date.now() + days * 86400e3).toISOString(), generation: 3 });
    const triggers = async (r: Registered) => JSON.stringify(await outputOf(pulumi.output(r.props.triggers as unknown[])));
    const exporterTriggers = async (days: number) => triggers(build(values, { previousTls: record(days) }).registered
      .find((r) => r.name === "dev-tls-exporter")!);
    expect(await exporterTriggers(29)).toMatch(/,4,0,/);
    expect(await exporterTriggers(31)).toMatch(/,3,0,/);
    // One workstation: no LAN, no certificates.
    expect(build(devValues).registered.filter((r) => r.name.startsWith("dev-tls"))).toEqual([]);
  });

  it("on several workstations: PostgreSQL and MariaDB serve TLS only, from the stack's CA; slurmdbd and Grafana check their certificates, trusting a new CA first", async () => {
    const values = { ...workstationsValues, monitoring: { grafana: { image: "grafana/grafana-oss:11.3.0" } },
      postgres: { roles: { app: { database: "appdb" } }, applications: { webapp: { container: "webapp", role: "app", file: "/run/app/pgpass", caFile: "/run/app/ca.pem" } } } };
    const { registered } = build(values);
    const named = (name: string, type = "command:local:Command") => registered.find((r) => r.name === name && r.type === type)!;
    const dependsOn = async (r: Registered) => ((await outputOf(pulumi.output(r.opts.dependsOn ?? []))) as unknown as { __name: string }[]).map((d) => d.__name);
    const env = async (name: string) => (await outputOf(pulumi.output(named(name, CONTAINER).props.envs as string[])));
    for (const server of ["postgres", "mariadb"]) {
      expect(named(`dev-tls-${server}`).opts.additionalSecretOutputs, server).toEqual(["stdout"]);
      const request = JSON.parse(await outputOf(pulumi.output(named(`dev-tls-${server}`).props.stdin as string))) as { dnsNames: string[]; usages: string[] };
      expect(request.dnsNames, server).toEqual([server, `dev-${server}`, "localhost"]);
      expect(request.usages, server).toEqual(["server"]);
    }
    for (const [container, install] of [["dev-postgres", "dev-postgres-tls"], ["dev-accounting-mariadb", "dev-accounting-mariadb-tls"]]) {
      expect(await env(container), container).toContain("HYPERSCALER_DATABASE_TLS=1");
      expect(await isSecret(named(install).props.stdin), install).toBe(true);
      expect(await outputOf(pulumi.output(named(install).props.create as string)), install)
        .toMatch(/ sh -c 'hyperscaler-tls-install \/etc\/hyperscaler\/tls \w+:\w+ && hyperscaler-tls-reload'$/);
    }
    // A client trusts a new CA before its server presents a certificate of it.
    expect(await dependsOn(named("dev-accounting-mariadb-tls"))).toEqual(["dev-accounting-slurmdbd-tls"]);
    expect(await dependsOn(named("dev-postgres-tls"))).toEqual(["dev-monitoring-grafana-tls-ca-pem", "dev-postgres-webapp-ca-file"]);
    expect(await outputOf(pulumi.output(named("dev-postgres-webapp-ca-file").props.stdin as string))).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(await outputOf(pulumi.output(named("dev-accounting-slurmdbd-tls").props.create as string))).toMatch(/ hyperscaler-tls-install \/etc\/hyperscaler\/tls slurm:slurm$/);
    expect(await dependsOn(named("dev-accounting-slurmdbd.conf"))).toContain("dev-accounting-slurmdbd-tls");
    expect(await outputOf(pulumi.output(named("dev-accounting-slurmdbd.conf").props.stdin as string))).toMatch(/^StorageParameters=SSL_CA=\/etc\/hyperscaler\/tls\/ca\.pem$/m);
    expect(await env("dev-monitoring-grafana")).toEqual(expect.arrayContaining(["GF_DATABASE_SSL_MODE=verify-full", "GF_DATABASE_CA_CERT_PATH=/etc/grafana/provisioning/tls/ca.pem"]));
    expect(await outputOf(pulumi.output(named("dev-monitoring-grafana-tls-ca-pem").props.stdin as string))).toMatch(/^-----BEGIN CERTIFICATE-----/);
    // One workstation: no CA, TLS as the servers offer it, no checks.
    const one = build({ ...devValues, postgres: {}, accounting: {}, monitoring: { grafana: { image: "grafana/grafana-oss:11.3.0" } } }).registered;
    const oneEnv = async (name: string) => (await outputOf(pulumi.output(one.find((r) => r.name === name && isContainer(r))!.props.envs as string[])));
    for (const container of ["dev-postgres", "dev-accounting-mariadb"]) expect(await oneEnv(container), container).not.toContain("HYPERSCALER_DATABASE_TLS=1");
    expect((await oneEnv("dev-monitoring-grafana")).filter((e) => e.startsWith("GF_DATABASE_SSL"))).toEqual([]);
    expect(one.filter((r) => /-tls$/.test(r.name))).toEqual([]);
  });

  it("records each container's engine in the manifest: the workstation and Docker host the scripts must ask", async () => {
    const { c } = build(workstationsValues);
    const main = { workstation: "main", dockerHost: "unix:///var/run/docker.sock" };
    expect((await outputOf(c.manifest)).engines).toEqual({
      "dev-controller": main, "dev-cpu001": main, "dev-mariadb": main, "dev-slurmdbd": main,
      "dev-gpu001": { workstation: "gpu", dockerHost: "ssh://ops@gpu1" },
    });
    // On one engine: the stack's dockerHost, or none (DOCKER_HOST's engine).
    expect((await outputOf(build(devValues).c.manifest)).engines).toEqual({ "dev-controller": {}, "dev-cpu001": {}, "dev-cpu002": {} });
    expect((await outputOf(build({ ...devValues, dockerHost: "tcp://ws:2376" }).c.manifest)).engines["dev-cpu001"]).toEqual({ dockerHost: "tcp://ws:2376" });
  });
});
