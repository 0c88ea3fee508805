import * as grpc from "@grpc/grpc-js";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as rpc from "@pulumi/pulumi/proto/provider_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerTry } from "../support/docker";
import { REPO } from "../support/run";

// The docker plugin this machine has, driven over its gRPC interface as the engine drives
// it, with a stopwatch on each call: the plugin built here carries
// providers/docker/patches/no-fixed-waits.patch, so a network's create, and a network's
// or a volume's delete, wait for Docker and nothing else. A downloaded plugin (upstream's)
// waits 2 s in each: the README says what that costs.
// dwait<pid>: the interrupt cleanup (tests/support/interrupt-cleanup.ts) knows the name.
const name = `dwait${process.pid}`;
const version = JSON.parse(fs.readFileSync(path.join(REPO, "node_modules/@pulumi/docker/package.json"), "utf8")).pulumi.version;
const pluginDir = path.join(process.env.PULUMI_HOME!, `plugins/resource-docker-v${version}`);
const builtHere = fs.readFileSync(path.join(pluginDir, ".hyperscaler-origin"), "utf8").startsWith("built");

type Props = Record<string, unknown>;
type Call<Req, Res> = (req: Req, callback: (err: grpc.ServiceError | null, res: Res) => void) => unknown;

describe.runIf(builtHere)("the docker plugin built here waits for Docker, not for a clock", () => {
  let plugin: ChildProcess;
  let client: ResourceProviderClient;
  const call = <Req, Res>(method: Call<Req, Res>, req: Req) => new Promise<Res>((resolve, reject) =>
    method.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
  const timed = async <T>(f: () => Promise<T>) => { const start = process.hrtime.bigint(); const result = await f(); return { result, ms: Number(process.hrtime.bigint() - start) / 1e6 }; };
  const urn = (type: string, resource: string) => `urn:pulumi:test::waits::${type}::${resource}`;

  /** Check, then create, as the engine does: the resource's ID and outputs. */
  const create = async (type: string, resource: string, inputs: Props) => {
    const check = new rpc.CheckRequest().setUrn(urn(type, resource)).setNews(Struct.fromJavaScript(inputs as never)).setOlds(new Struct());
    const checked = await call<rpc.CheckRequest, rpc.CheckResponse>(client.check, check);
    expect(checked.getFailuresList().map((f) => `${f.getProperty()}: ${f.getReason()}`)).toEqual([]);
    const req = new rpc.CreateRequest().setUrn(urn(type, resource)).setProperties(checked.getInputs()).setTimeout(60);
    const { result, ms } = await timed(() => call<rpc.CreateRequest, rpc.CreateResponse>(client.create, req));
    return { id: result.getId(), outputs: result.getProperties()!, ms };
  };
  const destroy = async (type: string, resource: string, made: { id: string; outputs: Struct }) => (await timed(() =>
    call<rpc.DeleteRequest, unknown>(client.delete, new rpc.DeleteRequest().setUrn(urn(type, resource)).setId(made.id).setProperties(made.outputs).setTimeout(60)))).ms;

  beforeAll(async () => {
    plugin = spawn(path.join(pluginDir, "pulumi-resource-docker"), [], { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<string>((resolve, reject) => {
      plugin.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
      plugin.once("exit", (code) => reject(new Error(`the docker plugin exited (${code}) before it served`)));
    });
    client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const configure = new rpc.ConfigureRequest().setArgs(Struct.fromJavaScript({ host: process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock" }))
      .setAcceptsecrets(true).setAcceptresources(true);
    await call<rpc.ConfigureRequest, rpc.ConfigureResponse>(client.configure, configure);
  }, 60_000);

  afterAll(() => {
    client?.close();
    plugin?.kill();
    dockerTry(["rm", "-f", `${name}-box`]);
    dockerTry(["network", "rm", `${name}-net`]);
    dockerTry(["volume", "rm", `${name}-data`]);
  });

  it("creates a network and a volume, and deletes them, each within half a second of what the docker CLI takes", async () => {
    // The floor: the same network made and removed by the CLI, on this engine, now.
    const floor = { create: (await timed(async () => docker(["network", "create", `${name}-net`]))).ms, delete: (await timed(async () => docker(["network", "rm", `${name}-net`]))).ms };
    const network = await create("docker:index/network:Network", "net", { name: `${name}-net`, driver: "bridge" });
    const volume = await create("docker:index/volume:Volume", "data", { name: `${name}-data`, driver: "local" });
    expect(docker(["network", "inspect", "--format", "{{.Name}}", network.id]).trim()).toBe(`${name}-net`);
    const deleted = { network: await destroy("docker:index/network:Network", "net", network), volume: await destroy("docker:index/volume:Volume", "data", volume) };
    const times = { networkCreate: network.ms, volumeCreate: volume.ms, networkDelete: deleted.network, volumeDelete: deleted.volume };
    const rounded = (o: Record<string, number>) => JSON.stringify(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)])));
    console.log(`docker plugin (ms): ${rounded(times)}; docker CLI network create/rm (ms): ${rounded(floor)}`);
    // A fixed wait (upstream's is 2 s) shows whatever the engine's own speed; a loaded machine's does not fail this.
    for (const [what, ms] of Object.entries(times)) expect(ms, what).toBeLessThan(500 + Math.max(floor.create, floor.delete));
    expect(dockerTry(["network", "inspect", `${name}-net`]).code).not.toBe(0);
    expect(dockerTry(["volume", "inspect", `${name}-data`]).code).not.toBe(0);
  });

  it("deletes a network right after its last container went, while Docker may still hold its endpoint, without an error", async () => {
    for (let round = 0; round < 5; round++) {
      const network = await create("docker:index/network:Network", "net", { name: `${name}-net`, driver: "bridge" });
      docker(["run", "-d", "--name", `${name}-box`, "--network", `${name}-net`, "--label", `hyperscaler.cluster=${name}`,
        "--entrypoint", "sleep", process.env.HYPERSCALER_BASE_IMAGE!, "600"]);
      docker(["rm", "-f", `${name}-box`]);
      await destroy("docker:index/network:Network", "net", network);
      expect(dockerTry(["network", "inspect", `${name}-net`]).code, `round ${round}`).not.toBe(0);
    }
  }, 120_000);
});
