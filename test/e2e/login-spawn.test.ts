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
