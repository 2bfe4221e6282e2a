/** @module Login → JupyterLab in headless Chromium, fresh browser context each time: first spawn through the gateway,
 *  the same login with the server already running, the page straight from a running server (no gateway), and
 *  the first page of a server just started by hand (no gateway): a fresh server's first page costs more than
 *  later ones (Jupyter renders and reads its files for the first time), and a first spawn always pays it. */
import { chromium, type Browser, type Page } from 'playwright-core';
import { fmt, median, startServer, stopServer, table, type Gateway } from './lib.ts';

const LAUNCH = { executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] };
const TIMEOUT = 300_000;

export const FIRST_SPAWN = 'login → first spawn → lab (gateway)';
export const FIRST_PAGE = 'first lab page of a server just started by hand (no gateway)';

/** Where the time to the load event went, from the final document's Navigation Timing: `before` = act → that
 *  document's navigation start (login POST and pending page on a first spawn), `redirects` = same-origin
 *  redirects on its way (the login POST's own answer among them), `document` = request → last byte of the HTML,
 *  `assets` = HTML received → load event (scripts, styles: `requests` of them, fetched before load). */
interface Phases { before: number; redirects: number; document: number; assets: number; requests: number }
export type BrowserResult = Record<string, { loadMs: number[]; shellMs: number[]; phases: Phases[] }>;

/** ms from `act` (from the login form's submit event when there is one) until the JupyterLab document's load
 *  event, and until its shell is visible. */
async function timeLab(browser: Browser, prepare: (p: Page) => Promise<void>, act: (p: Page) => Promise<unknown>) {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await prepare(page);
    let t0 = Date.now();                                      // wall clock, as the page's performance.timeOrigin
    await act(page);
    await page.locator('#jupyter-config-data').waitFor({ state: 'attached' });   // JupyterLab's page, not the pending page
    await page.waitForLoadState('load');
    const nav = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { submitAt: Number(sessionStorage.getItem('kicloud-bench-submit-at')), origin: performance.timeOrigin,
        redirectStart: n.redirectStart, redirectEnd: n.redirectEnd, fetchStart: n.fetchStart, responseEnd: n.responseEnd,
        loadEventStart: n.loadEventStart, requests: performance.getEntriesByType('resource').filter((r) => r.startTime < n.loadEventStart).length };
    });
    // A login is timed from the form's submit event (READINGS #1: from the login POST), not from Playwright's
    // click, which spends 50-130 ms here on its own checks before the browser submits.
    t0 = nav.submitAt || t0;
    await page.locator('.jp-LabShell').waitFor({ state: 'visible' });
    const phases: Phases = { before: nav.origin - t0, redirects: nav.redirectEnd - nav.redirectStart,
      document: nav.responseEnd - nav.fetchStart, assets: nav.loadEventStart - nav.responseEnd, requests: nav.requests };
    return { load: nav.origin + nav.loadEventStart - t0, shell: Date.now() - t0, phases };
  } finally {
    await ctx.close();
  }
}

export interface FreshServer { url: string; stop: () => Promise<void> }

/** Each first spawn runs with no other user server up, as the bare starts it is compared with were measured: the
 *  servers are stopped after their first-spawn run and started again (untimed) for the runs that need them. */
export async function browserRuns(o: { gw: Gateway; users: string[]; password: (u: string) => string;
  directServer: () => Promise<FreshServer>; freshServer: (run: number) => Promise<FreshServer> }): Promise<BrowserResult> {
  const browser = await chromium.launch(LAUNCH);
  const out: BrowserResult = {};
  const record = (name: string, r: { load: number; shell: number; phases: Phases }) => {
    out[name] ??= { loadMs: [], shellMs: [], phases: [] };
    out[name].loadMs.push(r.load);
    out[name].shellMs.push(r.shell);
    out[name].phases.push(r.phases);
  };
  const loginThenLab = (u: string) => [async (p: Page) => {
    await p.goto(`${o.gw.url}/hub/login?next=${encodeURIComponent(`/user/${u}/lab`)}`);
    await p.fill('#username', u);
    await p.fill('#password', o.password(u));
    await p.evaluate(() => document.querySelector('form')!.addEventListener('submit', () =>
      sessionStorage.setItem('kicloud-bench-submit-at', String(performance.timeOrigin + performance.now()))));
  }, (p: Page) => p.click('#login_submit')] as const;
  try {
    for (const u of o.users) {
      record(FIRST_SPAWN, await timeLab(browser, ...loginThenLab(u)));
      await stopServer(o.gw, u);
    }
    for (const u of o.users) {
      await startServer(o.gw, u);
      record('login → lab, server running (gateway)', await timeLab(browser, ...loginThenLab(u)));
      await stopServer(o.gw, u);
    }
    const direct = await o.directServer();
    try {
      // Untimed: a server's first page costs more (FIRST_PAGE measures that); this case is the page once served.
      await timeLab(browser, async () => {}, (p) => p.goto(direct.url, { waitUntil: 'commit' }));
      for (let i = 0; i < o.users.length; i++) {
        record('lab from the running server (no gateway)', await timeLab(browser, async () => {}, (p) => p.goto(direct.url, { waitUntil: 'commit' })));
      }
    } finally {
      await direct.stop();
    }
    for (let i = 0; i < o.users.length; i++) {
      const fresh = await o.freshServer(i);
      try {
        record(FIRST_PAGE, await timeLab(browser, async () => {}, (p) => p.goto(fresh.url, { waitUntil: 'commit' })));
      } finally {
        await fresh.stop();
      }
    }
  } finally {
    await browser.close();
    for (const u of o.users) await stopServer(o.gw, u).catch(() => {});
  }
  return out;
}

export function printBrowser(r: BrowserResult): void {
  const n = Object.values(r)[0]?.loadMs.length ?? 0;
  console.log(`\n== Headless Chromium, fresh context each (median of ${n}): from the login form's submit event (or goto) to JupyterLab's load event and to its shell shown ==`);
  console.log(table(['case', 'load event ms', 'shell visible ms'],
    Object.entries(r).map(([name, v]) => [name, fmt(median(v.loadMs)), fmt(median(v.shellMs))])));
  console.log('\nWhere the time to the load event went (medians, ms; see Phases in spawn-browser.ts):');
  const keys = ['before', 'redirects', 'document', 'assets', 'requests'] as const;
  console.log(table(['case', ...keys], Object.entries(r).map(([name, v]) => [name, ...keys.map((k) => fmt(median(v.phases.map((p) => p[k]))))])));
}
