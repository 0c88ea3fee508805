import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compressHostlist, expandHostlist } from "../../components/render/hostlist";

const hostName = fc.tuple(fc.constantFrom("cpu", "gpu", "node", "n"), fc.integer({ min: 0, max: 400 }), fc.constantFrom(2, 3, 4))
  .map(([prefix, n, width]) => `${prefix}${String(n).padStart(width, "0")}`);

describe("hostlist", () => {
  it("renders 128 homogeneous nodes as one range", () => {
    const hosts = Array.from({ length: 128 }, (_, i) => `node${String(i + 1).padStart(3, "0")}`);
    expect(compressHostlist(hosts)).toBe("node[001-128]");
  });

  it("sorts, splits gaps into ranges and keeps digit widths apart", () => {
    expect(compressHostlist(["gpu02", "cpu003", "cpu001", "cpu002", "cpu007", "gpu1", "login"]))
      .toBe("cpu[001-003,007],gpu1,gpu02,login");
  });

  it("fails when two nodes share a hostname", () => {
    expect(() => compressHostlist(["cpu001", "cpu001"])).toThrow(/duplicate host 'cpu001'/);
  });

  it("round-trips any set of hosts, independent of input order", () => {
    fc.assert(fc.property(fc.uniqueArray(hostName, { minLength: 1, maxLength: 60 }), (hosts) => {
      const expr = compressHostlist(hosts);
      expect(new Set(expandHostlist(expr))).toEqual(new Set(hosts));
      expect(expandHostlist(expr)).toHaveLength(hosts.length);
      expect(compressHostlist([...hosts].reverse())).toBe(expr);
    }));
  });
});
