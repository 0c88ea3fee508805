import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerTry } from "../support/docker";
import { DockerPlugin, dockerPluginBuiltHere, timed } from "../support/docker-plugin";

// The docker plugin this machine has, driven over gRPC with a stopwatch on each call: the
// plugin built here carries providers/docker/patches/no-fixed-waits.patch, so a network's
// create, and a network's or a volume's delete, wait for Docker and nothing else. A
// downloaded plugin (upstream's) waits 2 s in each: the README says what that costs.
// dwait<pid>: the interrupt cleanup (tests/support/interrupt-cleanup.ts) knows the name.
const name = `dwait${process.pid}`;
const NETWORK = "docker:index/network:Network";
const VOLUME = "docker:index/volume:Volume";

describe.runIf(dockerPluginBuiltHere())("the docker plugin built here waits for Docker, not for a clock", () => {
  let plugin: DockerPlugin;

  beforeAll(async () => { plugin = await DockerPlugin.start(); }, 60_000);

  afterAll(() => {
    plugin?.stop();
    dockerTry(["rm", "-f", `${name}-box`]);
    dockerTry(["network", "rm", `${name}-net`]);
    dockerTry(["volume", "rm", `${name}-data`]);
  });

  it("creates a network and a volume, and deletes them, each within half a second of what the docker CLI takes", async () => {
    // The floor: the same network made and removed by the CLI, on this engine, now.
    const floor = { create: (await timed(async () => docker(["network", "create", `${name}-net`]))).ms, delete: (await timed(async () => docker(["network", "rm", `${name}-net`]))).ms };
    const network = await plugin.create(NETWORK, "net", { name: `${name}-net`, driver: "bridge" });
    const volume = await plugin.create(VOLUME, "data", { name: `${name}-data`, driver: "local" });
    expect(docker(["network", "inspect", "--format", "{{.Name}}", network.id]).trim()).toBe(`${name}-net`);
    const times = { networkCreate: network.ms, volumeCreate: volume.ms, networkDelete: await plugin.delete(NETWORK, "net", network), volumeDelete: await plugin.delete(VOLUME, "data", volume) };
    const rounded = (o: Record<string, number>) => JSON.stringify(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)])));
    console.log(`docker plugin (ms): ${rounded(times)}; docker CLI network create/rm (ms): ${rounded(floor)}`);
    // A fixed wait (upstream's is 2 s) shows whatever the engine's own speed; a loaded machine's does not fail this.
    for (const [what, ms] of Object.entries(times)) expect(ms, what).toBeLessThan(500 + Math.max(floor.create, floor.delete));
    expect(dockerTry(["network", "inspect", `${name}-net`]).code).not.toBe(0);
    expect(dockerTry(["volume", "inspect", `${name}-data`]).code).not.toBe(0);
  });

  it("deletes a network right after its last container went, while Docker may still hold its endpoint, without an error", async () => {
    for (let round = 0; round < 5; round++) {
      const network = await plugin.create(NETWORK, "net", { name: `${name}-net`, driver: "bridge" });
      docker(["run", "-d", "--name", `${name}-box`, "--network", `${name}-net`, "--label", `hyperscaler.cluster=${name}`,
        "--entrypoint", "sleep", process.env.HYPERSCALER_BASE_IMAGE!, "600"]);
      docker(["rm", "-f", `${name}-box`]);
      await plugin.delete(NETWORK, "net", network);
      expect(dockerTry(["network", "inspect", `${name}-net`]).code, `round ${round}`).not.toBe(0);
    }
  }, 120_000);
});
