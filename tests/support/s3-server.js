// An S3-compatible server for tests (s3rver, from npm) over HTTPS: node s3-server.js
// ADDRESS PORT DIR CERT KEY BUCKET ACCESS_KEY_ID SECRET_ACCESS_KEY. Prints "listening" once
// it serves; stops on SIGTERM. It refuses any other access key ID (403), and checks no
// SigV4 signature: a wrong secret key goes unnoticed here.
const fs = require("node:fs");
const S3rver = require("s3rver");
const account = require("s3rver/lib/models/account");

// s3rver 3.7.1 walks one folder below the prefix when a delimiter is given, so a common
// prefix whose objects are two levels down is missed (pgBackRest lists archive/<stanza>/
// so: "17-1/" holds only folders). List every object under the prefix, then fold.
const FilesystemStore = require("s3rver/lib/stores/filesystem");
const listAll = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const { delimiter = "", prefix = "", maxKeys = Infinity } = options;
  if (!delimiter) return listAll.call(this, bucket, options);
  const { objects: all } = await listAll.call(this, bucket, { ...options, delimiter: "", maxKeys: Infinity });
  const objects = [];
  const commonPrefixes = new Set();
  let isTruncated = false;
  for (const object of all.sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const at = object.key.slice(prefix.length).indexOf(delimiter);
    if (at !== -1) commonPrefixes.add(object.key.slice(0, prefix.length + at + 1));
    else if (objects.length < maxKeys) objects.push(object);
    else { isTruncated = true; break; }
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
};

const [address, port, directory, cert, key, bucket, accessKeyId, secretAccessKey] = process.argv.slice(2);
account.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
account.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
new S3rver({ address, port: Number(port), directory, cert: fs.readFileSync(cert), key: fs.readFileSync(key), silent: true, configureBuckets: [{ name: bucket }] })
  .run()
  .then(() => console.log("listening"), (e) => { console.error(e); process.exit(1); });
process.on("SIGTERM", () => process.exit(0));
