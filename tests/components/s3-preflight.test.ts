import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Problems } from "../../components/cluster";
import { parseStackConfig } from "../../components/config";
import { freePort } from "../support/run";
import { S3Server, startS3Server } from "../support/s3";

// The bucket's preflight against a real S3 server over HTTPS (s3rver, its own CA): each
// refusal names the config path to fix, and none prints the key pair.
const secret = () => true;
let server: S3Server;
let keys: S3Server["keys"];
beforeAll(async () => { server = await startS3Server("hpc-backups"); keys = server.keys; });
afterAll(() => server?.stop());

const configWith = (s3: Record<string, unknown>) => parseStackConfig({
  "hyperscaler:clusterName": "dev", "hyperscaler:nodeGroups": '{"cpu":{"count":1}}',
  "hyperscaler:postgres": JSON.stringify({ roles: { app: { database: "appdb" } } }),
  "hyperscaler:backupRepository": JSON.stringify({ s3: { endpoint: server.endpoint, bucket: server.bucket, uriStyle: "path", caFile: server.caFile, ...keys, ...s3 } }),
});
const problemsOf = async (s3: Record<string, unknown>, isSecret = secret) => {
  const found = await s3Problems(configWith(s3), isSecret);
  for (const p of found) for (const k of Object.values(keys)) expect(p).not.toContain(k);
  return found;
};

describe("the S3 bucket's preflight", () => {
  it("passes a bucket that answers a signed HEAD over HTTPS, its certificate checked against caFile", async () => {
    expect(await problemsOf({})).toEqual([]);
  });

  it("refuses a key pair set in plain text, before any request", async () => {
    expect(await problemsOf({ endpoint: "127.0.0.1:9" }, () => false)).toEqual([
      expect.stringMatching(/^hyperscaler:backupRepository\.s3\.secretAccessKey: is in plain text .* pulumi config set --secret --path 'hyperscaler:backupRepository\.s3\.secretAccessKey'/)]);
  });

  it("names caFile for a certificate it cannot trust, or a CA file it cannot read", async () => {
    expect(await problemsOf({ caFile: undefined })).toEqual([
      expect.stringMatching(/^hyperscaler:backupRepository\.s3\.caFile: 127\.0\.0\.1:\d+'s certificate is not trusted \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\): give the CA that signed it/)]);
    expect(await problemsOf({ caFile: "/nonexistent/ca.pem" })).toEqual([
      expect.stringMatching(/^hyperscaler:backupRepository\.s3\.caFile: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/)]);
  });

  it("names the key pair when the endpoint refuses it", async () => {
    const found = await s3Problems(configWith({ accessKeyId: "AKIANOTTHEKEY" }), secret);
    expect(found).toEqual([expect.stringMatching(/^hyperscaler:backupRepository\.s3\.accessKeyId: the endpoint refuses the key pair for bucket 'hpc-backups' \(403\)/)]);
    expect(found.join()).not.toContain(keys.secretAccessKey);
  });

  it("names the bucket when the server has none by that name", async () => {
    expect(await problemsOf({ bucket: "no-such-bucket" })).toEqual([
      expect.stringMatching(/^hyperscaler:backupRepository\.s3\.bucket: 127\.0\.0\.1:\d+ has no bucket 'no-such-bucket' \(404\): make it first/)]);
  });

  it("names the endpoint when nothing answers there, or it does not speak HTTPS", async () => {
    const closed = `127.0.0.1:${freePort()}`;
    expect(await problemsOf({ endpoint: closed })).toEqual([
      expect.stringMatching(new RegExp(`^hyperscaler:backupRepository\\.s3\\.endpoint: https://${closed}/hpc-backups does not answer \\(ECONNREFUSED\\)`))]);
    const plain = http.createServer((_, res) => res.end("not S3"));
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    try {
      const port = (plain.address() as { port: number }).port;
      expect(await problemsOf({ endpoint: `127.0.0.1:${port}` })).toEqual([
        expect.stringMatching(/^hyperscaler:backupRepository\.s3\.endpoint: 127\.0\.0\.1:\d+ does not speak HTTPS .*pgBackRest reaches S3 over TLS only/)]);
    } finally {
      plain.close();
    }
  });
});
