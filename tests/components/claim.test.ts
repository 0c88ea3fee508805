import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { claimProblems, stackIdentity } from "../../components/cluster";

// Which stack holds a cluster's name on an engine: the rules, without an engine. The
// refusal itself, against real Docker objects and a second checkout, is in tests/e2e/cluster.test.ts.

describe("a stack's identity", () => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), "claim-"));
  const fqn = "organization/hyperscaler/dev";

  it("is its backend and its name: PULUMI_BACKEND_URL first, then Pulumi.yaml's backend.url, then the login", () => {
    const home = path.join(project, "home");
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, "credentials.json"), JSON.stringify({ current: "https://api.example.org" }));
    expect(stackIdentity(fqn, { PULUMI_BACKEND_URL: "file:///a/state/", PULUMI_HOME: home }, project)).toBe("file:///a/state#organization/hyperscaler/dev");
    expect(stackIdentity(fqn, { PULUMI_HOME: home }, project)).toBe("https://api.example.org#organization/hyperscaler/dev");
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: hyperscaler\nbackend:\n  url: s3://bucket/state\n");
    expect(stackIdentity(fqn, { PULUMI_HOME: home }, project)).toBe("s3://bucket/state#organization/hyperscaler/dev");
  });

  it("never carries a password from the backend URL", () => {
    const id = stackIdentity(fqn, { PULUMI_BACKEND_URL: "postgres://pulumi:s3cret@db.lan:5432/state?sslmode=require&password=s3cret&passfile=/p&access_key=k1" }, project);
    expect(id).toBe("postgres://pulumi@db.lan:5432/state?sslmode=require#organization/hyperscaler/dev");
    expect(stackIdentity(fqn, { PULUMI_BACKEND_URL: "s3://bucket/state?region=eu-west-1" }, project)).toBe("s3://bucket/state?region=eu-west-1#organization/hyperscaler/dev");
  });

  it("differs between two checkouts' backends for the same stack name", () => {
    expect(stackIdentity(fqn, { PULUMI_BACKEND_URL: "file:///home/a/hyperscaler/.state" }, project))
      .not.toBe(stackIdentity(fqn, { PULUMI_BACKEND_URL: "file:///home/b/hyperscaler/.state" }, project));
  });
});

describe("the claim on a cluster's name", () => {
  const me = "file:///a#organization/hyperscaler/dev";
  const other = "file:///b#organization/hyperscaler/dev";
  const objects = ["container dev-controller", "volume dev-slurmctld-state", "network dev-net"];

  it("lets a stack take a free name, and its own", () => {
    expect(claimProblems("dev", me, { objects: [] }, false)).toEqual([]);
    expect(claimProblems("dev", me, { claimedBy: me, objects }, false)).toEqual([]);
  });

  it("refuses another stack's claim, naming the holder, its objects and the fixes", () => {
    const [p] = claimProblems("dev", me, { claimedBy: other, objects }, true, " on workstation ws2 (ssh://ws2)");
    expect(p).toBe("hyperscaler:clusterName: 'dev' is held on workstation ws2 (ssh://ws2) by another stack, file:///b#organization/hyperscaler/dev " +
      "(volume dev-claim; its objects: container dev-controller, volume dev-slurmctld-state, network dev-net); nothing was made or adopted. " +
      "Choose another name (pulumi config set hyperscaler:clusterName <name>), or destroy that stack first (pulumi destroy where it is deployed from). " +
      "If that stack is gone and nothing needs its objects, remove them with the claim: docker volume rm dev-claim");
  });

  it("refuses unclaimed objects to a new stack, and lets the stack that deployed them before claims existed take them", () => {
    expect(claimProblems("dev", me, { objects }, false)[0]).toMatch(/^hyperscaler:clusterName: 'dev' is in use by Docker objects this stack did not make: container dev-controller, volume dev-slurmctld-state, network dev-net; nothing was made or adopted/);
    expect(claimProblems("dev", me, { objects }, true)).toEqual([]);
  });

  it("names eight objects and counts the rest", () => {
    const many = Array.from({ length: 11 }, (_, i) => `container dev-cpu${String(i + 1).padStart(3, "0")}`);
    expect(claimProblems("dev", me, { objects: many }, false)[0]).toContain("dev-cpu008 and 3 more;");
  });
});
