/** @module Login → JupyterLab in headless Chromium, fresh browser context each time: first spawn through the gateway,
 *  the same login with the server already running, the page straight from a running server (no gateway), and
 *  the first page of a server just started by hand (no gateway): a fresh server's first page costs more than
 *  later ones (Jupyter renders and reads its files for the first time), and a first spawn always pays it. */
import { chromium, type Browser, type Page } from 'playwright-core';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLK_TCK, fmt, median, procStat, startServer, stopServer, table, type Gateway } from './lib.ts';

const LAUNCH = { executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] };
const TIMEOUT = 300_000;

export const FIRST_SPAWN = 'login → first spawn → lab (gateway)';
export const FIRST_PAGE = 'first lab page of a server just started by hand (no gateway)';
export const BARE_START_THEN_PAGE = 'start by hand, then its first lab page (no gateway)';
export const RUNNING_PAGE = 'lab from the running server (no gateway)';

/** Where the time to the load event went, from the final document's Navigation Timing: `before` = act → that
 *  document's navigation start (login POST and pending page on a first spawn), `redirects` = same-origin
 *  redirects on its way (the login POST's own answer among them), `document` = request → last byte of the HTML,
 *  `assets` = HTML received → load event (scripts, styles: `requests` of them, fetched before load). */
interface Phases { before: number; redirects: number; document: number; assets: number; requests: number }
export type BrowserResult = Record<string, { loadMs: number[]; shellMs: number[]; phases: Phases[]; settleMs: number[] }>;

/** CPU ticks per pid of the browser: every descendant of this process's `chromium` child (Playwright launches
 *  it as our child), whatever its own name. */
function browserTicks(): Map<number, number> {
  const parent = new Map<number, number>(), ticks = new Map<number, number>(), roots = new Set<number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let st: ReturnType<typeof procStat>;
    try { st = procStat(Number(d)); } catch { continue; }
    parent.set(Number(d), st.ppid);
    ticks.set(Number(d), st.ticks);
    if (st.ppid === process.pid && st.comm === 'chromium') roots.add(Number(d));
  }
  const inBrowser = (pid: number) => { for (let p = pid, i = 0; p > 1 && i < 64; p = parent.get(p) ?? 0, i++) if (roots.has(p)) return true; return false; };
  return new Map([...ticks].filter(([pid]) => inBrowser(pid)));
}

/** Ticks used between two samples: per process, so one that exits meanwhile does not look like idleness. */
const ticksBetween = (before: Map<number, number>, now: Map<number, number>) =>
  [...now].reduce((sum, [pid, t]) => sum + Math.max(0, t - (before.get(pid) ?? 0)), 0);

/** Waits until the browser has used under 5 % of a core for 500 ms (at most 15 s); returns the ms waited. A new
 *  context starts a renderer process that keeps a core busy for 1.5-2 s after its first page has loaded
 *  (measured here, on an idle page), and a person takes longer than that to type a password. Without this the
 *  login cases time that start-up on top of the server's start, two programs on two cores. Every case settles
 *  the same way before its timed action. */
async function settle(): Promise<number> {
  const t0 = performance.now();
  for (let before = browserTicks(); performance.now() - t0 < 15_000;) {
    await sleep(500);
    const now = browserTicks();
    if (ticksBetween(before, now) * (1000 / CLK_TCK) < 25) break;
    before = now;
  }
  return performance.now() - t0;
}

/** ms from `act` (from the login form's submit event when there is one) until the JupyterLab document's load
 *  event, and until its shell is visible. `prepare` loads a page of the origin `act` goes to; then the
 *  browser settles. */
async function timeLab(browser: Browser, prepare: (p: Page) => Promise<void>, act: (p: Page) => Promise<unknown>) {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await prepare(page);
    const settledMs = await settle();
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
    return { load: nav.origin + nav.loadEventStart - t0, shell: Date.now() - t0, phases, settledMs };
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
  const record = (name: string, r: { load: number; shell: number; phases: Phases; settledMs: number }) => {
    out[name] ??= { loadMs: [], shellMs: [], phases: [], settleMs: [] };
    out[name].settleMs.push(r.settledMs);
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
  // A page of the server's own origin (Jupyter's unauthenticated version endpoint), as the login page is the
  // gateway's: the timed goto then starts from a settled page of that origin, not from a renderer's start-up.
  const fromItsOrigin = (url: string) => async (p: Page) => { await p.goto(new URL('api', url.replace(/lab\?.*$/, '')).href); };
  const firstSpawn = async (u: string) => {
    record(FIRST_SPAWN, await timeLab(browser, ...loginThenLab(u)));
    await stopServer(o.gw, u);
  };
  // Started inside the timed action, once the browser has settled on a page of the same site (the gateway's
  // login page: 127.0.0.1, another port), and loaded the moment it answers, as a first spawn loads it (a
  // just-started server is still busy for a while after its first answer).
  const startByHandThenPage = async (run: number) => {
    const started: FreshServer[] = [];
    try {
      const r = await timeLab(browser, async (p) => { await p.goto(`${o.gw.url}/hub/login`); }, async (p) => {
        started.push(await o.freshServer(run));
        await p.goto(started[0].url, { waitUntil: 'commit' });
      });
      record(BARE_START_THEN_PAGE, r);
      const fromGoto = r.phases.before;
      record(FIRST_PAGE, { ...r, load: r.load - fromGoto, shell: r.shell - fromGoto, phases: { ...r.phases, before: 0 } });
    } finally {
      await started[0]?.stop();
    }
  };
  try {
    // In pairs, which side goes first alternating: this machine's speed drifts within minutes, and a run of
    // first spawns followed by a run of starts by hand would compare two different machines.
    for (let i = 0; i < o.users.length; i++) {
      const sides = [() => firstSpawn(o.users[i]), () => startByHandThenPage(i)];
      for (const side of i % 2 ? sides.reverse() : sides) await side();
    }
    for (const u of o.users) {
      await startServer(o.gw, u);
      record('login → lab, server running (gateway)', await timeLab(browser, ...loginThenLab(u)));
      await stopServer(o.gw, u);
    }
    const direct = await o.directServer();
    try {
      // Untimed: a server's first page costs more (FIRST_PAGE measures that); this case is the page once served.
      await timeLab(browser, fromItsOrigin(direct.url), (p) => p.goto(direct.url, { waitUntil: 'commit' }));
      for (let i = 0; i < o.users.length; i++) {
        record(RUNNING_PAGE, await timeLab(browser, fromItsOrigin(direct.url), (p) => p.goto(direct.url, { waitUntil: 'commit' })));
      }
    } finally {
      await direct.stop();
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
  console.log(table(['case', 'load event ms', 'shell visible ms', 'settled first ms'],
    Object.entries(r).map(([name, v]) => [name, fmt(median(v.loadMs)), fmt(median(v.shellMs)), fmt(median(v.settleMs))])));
  console.log('\nWhere the time to the load event went (medians, ms; see Phases in spawn-browser.ts):');
  const keys = ['before', 'redirects', 'document', 'assets', 'requests'] as const;
  console.log(table(['case', ...keys], Object.entries(r).map(([name, v]) => [name, ...keys.map((k) => fmt(median(v.phases.map((p) => p[k]))))])));
}
