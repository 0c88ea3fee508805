import * as grpc from "@grpc/grpc-js";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as rpc from "@pulumi/pulumi/proto/provider_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "./run";

// The docker plugin this machine has, driven over its gRPC interface as the engine drives
// it, each call timed: for tests and benches of the plugin itself, with no engine or
// program in between.

const version = JSON.parse(fs.readFileSync(path.join(REPO, "node_modules/@pulumi/docker/package.json"), "utf8")).pulumi.version;
const pluginDir = path.join(process.env.PULUMI_HOME ?? "", `plugins/resource-docker-v${version}`);

/** Whether the installed plugin was built here (from providers/docker, patches applied) rather than downloaded. */
export const dockerPluginBuiltHere = () => {
  const origin = path.join(pluginDir, ".hyperscaler-origin");
  return fs.existsSync(origin) && fs.readFileSync(origin, "utf8").startsWith("built");
};

type Call<Req, Res> = (req: Req, callback: (err: grpc.ServiceError | null, res: Res) => void) => unknown;
export interface Made { id: string; outputs: Struct; ms: number }

export async function timed<T>(f: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = process.hrtime.bigint();
  const result = await f();
  return { result, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

export class DockerPlugin {
  private constructor(private readonly process: ChildProcess, private readonly client: ResourceProviderClient) {}

  /** Starts the installed plugin and configures it for the engine at DOCKER_HOST (or the local socket). */
  static async start(): Promise<DockerPlugin> {
    const child = spawn(path.join(pluginDir, "pulumi-resource-docker"), [], { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
      child.once("exit", (code) => reject(new Error(`the docker plugin exited (${code}) before it served`)));
    });
    const plugin = new DockerPlugin(child, new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
    const configure = new rpc.ConfigureRequest().setArgs(Struct.fromJavaScript({ host: process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock" }))
      .setAcceptsecrets(true).setAcceptresources(true);
    await plugin.call<rpc.ConfigureRequest, rpc.ConfigureResponse>(plugin.client.configure, configure);
    return plugin;
  }

  stop(): void {
    this.client.close();
    this.process.kill();
  }

  private call<Req, Res>(method: Call<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => method.call(this.client, req, (err, res) => (err ? reject(err) : resolve(res))));
  }

  private urn(type: string, name: string) { return `urn:pulumi:test::plugin::${type}::${name}`; }

  /** Check, then create, as the engine does; the create is timed. Throws on a check failure. */
  async create(type: string, name: string, inputs: Record<string, unknown>): Promise<Made> {
    const check = new rpc.CheckRequest().setUrn(this.urn(type, name)).setNews(Struct.fromJavaScript(inputs as never)).setOlds(new Struct());
    const checked = await this.call<rpc.CheckRequest, rpc.CheckResponse>(this.client.check, check);
    const failures = checked.getFailuresList().map((f) => `${f.getProperty()}: ${f.getReason()}`);
    if (failures.length) throw new Error(`check of ${type} ${name}: ${failures.join("; ")}`);
    const req = new rpc.CreateRequest().setUrn(this.urn(type, name)).setProperties(checked.getInputs()).setTimeout(60);
    const { result, ms } = await timed(() => this.call<rpc.CreateRequest, rpc.CreateResponse>(this.client.create, req));
    return { id: result.getId(), outputs: result.getProperties()!, ms };
  }

  /** Reads a resource by ID, as a refresh (with its last outputs) or an import (without) does; timed. Undefined ID: it is gone. */
  async read(type: string, name: string, id: string, outputs = new Struct()): Promise<{ id: string; ms: number }> {
    const req = new rpc.ReadRequest().setUrn(this.urn(type, name)).setId(id).setProperties(outputs);
    const { result, ms } = await timed(() => this.call<rpc.ReadRequest, rpc.ReadResponse>(this.client.read, req));
    return { id: result.getId(), ms };
  }

  /** Deletes what `create` made; returns the call's time. */
  async delete(type: string, name: string, made: Pick<Made, "id" | "outputs">): Promise<number> {
    const req = new rpc.DeleteRequest().setUrn(this.urn(type, name)).setId(made.id).setProperties(made.outputs).setTimeout(60);
    return (await timed(() => this.call<rpc.DeleteRequest, unknown>(this.client.delete, req))).ms;
  }
}
