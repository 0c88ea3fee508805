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
    for (const p of ["command v1.2.1", "random v4.21.1", "docker v5.0.0"]) expect(r.stdout).toMatch(new RegExp(`providers: ${p} installed`));
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

  // A sources folder of its own (not the real archives, which need not be beside a clone):
  // the check reads the archive's hash before anything else, so any other bytes are "changed".
  it.each([
    ["changed", (dir: string) => fs.writeFileSync(path.join(dir, "pulumi-command-1.2.1.tar.gz"), "not the pinned archive"),
      /pulumi-command-1\.2\.1\.tar\.gz has sha256 [0-9a-f]{64}, pinned d1495880[0-9a-f]+: refusing a changed archive/],
    ["missing", (_dir: string) => {},
      /pulumi-command-1\.2\.1\.tar\.gz is missing from /],
  ])("refuses a %s source archive by name, and caches nothing", (_what, spoil, message) => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-cache-"));
    const sources = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-sources-"));
    try {
      spoil(sources);
      const r = run("bash", ["scripts/setup.sh", "providers"],
        { env: { HYPERSCALER_CACHE: cache, HYPERSCALER_PLUGIN_SOURCES: sources, HYPERSCALER_PLUGIN_DOWNLOAD: "0" } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`step 'providers-command' failed after \\d+s; full log: ${cache}/logs/providers-command.log`));
      expect(fs.readFileSync(path.join(cache, "logs/providers-command.log"), "utf8")).toMatch(message);
      expect(fs.existsSync(path.join(cache, "plugins")) ? fs.readdirSync(path.join(cache, "plugins"), { recursive: true }) : []).toEqual([]);
      expect(fs.existsSync(path.join(cache, "pulumi-home/plugins/resource-command-v1.2.1"))).toBe(false);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
      fs.rmSync(sources, { recursive: true, force: true });
    }
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
