import { describe, expect, it } from "vitest";
import { leakedSecrets, secretForms } from "./run";

// The secret scans of the e2e tests are only as good as this: it must find a secret in
// every encoding the code could write, and nothing else.
describe("leakedSecrets", () => {
  const secret = Buffer.from("k3y!material-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ");
  it.each([
    ["raw", secret.toString("latin1")],
    ["base64", secret.toString("base64")],
    ["hex", secret.toString("hex")],
    ["HEX", secret.toString("hex").toUpperCase()],
    ["a piece of the base64", secret.toString("base64").slice(10, 60)],
    ["wrapped base64", secret.toString("base64").replace(/(.{40})/g, "$1\n")],
  ])("finds it written %s", (_how, written) => {
    expect(leakedSecrets(`{"outputs":{"x":"${written}"}}`, { key: secret })).toEqual(["key"]);
  });

  it("finds nothing in text without it", () => {
    expect(leakedSecrets("sha256:0123456789abcdef and other things", { key: secret })).toEqual([]);
    expect(secretForms("short")).toEqual(["short", "c2hvcnQ=", "73686f7274", "73686F7274"]);
  });
});
