import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerTry } from "../tests/support/docker";
import { DockerPlugin } from "../tests/support/docker-plugin";
import { run } from "../tests/support/run";
import { median, report } from "./report";

// What a `pulumi refresh` pays per container, at 10, 100 and 1000 containers on the
// engine: the docker plugin's read of one container, driven over gRPC (no engine, no
// program), beside the `docker ps -a` listing upstream's read makes before it inspects the
// container by ID. A refresh of N nodes makes N such reads, so where the read grows with
// the engine's containers, a refresh grows with N². The containers are created, never
// started: the listing holds them all the same, and they cost no process.
const name = `rbench${process.pid}`;
const SIZES = (process.env.BENCH_REFRESH_SIZES ?? "10,100,1000").split(",").map(Number);
const READS = 10;
const CONTAINER = "docker:index/container:Container";

describe("the docker plugin's container read, as a refresh makes it, by containers on the engine", () => {
  let plugin: DockerPlugin;
  let made = 0;

  beforeAll(async () => { plugin = await DockerPlugin.start(); }, 60_000);

  afterAll(() => {
    plugin?.stop();
    run("sh", ["-c", `docker ps -aq --filter label=hyperscaler.cluster=${name} | xargs -r -n 100 docker rm -f >/dev/null`]);
  }, 600_000);

  it.each(SIZES)("at %i containers", async (size) => {
    // Created in parallel, up to `size` of ours (the engine's own others count as well).
    const r = run("sh", ["-c", `seq ${made} ${size - 1} | xargs -r -P 8 -I{} docker create --name ${name}-{} --label hyperscaler.cluster=${name} ` +
      `--network none --entrypoint sleep "$1" infinity >/dev/null`, "_", process.env.HYPERSCALER_BASE_IMAGE!]);
    expect(r.code, r.output).toBe(0);
    made = Math.max(made, size);
    const onEngine = docker(["ps", "-aq"]).trim().split("\n").length;
    const listing = median(Array.from({ length: READS }, () => { const t0 = performance.now(); docker(["ps", "-aq", "--no-trunc"]); return performance.now() - t0; }));
    const ids = docker(["ps", "-aq", "--no-trunc", "--filter", `label=hyperscaler.cluster=${name}`]).trim().split("\n").slice(0, READS);
    const reads: number[] = [];
    for (const id of ids) {
      const read = await plugin.read(CONTAINER, "node", id);
      expect(read.id).toBe(id);
      reads.push(read.ms);
    }
    const read = median(reads);
    report(`container read through the plugin, ${onEngine} containers on the engine`, read, "ms", `runs: ${reads.map((ms) => ms.toFixed(0)).join(", ")}`);
    report(`docker ps -a, ${onEngine} containers`, listing, "ms");
    report(`refresh of ${size} nodes, container reads alone (${size} x the read)`, (size * read) / 1000, "s");
    // A container removed by hand reads as gone, which is what a refresh records.
    const first = docker(["inspect", "--format", "{{.Id}}", `${name}-0`]).trim();
    dockerTry(["rm", "-f", first]);
    expect((await plugin.read(CONTAINER, "node", first)).id).toBe("");
    docker(["create", "--name", `${name}-0`, "--label", `hyperscaler.cluster=${name}`, "--network", "none", "--entrypoint", "sleep", process.env.HYPERSCALER_BASE_IMAGE!, "infinity"]);
  });
});
