import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import { docker } from "./docker";
import { REPO, run } from "./run";

/** Debian's chromium-headless-shell on the base image (tests/fixtures/browser). */
export function buildBrowser(): string {
  const tag = "hyperscaler/browser:test";
  docker(["build", "-q", "--build-arg", `BASE_IMAGE=${process.env.HYPERSCALER_BASE_IMAGE}`, "-t", tag, path.join(REPO, "tests/fixtures/browser")]);
  return tag;
}

/** Where tests keep what a person looks at afterwards (screenshots): HYPERSCALER_TEST_ARTIFACTS, else tests/artifacts. */
export function artifactsDir(): string {
  const dir = process.env.HYPERSCALER_TEST_ARTIFACTS ?? path.join(REPO, "tests/artifacts");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** What a Perses panel shows once the page has settled. */
export interface PanelView {
  readonly title: string;
  /** The panel's error, when its query failed. */
  readonly error?: string;
  /** A time series chart's legend: one entry per series it draws (none: "No data", drawn on its canvas). */
  readonly series: readonly string[];
  /** A stat chart's value, as shown. */
  readonly value?: string;
}

/** It draws something from its query: a series, or a number. */
export const draws = (p: PanelView): boolean => !p.error && (p.series.length > 0 || /^-?\d/.test(p.value ?? ""));

const TIME_BUDGET_MS = 20_000;
const WINDOW = "--window-size=1600,1400";

/**
 * Opens `url` as an operator's browser on the workstation does (the host's network: the
 * published 127.0.0.1 port) and reads every Perses panel of the rendered page.
 */
export function openDashboard(image: string, url: string, keepAs?: string): PanelView[] {
  const r = run("docker", ["run", "--rm", "--network", "host", image, WINDOW, `--virtual-time-budget=${TIME_BUDGET_MS}`, "--dump-dom", url]);
  if (r.code !== 0) throw new Error(`chromium-headless-shell could not open ${url}: ${r.output}`);
  if (keepAs) fs.writeFileSync(path.join(artifactsDir(), keepAs), r.stdout);
  const text = (html: string) => html.replace(/<svg.*?<\/svg>/gs, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
  return r.stdout.split('data-testid="panel"').slice(1).map((chunk) => {
    const alert = /role="alert"[^>]*>(.*?)<\/div><\/div>/s.exec(chunk);
    const legend = /<ul class="[^"]*">(.*?)<\/ul>/s.exec(chunk)?.[1] ?? "";
    const value = /<h3 [^>]*>([^<]*)<\/h3>/.exec(chunk)?.[1];
    return {
      title: /id="Panel-\d+-header-title" aria-label="([^"]*)"/.exec(chunk)?.[1] ?? "?",
      ...(alert || chunk.includes('aria-label="panel errors"') ? { error: alert ? text(alert[1]) : "panel errors" } : {}),
      series: [...legend.matchAll(/role="listitem".*?MuiListItemText-primary[^>]*>([^<]*)</gs)].map((m) => m[1]),
      ...(value !== undefined ? { value } : {}),
    };
  });
}

/** A screenshot of `url` into the artifacts folder, as `file`. */
export function screenshot(image: string, url: string, file: string): string {
  const dir = artifactsDir();
  fs.chmodSync(dir, 0o777);
  const r = run("docker", ["run", "--rm", "--network", "host", "-v", `${dir}:/out`, image, WINDOW, `--virtual-time-budget=${TIME_BUDGET_MS}`, `--screenshot=/out/${file}`, url]);
  if (r.code !== 0) throw new Error(`chromium-headless-shell could not take a screenshot of ${url}: ${r.output}`);
  return path.join(dir, file);
}

/**
 * Opens the dashboards of Perses project `project` at 127.0.0.1:`port` (those named in
 * `only`, else all) until every panel draws (a rate needs two scrapes: up to a minute), and
 * keeps a screenshot of each: what each panel shows, by dashboard. Fails naming the panel
 * that does not draw.
 */
export async function dashboardsDrawn(port: number, project: string, only?: readonly string[]): Promise<Record<string, PanelView[]>> {
  const base = `http://127.0.0.1:${port}`;
  const list = () => run("curl", ["-fsS", `${base}/api/v1/projects/${project}/dashboards`]);
  let listed = list();
  // Seen once: an HTTP error from the listing for a moment, the project served again right
  // after (the server re-reads its provisioning folder every 2 s). A few looks, then fail with it.
  for (let i = 0; i < 10 && listed.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    listed = list();
  }
  expect(listed.code, listed.output).toBe(0);
  type Served = { metadata: { name: string }; spec: { panels: Record<string, { spec: { display: { name: string } } }> } };
  const dashboards = (JSON.parse(listed.stdout) as Served[]).filter((d) => !only || only.includes(d.metadata.name));
  if (only) expect(dashboards.map((d) => d.metadata.name).sort()).toEqual([...only].sort());
  const browser = buildBrowser();
  const drawn: Record<string, PanelView[]> = {};
  for (const d of dashboards) {
    const name = d.metadata.name;
    // The last 5 minutes: a test cluster's whole life, where the default hour squeezes it to the right edge.
    const url = `${base}/projects/${project}/dashboards/${name}?start=5m`;
    const titles = Object.values(d.spec.panels).map((p) => p.spec.display.name).sort();
    let panels: PanelView[] = [];
    let tries = 0;
    for (; tries < 12 && !(panels.length === titles.length && panels.every(draws)); tries++) {
      if (tries) await new Promise((r) => setTimeout(r, 5000));
      panels = openDashboard(browser, url, `${name}.html`);
    }
    expect(panels.map((p) => p.title).sort(), name).toEqual(titles);
    for (const p of panels) expect(draws(p), `${name} / ${p.title}: ${JSON.stringify(p)}`).toBe(true);
    console.log(`dashboard ${name}: ${panels.length} panels drawn after ${tries} look(s); ${screenshot(browser, url, `${name}.png`)}`);
    drawn[name] = panels;
  }
  return drawn;
}
