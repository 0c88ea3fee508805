/**
 * SLURM hostlist expressions: `node[001-003,007]` for node001, node002, node003, node007.
 * Pure and byte-stable: hosts are sorted by prefix, then by number, so the same set
 * always renders the same text, and homogeneous nodes render as one short range.
 */

interface ParsedHost { prefix: string; digits: string; suffixOk: boolean }

function parse(host: string): ParsedHost {
  const m = /^(.*?)(\d+)$/.exec(host);
  return m ? { prefix: m[1], digits: m[2], suffixOk: true } : { prefix: host, digits: "", suffixOk: false };
}

/** Compresses host names into one hostlist expression. Duplicates are an error. */
export function compressHostlist(hosts: readonly string[]): string {
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h)) throw new Error(`duplicate host '${h}' in hostlist`);
    seen.add(h);
  }
  // Group by prefix and digit width: node01 and node001 are different hosts and ranges.
  const groups = new Map<string, { prefix: string; width: number; numbers: number[] }>();
  const plain: string[] = [];
  for (const h of hosts) {
    const p = parse(h);
    if (!p.suffixOk) { plain.push(h); continue; }
    const key = `${p.prefix}\u0000${p.digits.length}`;
    const g = groups.get(key) ?? { prefix: p.prefix, width: p.digits.length, numbers: [] };
    g.numbers.push(Number(p.digits));
    groups.set(key, g);
  }
  const parts = [...groups.values()]
    .sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : a.width - b.width))
    .map(({ prefix, width, numbers }) => {
      const pad = (n: number) => String(n).padStart(width, "0");
      const ranges = toRanges(numbers.sort((a, b) => a - b)).map(([lo, hi]) => (lo === hi ? pad(lo) : `${pad(lo)}-${pad(hi)}`));
      return numbers.length === 1 ? `${prefix}${ranges[0]}` : `${prefix}[${ranges.join(",")}]`;
    });
  return [...parts, ...plain.sort()].join(",");
}

function toRanges(sorted: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const n of sorted) {
    const last = out[out.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else out.push([n, n]);
  }
  return out;
}

/** Expands a hostlist expression (the subset compressHostlist writes) into host names. */
export function expandHostlist(expr: string): string[] {
  const hosts: string[] = [];
  for (const part of splitTopLevel(expr)) {
    const m = /^([^[\]]*)\[([^\]]+)\]$/.exec(part);
    if (!m) { hosts.push(part); continue; }
    for (const range of m[2].split(",")) {
      const [lo, hi = lo] = range.split("-");
      for (let n = Number(lo); n <= Number(hi); n++) hosts.push(`${m[1]}${String(n).padStart(lo.length, "0")}`);
    }
  }
  return hosts;
}

function splitTopLevel(expr: string): string[] {
  const parts: string[] = [];
  let depth = 0, cur = "";
  for (const ch of expr) {
    if (ch === "[") depth++;
    if (ch === "]") depth--;
    if (ch === "," && depth === 0) { parts.push(cur); cur = ""; } else cur += ch;
  }
  if (cur) parts.push(cur);
  return parts;
}
