import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO, run } from "../support/run";

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

  it("makes a base image that runs Debian 13 (trixie)", () => {
    const image = process.env.HYPERSCALER_BASE_IMAGE!;
    const r = run("docker", ["run", "--rm", image, "sh", "-c", ". /etc/os-release && echo $VERSION_CODENAME"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout.trim()).toBe("trixie");
  });

  // An empty module cache with the proxy off: building the plugin from providers/ fails at once.
  it("names a plugin build that fails, and caches and installs nothing", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-cache-"));
    const modcache = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-gomod-"));
    try {
      const r = run("bash", ["scripts/setup.sh", "providers"],
        { env: { HYPERSCALER_CACHE: cache, GOMODCACHE: modcache, GOPROXY: "off", HYPERSCALER_PLUGIN_DOWNLOAD: "0" } });
      expect(r.code).not.toBe(0);
      expect(r.stdout).toMatch(/providers: command v1\.2\.1 cannot be downloaded here .*; building it from providers\/command/);
      expect(r.stderr).toMatch(new RegExp(`step 'providers-command' failed after \\d+s; full log: ${cache}/logs/providers-command.log`));
      expect(fs.readFileSync(path.join(cache, "logs/providers-command.log"), "utf8")).toMatch(/GOPROXY=off/);
      expect(fs.existsSync(path.join(cache, "plugins")) ? fs.readdirSync(path.join(cache, "plugins"), { recursive: true }) : []).toEqual([]);
      expect(fs.existsSync(path.join(cache, "pulumi-home/plugins/resource-command-v1.2.1"))).toBe(false);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
      run("chmod", ["-R", "u+w", modcache]);
      fs.rmSync(modcache, { recursive: true, force: true });
    }
  });

  it("keys each built plugin by the project's own sources: a change to one rebuilds that one only", () => {
    const key = (target: string) => run("bash", ["-c", `source scripts/lib/paths.sh && hyperscaler_source_key ${target}`]).stdout.trim();
    const before = Object.fromEntries(["random", "command", "docker", "language-nodejs"].map((t) => [t, key(t)]));
    const file = path.join(REPO, "providers/random/main.go");
    const text = fs.readFileSync(file, "utf8");
    try {
      fs.writeFileSync(file, text + "\n// changed\n");
      expect(key("random")).not.toBe(before.random);
      for (const t of ["command", "docker", "language-nodejs"]) expect(key(t)).toBe(before[t]);
    } finally {
      fs.writeFileSync(file, text);
    }
    expect(key("random")).toBe(before.random);
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
