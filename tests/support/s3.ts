import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./run";

/** A test S3 server over HTTPS (s3rver), its certificate signed by a CA of its own. */
export interface S3Server {
  /** host:port, as hyperscaler:backupRepository.s3.endpoint takes it. */
  readonly endpoint: string;
  readonly bucket: string;
  /** The one key pair it takes. */
  readonly keys: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The CA that signed the server's certificate (PEM), for s3.caFile. */
  readonly caFile: string;
  /** The objects under PREFIX in the bucket, by key (s3rver keeps each as a file). */
  objects(prefix: string): string[];
  /** Stops the server and removes its files. */
  stop(): void;
}

/**
 * Starts an S3 server on ADDRESS (127.0.0.1, or the Docker bridge's gateway for containers
 * to reach) with one bucket. A child of the test's worker: an interrupted run's clean-up
 * kills it with the worker's other children.
 */
export async function startS3Server(bucket: string, address = "127.0.0.1"): Promise<S3Server> {
  const keys = { accessKeyId: `AKIATEST${randomBytes(6).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(24).toString("base64") };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperscaler-s3-"));
  const openssl = (...args: string[]) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=hyperscaler test S3 CA");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=s3");
  fs.writeFileSync(path.join(dir, "san.ext"), `subjectAltName=IP:${address},DNS:localhost\n`);
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext");
  const port = freePort();
  const data = path.join(dir, "data");
  const child = spawn(process.execPath, [path.join(__dirname, "s3-server.js"), address, String(port), data, "server.pem", "server.key", bucket, keys.accessKeyId, keys.secretAccessKey], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (d) => { output += d; if (output.includes("listening")) resolve(); });
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) => reject(new Error(`the S3 server exited (${code}): ${output}`)));
  });
  return {
    endpoint: `${address}:${port}`,
    bucket,
    keys,
    caFile: path.join(dir, "ca.pem"),
    objects(prefix: string) {
      const root = path.join(data, bucket);
      if (!fs.existsSync(root)) return [];
      // s3rver stores an object KEY as KEY._S3rver_object, with its metadata beside it.
      return (fs.readdirSync(root, { recursive: true }) as string[])
        .filter((f) => f.endsWith("._S3rver_object")).map((f) => f.slice(0, -"._S3rver_object".length)).filter((k) => k.startsWith(prefix)).sort();
    },
    stop() {
      child.kill("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
