import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "../support/run";

describe("scripts/setup.sh", () => {
  it("is a no-op when everything is present: no step rebuilds", () => {
    const r = run("bash", ["scripts/setup.sh"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/node: up to date/);
    expect(r.stdout).toMatch(/engine: pulumi v[\d.]+ ready/);
    expect(r.stdout).toMatch(/docker: engine answers/);
    expect(r.stdout).toMatch(/base-image: \S+ present/);
    expect(r.stdout).not.toMatch(/: started/);
  });

  it("makes a base image that runs Debian bookworm", () => {
    const image = process.env.HYPERSCALER_BASE_IMAGE!;
    const r = run("docker", ["run", "--rm", image, "sh", "-c", ". /etc/os-release && echo $VERSION_CODENAME"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout.trim()).toBe("bookworm");
  });

  it("names the failing step and its log, and never marks a failed build ready", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-cache-"));
    const modcache = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-gomod-"));
    try {
      // An empty module cache with the proxy off: the Go build fails at once.
      const r = run("bash", ["scripts/setup.sh", "engine"], { env: { HYPERSCALER_CACHE: cache, GOMODCACHE: modcache, GOPROXY: "off" } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`step 'engine' failed after \\d+s; full log: ${cache}/logs/engine.log`));
      expect(fs.readFileSync(path.join(cache, "logs/engine.log"), "utf8")).toMatch(/GOPROXY=off/);
      const engines = fs.readdirSync(path.join(cache, "engine"));
      expect(engines.filter((e) => !e.startsWith(".partial."))).toEqual([]);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
      run("chmod", ["-R", "u+w", modcache]);
      fs.rmSync(modcache, { recursive: true, force: true });
    }
  });
});
