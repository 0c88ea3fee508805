import * as bcrypt from "bcryptjs";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { webPasswordHash } from "../../components/monitoring";
import { renewalDue, trustBundle } from "../../components/tls";
import { REPO, run } from "../support/run";

// The stack's certificates: issued by components/tls/issue.js, checked by the real OpenSSL,
// installed by the images' hyperscaler-tls-install (run here on this host's openssl).
const ISSUER = path.join(REPO, "components/tls/issue.js");
const INSTALL = path.join(REPO, "images/common/tls-install.sh");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-tls-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Issued { cert: string; key: string; notAfter: string }
function issue(request: Record<string, unknown>): Issued {
  const r = run("node", [ISSUER], { input: JSON.stringify(request) });
  expect(r.code, r.output).toBe(0);
  return JSON.parse(r.stdout) as Issued;
}
const file = (name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };
const openssl = (...args: string[]) => run("openssl", args);

describe("the certificate issuer (components/tls/issue.js) and OpenSSL", () => {
  const ca = issue({ kind: "ca", commonName: "hyperscaler test CA", days: 30 });
  const server = issue({ kind: "leaf", commonName: "prometheus", dnsNames: ["prometheus", "localhost"], ipAddresses: ["127.0.0.1", "192.168.50.20"],
    usages: ["server", "client"], days: 2, ca });
  const exporter = issue({ kind: "leaf", commonName: "node-exporter", dnsNames: ["node-exporter"], usages: ["server"], days: 2, ca });

  it("issues a CA, and leaves that chain to it for what they are for", () => {
    const caFile = file("ca.pem", ca.cert);
    expect(openssl("x509", "-in", caFile, "-noout", "-ext", "basicConstraints").stdout).toMatch(/CA:TRUE/);
    expect(openssl("verify", "-CAfile", caFile, "-purpose", "sslserver", file("server.pem", server.cert)).code).toBe(0);
    expect(openssl("verify", "-CAfile", caFile, "-purpose", "sslclient", file("server.pem", server.cert)).code).toBe(0);
    expect(openssl("verify", "-CAfile", caFile, "-purpose", "sslserver", file("exporter.pem", exporter.cert)).code).toBe(0);
    // The exporters' certificate is no client certificate: a node's key cannot scrape another node.
    expect(openssl("verify", "-CAfile", caFile, "-purpose", "sslclient", file("exporter.pem", exporter.cert)).code).not.toBe(0);
    const sans = openssl("x509", "-in", file("server.pem", server.cert), "-noout", "-ext", "subjectAltName").stdout;
    expect(sans).toMatch(/DNS:prometheus, DNS:localhost, IP Address:127.0.0.1, IP Address:192.168.50.20/);
  });

  it("keeps each certificate inside its lifetime and its CA's", () => {
    const days = (t: string) => (Date.parse(t) - Date.now()) / 86400e3;
    expect(days(server.notAfter)).toBeGreaterThan(1.99);
    expect(days(server.notAfter)).toBeLessThan(2.01);
    const long = issue({ kind: "leaf", commonName: "x", dnsNames: ["x"], days: 365, ca });
    expect(long.notAfter).toBe(ca.notAfter);
  });

  it("refuses a request it cannot serve, saying why", () => {
    const r = run("node", [ISSUER], { input: JSON.stringify({ kind: "leaf", commonName: "x", days: 1 }) });
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/a leaf certificate needs "ca"/);
    expect(run("node", [ISSUER], { input: "{" }).output).toMatch(/stdin is not a JSON request/);
  });

  describe("hyperscaler-tls-install", () => {
    const bin = fs.mkdtempSync(path.join(dir, "bin-"));
    fs.symlinkSync(path.join(REPO, "images/common/textfile-write.sh"), path.join(bin, "hyperscaler-textfile"));
    const install = (target: string, bundle: string) => run("sh", [INSTALL, target, `${process.getuid!()}:${process.getgid!()}`], {
      input: bundle, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HYPERSCALER_METRICS_DIR: path.join(target, "metrics") },
    });

    it("installs the certificate with its key in one file, the CAs in another, and reports each one's expiry", () => {
      const target = fs.mkdtempSync(path.join(dir, "node-"));
      const other = issue({ kind: "ca", commonName: "hyperscaler old CA", days: 30 });
      const r = install(target, exporter.cert + exporter.key + ca.cert + other.cert);
      expect(r.code, r.output).toBe(0);
      expect(fs.readFileSync(path.join(target, "server.pem"), "utf8")).toBe(exporter.cert + exporter.key);
      expect(fs.readFileSync(path.join(target, "ca.pem"), "utf8")).toBe(ca.cert + other.cert);
      expect((fs.statSync(path.join(target, "server.pem")).mode & 0o777).toString(8)).toBe("400");
      const metrics = fs.readFileSync(path.join(target, "metrics/tls.prom"), "utf8");
      const at = (labels: string) => Number(metrics.match(new RegExp(`\\{${labels}\\} (\\d+)`))?.[1]) * 1000;
      expect(at('certificate="server",subject="CN=node-exporter"')).toBe(Date.parse(exporter.notAfter));
      expect(at('certificate="ca",subject="CN=hyperscaler test CA"')).toBe(Date.parse(ca.notAfter));
      expect(at('certificate="ca",subject="CN=hyperscaler old CA"')).toBe(Date.parse(other.notAfter));
    });

    it("takes a bundle of CAs alone as what to trust, and leaves the certificate in use", () => {
      const target = fs.mkdtempSync(path.join(dir, "node-"));
      expect(install(target, exporter.cert + exporter.key + ca.cert).code).toBe(0);
      const next = issue({ kind: "ca", commonName: "hyperscaler next CA", days: 30 });
      const r = install(target, next.cert + ca.cert);
      expect(r.code, r.output).toBe(0);
      expect(fs.readFileSync(path.join(target, "ca.pem"), "utf8")).toBe(next.cert + ca.cert);
      expect(fs.readFileSync(path.join(target, "server.pem"), "utf8")).toBe(exporter.cert + exporter.key);
    });

    it("refuses a key that is not the certificate's, or a certificate no CA of the bundle signed, and keeps the files in use", () => {
      const target = fs.mkdtempSync(path.join(dir, "node-"));
      expect(install(target, exporter.cert + exporter.key + ca.cert).code).toBe(0);
      const wrongKey = install(target, exporter.cert + server.key + ca.cert);
      expect(wrongKey.code).not.toBe(0);
      expect(wrongKey.output).toMatch(/the key is not the certificate's/);
      const stranger = issue({ kind: "ca", commonName: "someone else", days: 30 });
      expect(install(target, exporter.cert + exporter.key + stranger.cert).code).not.toBe(0);
      expect(install(target, exporter.cert + exporter.key).output).toMatch(/needs a CA/);
      expect(install(target, exporter.cert).output).toMatch(/CN ?= ?node-exporter is not a CA/);
      expect(fs.readFileSync(path.join(target, "server.pem"), "utf8")).toBe(exporter.cert + exporter.key);
      expect(fs.readFileSync(path.join(target, "ca.pem"), "utf8")).toBe(ca.cert);
    });
  });
});

