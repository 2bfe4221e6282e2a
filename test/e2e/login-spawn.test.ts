/** A browser login whose landing is the user's own stopped server starts it before the redirect (one round
 *  trip earlier), and the page load that follows joins that spawn instead of starting a second. A script's
 *  login and other landings (the hub's pages, an api/ URL, another user's server, a profile still to choose)
 *  start nothing. */
import t from 'tap';
import { echoProfile, Gateway } from '../helpers/gateway.ts';

const gw = await Gateway.start({ config: { profiles: [echoProfile()] } });
t.teardown(() => gw.cleanup());
for (const u of ['alice', 'bob', 'carol', 'dan']) await gw.addUser(u);

/** A login as a browser's form submission sends it (Sec-Fetch-Dest: document), unless `asScript`. */
const loginTo = (g: Gateway, user: string, next?: string, asScript = false) => fetch(`${g.url}/hub/login${next ? `?next=${encodeURIComponent(next)}` : ''}`, {
  method: 'POST', redirect: 'manual',
  headers: { 'content-type': 'application/x-www-form-urlencoded', origin: g.url, ...(asScript ? {} : { 'sec-fetch-dest': 'document' }) },
  body: new URLSearchParams({ username: user, password: `${user}-password-1` }),
});
const servers = async (g: Gateway, user: string) => (await g.api('GET', `/hub/api/users/${user}`)).body.servers;
const spawnsLogged = (g: Gateway, user: string) => g.output.split('\n').filter((l) => l.includes('"spawn requested"') && l.includes(`"user":"${user}"`)).length;

t.test('the default landing: the spawn is under way when the redirect arrives, and the page load joins it', async (t) => {
  const r = await loginTo(gw, 'alice');
  t.equal(r.status, 302);
  t.equal(r.headers.get('location'), '/user/alice/');
  t.ok((await servers(gw, 'alice'))[''], 'alice\'s server exists before the browser follows the redirect');
  const cookie = r.headers.get('set-cookie')!.split(';')[0];
  const page = await fetch(`${gw.url}/user/alice/`, { headers: { cookie, 'sec-fetch-dest': 'document' } });
  t.equal(page.status, 200, 'the page load gets the pending page or the server');
  await gw.waitReady('alice');
  t.equal(spawnsLogged(gw, 'alice'), 1, 'one spawn, not two');
});

t.test('other landings start nothing', async (t) => {
  t.equal((await loginTo(gw, 'bob', undefined, true)).status, 302, 'a script logging in for a cookie (no page load)');
  t.equal((await loginTo(gw, 'bob', '/hub/home')).status, 302);
  t.equal((await loginTo(gw, 'bob', '/user/bob/api/status')).status, 302);
  t.equal((await loginTo(gw, 'carol', '/user/dan/')).status, 302);
  await new Promise((r) => setTimeout(r, 300));
  t.same(await servers(gw, 'bob'), {}, 'not for a script, /hub/home, nor an api/ URL');
  t.same(await servers(gw, 'dan'), {}, "not another user's server");
  t.same(await servers(gw, 'carol'), {});
  t.equal(spawnsLogged(gw, 'bob') + spawnsLogged(gw, 'dan') + spawnsLogged(gw, 'carol'), 0);
});

t.test('with a profile to choose, the login starts nothing: the page load shows the form', async (t) => {
  const two = await Gateway.start({ config: { profiles: [echoProfile('one'), echoProfile('two')] } });
  t.teardown(() => two.cleanup());
  await two.addUser('erin');
  t.equal((await loginTo(two, 'erin')).status, 302);
  t.same(await servers(two, 'erin'), {});
});

t.test('a page load from a browser without Sec-Fetch-Dest (Accept: text/html) starts the server too', async (t) => {
  const cookie = (await loginTo(gw, 'dan', '/hub/home')).headers.get('set-cookie')!.split(';')[0]!;
  t.same(await servers(gw, 'dan'), {});
  const page = await fetch(`${gw.url}/user/dan/tree`, { headers: { cookie, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  t.equal(page.status, 200);
  t.match(await page.text(), /progress/, 'the pending page, in place');
  await gw.waitReady('dan');
  t.equal(spawnsLogged(gw, 'dan'), 1);
});

t.test('/hub/user-redirect/PATH: the same link opens each user\'s own server', async (t) => {
  for (const user of ['alice', 'carol']) {
    const cookie = (await loginTo(gw, user, '/hub/home')).headers.get('set-cookie')!.split(';')[0]!;
    const r = await fetch(`${gw.url}/hub/user-redirect/lab/tree/data/run.ipynb?kernel=python3`, { headers: { cookie }, redirect: 'manual' });
    t.equal(r.status, 302);
    t.equal(r.headers.get('location'), `/user/${user}/lab/tree/data/run.ipynb?kernel=python3`, `${user}'s own server`);
  }
  const anon = await fetch(`${gw.url}/hub/user-redirect/lab/tree/x.ipynb`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  t.equal(anon.status, 302, 'not logged in: to the login page');
  t.equal(anon.headers.get('location'), `/hub/login?next=${encodeURIComponent('/hub/user-redirect/lab/tree/x.ipynb')}`, 'keeping where to go next');
  const sneaky = await fetch(`${gw.url}/hub/user-redirect//evil.example/x`, { headers: { cookie: (await loginTo(gw, 'alice', '/hub/home')).headers.get('set-cookie')!.split(';')[0]! }, redirect: 'manual' });
  t.equal(sneaky.headers.get('location'), '/user/alice/evil.example/x', 'never off the site');
});
