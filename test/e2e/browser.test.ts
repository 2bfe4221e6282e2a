/** The browser flow in headless Chromium against `bin/kicloud serve` and a real JupyterLab: login →
 *  /user/alice/ → pending page in place → JupyterLab, at most 2 redirects on the way; a notebook cell runs
 *  `1+1` over the kernel's WebSocket through the proxy, and the kernel runs as alice's account. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Gateway, isRoot } from '../helpers/gateway.ts';
import { launchBrowser } from '../helpers/browser.ts';

const gw = await Gateway.start();
t.teardown(() => gw.cleanup());
await gw.addUser('alice');
await gw.addUser('bob');
const { browser, close } = await launchBrowser();
t.teardown(close);

t.test('login → pending page → JupyterLab → a cell computes 1+1 as alice\'s account', async (t) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const redirects: string[] = [];
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.status() >= 300 && r.status() < 400) redirects.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(`${gw.url}/hub/login`);
  redirects.length = 0;                                   // count from the login POST on
  await page.fill('#username', 'alice');
  await page.fill('#password', 'alice-password-1');
  await page.click('#login_submit');
  await page.waitForURL(`${gw.url}/user/alice/**`);
  await page.waitForSelector('#jp-main-dock-panel, .jp-LabShell', { timeout: 90_000 });
  t.match(page.url(), /\/user\/alice\/lab/, 'JupyterLab loaded');
  t.ok(redirects.length <= 2, `at most 2 redirects: ${redirects.join(', ')}`);

  // A notebook from the launcher, then a cell: the kernel's messages travel over the proxied WebSocket.
  await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().click({ timeout: 60_000 });
  const cell = page.locator('.jp-Notebook .jp-Cell .cm-content').first();
  await cell.waitFor({ timeout: 60_000 });
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"], .jp-Toolbar-kernelStatus', { timeout: 60_000 }).catch(() => {});
  await cell.click();
  await page.keyboard.type('1+1');
  await page.keyboard.press('Shift+Enter');
  const output = page.locator('.jp-OutputArea-output').first();
  await output.waitFor({ timeout: 60_000 });
  t.equal((await output.innerText()).trim(), '2', 'the cell computed 1+1');

  const second = page.locator('.jp-Notebook .jp-Cell .cm-content').nth(1);
  await second.click();
  await page.keyboard.type('import os; os.getuid()');
  await page.keyboard.press('Shift+Enter');
  const uidOut = page.locator('.jp-OutputArea-output').nth(1);
  await uidOut.waitFor({ timeout: 30_000 });
  const uid = Number((await uidOut.innerText()).trim());
  if (isRoot) {
    const accounts = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
    const alice = accounts.find((f) => f[0] === gw.account('alice'))!;
    t.equal(uid, Number(alice[2]), 'the kernel runs as alice\'s account');
    t.not(uid, 0, 'not root');
    const bob = accounts.find((f) => f[0] === gw.account('bob'));
    if (bob) t.not(uid, Number(bob[2]), 'not bob');
  } else {
    t.equal(uid, process.getuid!(), 'unprivileged mode: the gateway\'s own account');
  }
  await context.close();
});

t.test('a browser logged in as bob gets a 403 page for alice\'s server', async (t) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${gw.url}/hub/login`);
  await page.fill('#username', 'bob');
  await page.fill('#password', 'bob-password-1');
  await Promise.all([page.waitForNavigation(), page.click('#login_submit')]);
  const r = await page.goto(`${gw.url}/user/alice/lab`);
  t.equal(r?.status(), 403);
  t.match(await page.textContent('body'), /bob may not access alice's server/);
  await context.close();
});

t.test('unauthenticated page load → login page, next kept; after login, back to that page', async (t) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${gw.url}/user/alice/tree`);
  t.match(page.url(), /\/hub\/login\?next=%2Fuser%2Falice%2Ftree/);
  await page.fill('#username', 'alice');
  await page.fill('#password', 'alice-password-1');
  await Promise.all([page.waitForURL(/\/user\/alice\/tree/), page.click('#login_submit')]);
  t.pass('returned to /user/alice/tree');
  await context.close();
});