describe("renewal", () => {
  const now = Date.parse("2026-12-05T00:00:00Z");
  it("is due inside the renewal window, not before", () => {
    expect(renewalDue("2027-01-05T00:00:00Z", 30, now)).toBe(false);
    expect(renewalDue("2027-01-04T00:00:00Z", 30, now)).toBe(true);
    expect(renewalDue("2026-12-01T00:00:00Z", 30, now)).toBe(true);
  });

  it("trusts the CA before a rotation for the update that rotates, until it expires", () => {
    const old = { ca: "OLD\n", caNotAfter: "2030-01-01T00:00:00Z" };
    expect(trustBundle("NEW\n", old, now)).toBe("NEW\nOLD\n");
    expect(trustBundle("OLD\n", old, now)).toBe("OLD\n");
    expect(trustBundle("NEW\n", { ...old, caNotAfter: "2026-01-01T00:00:00Z" }, now)).toBe("NEW\n");
    expect(trustBundle("NEW\n", undefined, now)).toBe("NEW\n");
  });
});

describe("Prometheus's web password", () => {
  it("is a bcrypt hash of the password, the same each time, and another for another password", () => {
    const hash = webPasswordHash("correct horse battery staple 0123");
    expect(hash).toMatch(/^\$2b\$10\$/);
    expect(bcrypt.compareSync("correct horse battery staple 0123", hash)).toBe(true);
    expect(bcrypt.compareSync("wrong", hash)).toBe(false);
    expect(webPasswordHash("correct horse battery staple 0123")).toBe(hash);
    expect(webPasswordHash("another password")).not.toBe(hash);
  });
});
