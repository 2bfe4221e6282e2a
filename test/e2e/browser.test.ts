/** The browser flow in headless Chromium against `bin/kicloud serve` and a real JupyterLab: login →
 *  /user/alice/ → pending page in place → JupyterLab, at most 2 redirects on the way; a notebook cell runs
 *  `1+1` over the kernel's WebSocket through the proxy, and the kernel runs as alice's account; once the server
 *  is stopped, the open tab offers a restart, which brings JupyterLab back. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Gateway, isRoot } from '../helpers/gateway.ts';
import { launchBrowser } from '../helpers/browser.ts';

const gw = await Gateway.start({ config: { named_servers: { enabled: true, limit: 1 } } });
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
  await page.locator('.jp-LauncherCard[data-category="Notebook"]', { hasText: 'Python 3' }).first().click({ timeout: 60_000 });
  const cell = page.locator('.jp-Notebook .jp-Cell .cm-content').first();
  await cell.waitFor({ timeout: 60_000 });
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: 60_000 });
  t.equal(await runCell(page, 0, '1+1'), '2', 'the cell computed 1+1');
  await page.keyboard.press('Escape');
  await page.keyboard.press('b');                        // a new cell below, in command mode
  const uid = Number(await runCell(page, 1, 'import os; os.getuid()'));
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

  // JupyterLab knows it runs under a hub: its menu links back, and a stopped server is offered a restart.
  const pageConfig = await page.evaluate(() => JSON.parse(document.getElementById('jupyter-config-data')!.textContent!));
  t.match(pageConfig, { hubPrefix: '/hub/', hubUser: 'alice', token: '' }, 'hub settings in the page, and no server token');
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204, 'the server is stopped (as the culler would)');
  const dialog = page.locator('.jp-Dialog', { hasText: 'Server unavailable or unreachable' });
  await dialog.waitFor({ timeout: 60_000 });
  t.pass('the open tab offers a restart (its api/ requests got 424)');
  const [restarted] = await Promise.all([context.waitForEvent('page'), dialog.getByRole('button', { name: 'Restart' }).click()]);
  await restarted.waitForURL(`${gw.url}/user/alice/**`, { timeout: 60_000 });
  await restarted.waitForSelector('#jp-main-dock-panel, .jp-LabShell', { timeout: 90_000 });
  t.match(restarted.url(), /\/user\/alice\/lab/, 'Restart opens /hub/spawn, which starts the server and lands in JupyterLab');

  // File → Log Out (JupyterLab loads /user/alice/logout) ends the hub session, not only the server's page.
  await restarted.click('.lm-MenuBar-itemLabel:text-is("File")');
  await restarted.click('.lm-Menu-itemLabel:text-is("Log Out")');
  await restarted.waitForURL(`${gw.url}/hub/login`, { timeout: 30_000 });
  const home = await restarted.goto(`${gw.url}/hub/home`);
  t.match(home?.url(), /\/hub\/login\?next=/, 'logged out of the hub: /hub/home asks for a login again');
  await context.close();
});

/** Types code into cell `index` and runs it in place until it shows output. JupyterLab 4 may swap the new
 *  notebook's kernel connection just after it first reports idle, dropping a request sent in that moment (seen
 *  without the gateway too), so a cell without output after 10 s is run again; the code is idempotent. */
async function runCell(page: import('playwright-core').Page, index: number, code: string): Promise<string> {
  const cell = page.locator('.jp-Notebook .jp-Cell').nth(index);
  const editor = cell.locator('.cm-content');
  await editor.waitFor({ timeout: 30_000 });
  await editor.click();
  await page.keyboard.type(code);
  for (let attempt = 0; attempt < 4; attempt++) {
    await editor.click();
    await page.keyboard.press('Control+Enter');
    const output = cell.locator('.jp-OutputArea-output');
    try {
      await output.first().waitFor({ timeout: 10_000 });
      return (await output.first().innerText()).trim();
    } catch { /* run again */ }
  }
  await page.screenshot({ path: '/tmp/kicloud-browser-failure.png' });
  throw new Error(`cell ${index} showed no output after 4 runs (screenshot: /tmp/kicloud-browser-failure.png)`);
}

