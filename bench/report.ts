/** Runs per figure: BENCH_RUNS, 3 unless set. */
export const RUNS = Number(process.env.BENCH_RUNS ?? 3);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds since `t0` (from performance.now()). */
export const since = (t0: number) => (performance.now() - t0) / 1000;

/** Prints one figure as `bench | name | value unit | detail` (grep-able) and returns it. */
export function report(name: string, value: number | string, unit: string, detail = ""): string {
  const shown = typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : value;
  const line = `bench | ${name} | ${shown} ${unit}${detail ? ` | ${detail}` : ""}`;
  console.log(line);
  return line;
}
