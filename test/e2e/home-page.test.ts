/** The user's pages in headless Chromium: /hub/home's named servers (add one through the form, which starts it;
 *  stop, delete; a name the form refuses; the limit; an error shown in the page), the default server's stop
 *  button, and the token page's form as a real browser posts it (its Origin passes the hub's check). */
import t from 'tap';
import { echoProfile, Gateway } from '../helpers/gateway.ts';
import { launchBrowser } from '../helpers/browser.ts';

const gw = await Gateway.start({ config: { profiles: [echoProfile()], named_servers: { enabled: true, limit: 2 } } });
t.teardown(() => gw.cleanup());
await gw.addUser('alice');
const { browser, close } = await launchBrowser();
t.teardown(close);

const context = await browser.newContext();
const page = await context.newPage();
await page.goto(`${gw.url}/hub/login?next=/hub/home`);
await page.fill('#username', 'alice');
await page.fill('#password', 'alice-password-1');
await Promise.all([page.waitForURL(`${gw.url}/hub/home`), page.click('#login_submit')]);
const named = async () => Object.fromEntries(Object.entries((await gw.api('GET', '/hub/api/users/alice?include_stopped_servers')).body.servers as Record<string, { ready: boolean; pending: string | null }>)
  .filter(([k]) => k));

t.test('add a named server from the form: it starts, then stop and delete it', async (t) => {
  t.match(await page.textContent('main'), /None yet/);
  await page.fill('#new-server-name', 'gpu');
  await page.click('#new-server button[type=submit]');
  await page.waitForURL(`${gw.url}/user/alice/gpu/**`);
  // The pending page, then the server's own answer (the stand-in echoes the request as JSON) in its place.
  await page.waitForFunction(() => document.body?.innerText.includes('"method"'), null, { timeout: 60_000 });
  await gw.waitReady('alice', 'gpu');
  t.pass('the form started alice/gpu, and the browser landed on it');

  await page.goto(`${gw.url}/hub/home`);
  const row = page.locator('tr[data-server="gpu"]');
  t.match(await row.textContent(), /running/);
  await Promise.all([page.waitForEvent('load'), row.locator('button[data-action=stop]').click()]);
  t.match(await page.locator('tr[data-server="gpu"]').textContent(), /stopped/, 'stopped, and the page says so');
  t.match((await named()).gpu, { ready: false, pending: null }, 'the API agrees: there, and stopped');

  await Promise.all([page.waitForEvent('load'), page.locator('tr[data-server="gpu"] button[data-action=delete]').click()]);
  t.equal(await page.locator('tr[data-server="gpu"]').count(), 0, 'deleted from the page');
  t.notOk('gpu' in (await named()), 'and from the hub');
});

t.test('a name the form refuses, the limit, and an error from the hub', async (t) => {
  await page.goto(`${gw.url}/hub/home`);
  await page.fill('#new-server-name', 'GPU!');
  await page.click('#new-server button[type=submit]');
  t.equal(page.url(), `${gw.url}/hub/home`, 'an invalid name is not submitted');
  t.ok(await page.$eval('#new-server-name', (el) => (el as HTMLInputElement).validity.patternMismatch), 'the browser says why');

  for (const s of ['one', 'two']) await gw.api('POST', `/hub/api/users/alice/servers/${s}`);
  await gw.waitReady('alice', 'one');
  await gw.waitReady('alice', 'two');
  await page.goto(`${gw.url}/hub/home`);
  t.ok(await page.isDisabled('#new-server-name'), 'at the limit the form is disabled');
  t.match(await page.textContent('#new-server'), /2 of 2 named servers/);

  // Removed elsewhere meanwhile: the page's stop fails and says why instead of pretending.
  await gw.api('DELETE', '/hub/api/users/alice/servers/one', { body: { remove: true } });
  await page.locator('tr[data-server="one"] button[data-action=stop]').click();
  await page.waitForSelector('#home-error:not([hidden])');
  t.match(await page.textContent('#home-error'), /no server named "one"/);
});

t.test('the default server: stop from home', async (t) => {
  await gw.api('POST', '/hub/api/users/alice/server');
  await gw.waitReady('alice');
  await page.goto(`${gw.url}/hub/home`);
  t.equal(await page.textContent('#state'), 'running');
  await Promise.all([page.waitForEvent('load'), page.click('#stop')]);
  t.equal(await page.textContent('#state'), 'stopped');
  t.match(await page.textContent('#open'), /Start my server/);
});

t.test('the token page in a browser: the form posts, the token works', async (t) => {
  await page.goto(`${gw.url}/hub/token`);
  await page.fill('#token-note', 'from chromium');
  await Promise.all([page.waitForEvent('load'), page.click('#request-token')]);
  const token = (await page.textContent('#new-token'))?.trim();
  t.ok(token, 'shown');
  t.equal((await gw.api('GET', '/hub/api/user', { token })).body.name, 'alice', 'and it works');
});