t.test('a named server\'s JupyterLab knows its name, so that its restart starts that server', async (t) => {
  t.equal((await gw.api('POST', '/hub/api/users/alice/servers/gpu')).status, 201);
  const lab = await gw.api('GET', '/user/alice/gpu/lab', { token: await gw.tokenFor('alice') });
  const config = JSON.parse(/<script id="jupyter-config-data" type="application\/json">([^]*?)<\/script>/.exec(lab.text)![1]);
  t.match(config, { hubPrefix: '/hub/', hubUser: 'alice', hubServerName: 'gpu', token: '' });
  await gw.api('DELETE', '/hub/api/users/alice/servers/gpu');
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

t.test('a failed spawn shows the reason, the log tail and a retry button', async (t) => {
  const broken = await Gateway.start({
    config: { profiles: [{ name: 'broken', display_name: 'Broken', command: ['/bin/sh', '-c', 'echo "boom: missing module" >&2; exit 3', '{port}'], start_timeout: 10 }] },
  });
  t.teardown(() => broken.cleanup());
  await broken.addUser('carol');
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${broken.url}/hub/login`);
  await page.fill('#username', 'carol');
  await page.fill('#password', 'carol-password-1');
  await page.click('#login_submit');
  await page.waitForSelector('#retry:not([hidden])', { timeout: 30_000 });
  t.match(await page.textContent('#title'), /could not start/);
  t.match(await page.textContent('#msg'), /Spawn failed: the server exited before it was ready \(process \d+ (exited with code 3|is gone)\)/);
  t.match(await page.textContent('#tail'), /boom: missing module/, 'the log tail');
  t.match(page.url(), /\/user\/carol\/$/, 'still at the URL asked for');
  await context.close();
});

t.test('a pending spawn can be cancelled from its page, and started again', async (t) => {
  const slow = await Gateway.start({
    config: { profiles: [{ name: 'slow', display_name: 'Slow', command: ['/bin/sh', '-c', 'exec sleep 120', 'sh', '{port}'], start_timeout: 120 }] },
  });
  t.teardown(() => slow.cleanup());
  await slow.addUser('dave');
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${slow.url}/hub/login?next=${encodeURIComponent('/user/dave/lab')}`);
  await page.fill('#username', 'dave');
  await page.fill('#password', 'dave-password-1');
  await page.click('#login_submit');
  await page.waitForFunction(() => /Server launched/.test(document.getElementById('msg')?.textContent ?? ''), undefined, { timeout: 30_000 });
  const pid = await slow.serverPid('dave');
  await page.click('#cancel');
  await page.waitForFunction(() => document.getElementById('title')?.textContent === 'Start cancelled', undefined, { timeout: 30_000 });
  t.equal(await page.textContent('#msg'), 'Spawn cancelled', 'the page says so (who did it goes to the log only)');
  t.match(slow.output, /"reason":"requested by dave".*"msg":"spawn cancelled"/);
  t.equal(await page.textContent('#retry'), 'Start again');
  t.ok(await page.isHidden('#cancel'), 'no Cancel once it is over');
  t.same((await slow.api('GET', '/hub/api/users/dave')).body.servers, {}, 'the server is stopped');
  t.throws(() => process.kill(pid, 0), 'its process is gone');
  t.match((await slow.api('GET', '/metrics')).text, /kicloud_spawn_duration_seconds_count\{status="cancelled"\} 1/, 'counted as cancelled, not failed');

  await page.click('#retry');
  await page.waitForFunction(() => /Server launched/.test(document.getElementById('msg')?.textContent ?? ''), undefined, { timeout: 30_000 });
  t.match(page.url(), /\/user\/dave\/lab$/, 'Start again loads the page first asked for, which starts the server anew');

  // The same from /hub/spawn-pending/dave: "Start again" goes to the server's URL (a reload there was a 400).
  await page.goto(`${slow.url}/hub/spawn-pending/dave`);
  await page.waitForFunction(() => /Server launched/.test(document.getElementById('msg')?.textContent ?? ''), undefined, { timeout: 30_000 });
  await page.click('#cancel');
  await page.waitForFunction(() => document.getElementById('title')?.textContent === 'Start cancelled', undefined, { timeout: 30_000 });
  await page.click('#retry');
  await page.waitForFunction(() => /Server launched/.test(document.getElementById('msg')?.textContent ?? ''), undefined, { timeout: 30_000 });
  t.match(page.url(), /\/user\/dave\/$/, 'from the spawn-pending page, Start again opens the server\'s URL, which starts it');
  const reader = await slow.tokenFor('admin', ['read:servers']);
  const viewed = await slow.raw('GET', '/hub/spawn-pending/dave', { authorization: `token ${reader}`, accept: 'text/html' });
  t.equal(viewed.status, 200, 'a viewer who may only read the server sees the page');
  t.notMatch(viewed.body, /id="cancel"/, 'without a Cancel button');
  t.match((await slow.raw('GET', '/hub/spawn-pending/dave', { authorization: `token ${slow.adminToken}`, accept: 'text/html' })).body, /id="cancel"/, 'one who may stop it gets the button');
  t.equal((await slow.api('DELETE', '/hub/api/users/dave/server?pending_only=1')).status, 204, 'pending_only cancels a spawn');
  t.equal((await slow.api('DELETE', '/hub/api/users/dave/server?pending_only=1')).status, 409, 'and never stops a server that is not starting');
  await context.close();
});
