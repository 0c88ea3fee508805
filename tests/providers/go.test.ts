import { describe, expect, it } from "vitest";
import * as path from "node:path";
import { REPO, run } from "../support/run";

// The plugins' own unit tests (password generation, Check's refusals, diffs, masking),
// with the module cache setup filled; -mod=readonly as setup builds them.
describe("providers/ Go unit tests", () => {
  it("pass, and go vet finds nothing", () => {
    const env = { GOFLAGS: "-mod=readonly -buildvcs=false", GONOSUMDB: "github.com/pulumi" };
    const vet = run("go", ["vet", "./..."], { cwd: path.join(REPO, "providers"), env });
    expect(vet.code, vet.output).toBe(0);
    const test = run("go", ["test", "./..."], { cwd: path.join(REPO, "providers"), env });
    expect(test.code, test.output).toBe(0);
    expect(test.stdout).toMatch(/^ok\s+hyperscaler\.local\/providers\/random/m);
  }, 900_000); // on a fresh machine vet and test compile the bridge and the SDK for themselves: minutes
});
