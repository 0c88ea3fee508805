// hyperscaler's certificate issuer: what the stack's certificate resources run (a
// `command.local.Command`, so what it prints is kept, secret, in the stack's state and
// only a trigger makes a new one). Reads one request as JSON on stdin, prints
// {"cert","key","notAfter"}: PEM, PKCS#8 PEM and an ISO time. ECDSA P-256 keys from Node's
// crypto; the X.509 structures from @peculiar/x509.
//   {"kind":"ca","commonName":"…","days":3650}
//   {"kind":"leaf","commonName":"…","dnsNames":["…"],"ipAddresses":["…"],
//    "usages":["server","client"],"days":90,"ca":{"cert":"PEM","key":"PEM"}}
//   {"kind":"ssh","commonName":"…"}: an SSH key pair instead, {"key","publicKey","fingerprint"}:
//    the private key as SEC1 PEM (what OpenSSH and libssh2 both read), the public key as an
//    authorized_keys line, and the SHA-256 of its blob in hex (pgBackRest's host fingerprint).
// Plain JavaScript: it runs under `node` from the project's root, with no build step.
"use strict";
require("reflect-metadata");
const x509 = require("@peculiar/x509");
const crypto = require("node:crypto");

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
/** Certificates start a little in the past: workstations' clocks differ by seconds, sometimes minutes. */
const BACKDATE_MS = 5 * 60 * 1000;
const subtle = crypto.webcrypto.subtle;
x509.cryptoProvider.set(crypto.webcrypto);

function fail(message) {
  process.stderr.write(`hyperscaler certificate issuer: ${message}\n`);
  process.exit(2);
}

/** A random positive serial number (RFC 5280: at most 20 octets, positive). */
function serialNumber() {
  const bytes = crypto.randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString("hex");
}

function validity(days) {
  if (!(typeof days === "number" && days > 0)) fail(`"days" must be a positive number (got ${JSON.stringify(days)})`);
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * 86400e3) };
}

/** PEM text ends in a newline (concatenated PEMs stay one block a line). */
const pem = (text) => (text.endsWith("\n") ? text : `${text}\n`);

async function pkcs8Pem(privateKey) {
  const der = Buffer.from(await subtle.exportKey("pkcs8", privateKey));
  return pem(x509.PemConverter.encode(der, "PRIVATE KEY"));
}

async function issueCa(req) {
  const keys = await subtle.generateKey(ALG, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(), name: [{ CN: [req.commonName] }], ...validity(req.days), keys, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: pem(cert.toString("pem")), key: await pkcs8Pem(keys.privateKey), notAfter: cert.notAfter.toISOString() };
}

async function issueLeaf(req) {
  if (!req.ca || !req.ca.cert || !req.ca.key) fail('a leaf certificate needs "ca": {"cert","key"}');
  const caCert = new x509.X509Certificate(req.ca.cert);
  const caDer = crypto.createPrivateKey(req.ca.key).export({ format: "der", type: "pkcs8" });
  const caKey = await subtle.importKey("pkcs8", caDer, ALG, false, ["sign"]);
  const keys = await subtle.generateKey(ALG, true, ["sign", "verify"]);
  const usages = req.usages || ["server"];
  const eku = usages.map((u) => ({ server: x509.ExtendedKeyUsage.serverAuth, client: x509.ExtendedKeyUsage.clientAuth })[u] || fail(`unknown usage '${u}'`));
  const names = [...(req.dnsNames || []).map((value) => ({ type: "dns", value })), ...(req.ipAddresses || []).map((value) => ({ type: "ip", value }))];
  const time = validity(req.days);
  // Never valid past the CA: a client would refuse the chain then anyway.
  if (time.notAfter > caCert.notAfter) time.notAfter = caCert.notAfter;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(), subject: [{ CN: [req.commonName] }], issuer: caCert.subject, ...time,
    publicKey: keys.publicKey, signingKey: caKey, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(eku, false),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: pem(cert.toString("pem")), key: await pkcs8Pem(keys.privateKey), notAfter: cert.notAfter.toISOString() };
}

/** An SSH string: its length (4 bytes, big-endian), then its bytes. */
function sshString(bytes) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, Buffer.from(bytes)]);
}

function sshKey(req) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  const type = "ecdsa-sha2-nistp256";
  const blob = Buffer.concat([sshString(type), sshString("nistp256"), sshString(point)]);
  return {
    key: pem(privateKey.export({ format: "pem", type: "sec1" })),
    publicKey: `${type} ${blob.toString("base64")} ${req.commonName}`,
    fingerprint: crypto.createHash("sha256").update(blob).digest("hex"),
  };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  let req;
  try { req = JSON.parse(Buffer.concat(chunks).toString("utf8")); } catch (e) { fail(`stdin is not a JSON request: ${e.message}`); }
  if (!req.commonName) fail('"commonName" is required');
  const out = req.kind === "ca" ? await issueCa(req) : req.kind === "leaf" ? await issueLeaf(req) : req.kind === "ssh" ? sshKey(req) : fail(`unknown kind ${JSON.stringify(req.kind)}`);
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
