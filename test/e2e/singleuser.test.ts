/** A stock `jupyterhub-singleuser` behind the gateway: the entry point of JupyterHub's images and of many
 *  centres' environments, which authenticates every request against the hub's REST API (HubAuth) instead of a
 *  token of its own. Here JupyterHub 3.0's, from Debian's package (unpacked by ./scripts/test, not installed),
 *  on Debian's classic notebook 6.4, run by `bin/kicloud serve` as the user's account. It must accept what the gateway sends (the server's token,
 *  checked through /hub/api/user against JUPYTERHUB_OAUTH_ACCESS_SCOPES), serve pages and API calls, and
 *  report its activity to our hub API. */
import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { accountUid, ENVS_DIR, Gateway, isRoot } from '../helpers/gateway.ts';

const SITE = path.join(ENVS_DIR, 'jupyterhub-singleuser-3.0');
t.ok(existsSync(path.join(SITE, 'jupyterhub/singleuser/app.py')), `jupyterhub-singleuser is in ${SITE} (./scripts/test puts it there)`);

const gw = await Gateway.start({ config: { profiles: [{
  name: 'singleuser', display_name: 'jupyterhub-singleuser',
  command: ['/usr/bin/python3', '-m', 'jupyterhub.singleuser', '--ip=127.0.0.1', '--port={port}', '--NotebookApp.notebook_dir={home}'],
  // Reports activity every second instead of every 300 s, so the test sees it.
  env: { PATH: '/usr/bin:/bin', PYTHONPATH: SITE, JUPYTERHUB_ACTIVITY_INTERVAL: '1' },
  start_timeout: 60,
}] } });
t.teardown(() => gw.cleanup());
await gw.addUser('alice');
await gw.addUser('bob');
const serverLog = () => readFileSync(path.join(gw.dataDir, 'private/logs/alice/_default.log'), 'utf8');

t.test('it starts, and answers through the proxy with the server token the gateway sends', async (t) => {
  const start = await gw.api('POST', '/hub/api/users/alice/server');
  t.ok([201, 202].includes(start.status), `start answered ${start.status}: ready_path was answered under HubAuth`);
  await gw.waitReady('alice').catch((err) => { throw new Error(`${err.message}\nserver log:\n${serverLog().slice(-4000)}`); });
  const token = await gw.tokenFor('alice');
  const status = await gw.api('GET', '/user/alice/api/status', { token });
  t.equal(status.status, 200, 'an API call with alice\'s token');
  t.type(status.body.started, 'string');
  const cookie = await gw.login('alice');
  const tree = await gw.raw('GET', '/user/alice/tree', { cookie, accept: 'text/html', 'sec-fetch-dest': 'document' });
  t.equal(tree.status, 200, 'the notebook page for alice\'s browser');
  t.match(tree.body, /<html/i);
  t.notMatch(serverLog(), /Not allowing user|is not allowed/, 'HubAuth allowed every request');
});

t.test('a browser\'s POST (cookie, same origin) creates a file in alice\'s home, as alice', async (t) => {
  const cookie = await gw.login('alice');
  const r = await gw.raw('PUT', '/user/alice/api/contents/hello.txt', { cookie, origin: gw.url, 'content-type': 'application/json' },
    JSON.stringify({ type: 'file', format: 'text', content: 'written through the gateway' }));
  t.equal(r.status, 201, `PUT api/contents answered ${r.status} ${r.body.slice(0, 200)}`);
  const homes = [path.join(gw.tmp, 'homes', gw.account('alice')), path.join(gw.dataDir, 'homes', 'alice')];
  const file = homes.map((h) => path.join(h, 'hello.txt')).find(existsSync);
  t.ok(file, 'the file is in alice\'s home');
  t.equal(readFileSync(file!, 'utf8'), 'written through the gateway');
  if (isRoot) t.equal(statSync(file!).uid, accountUid(gw.account('alice')), 'owned by alice\'s account');
});

t.test('it reports activity to the hub API it was given', async (t) => {
  let log = serverLog();
  for (let i = 0; i < 60 && !/Updating Hub with activity/.test(log); i++) { await sleep(250); log = serverLog(); }
  t.match(log, /Updating Hub with activity every 1 seconds/, 'it found the activity URL');
  // Activity the proxy never saw (a request straight to the server's port) reaches the hub only by its report.
  const port = Number((await gw.api('GET', '/hub/api/users/alice')).body.servers[''].state?.port);
  await sleep(2500);                                      // past the proxy's last request and the 1 s activity clock
  const before = Date.parse((await gw.api('GET', '/hub/api/users/alice')).body.servers[''].last_activity);
  const direct = await fetch(`http://127.0.0.1:${port}/user/alice/api/contents`, { headers: { authorization: `token ${await gw.tokenFor('alice')}` } });
  t.equal(direct.status, 200);
  let after = before;
  for (let i = 0; i < 40 && after <= before; i++) {
    await sleep(250);
    after = Date.parse((await gw.api('GET', '/hub/api/users/alice')).body.servers[''].last_activity);
  }
  t.ok(after > before, `last_activity moved by its report (${new Date(before).toISOString()} → ${new Date(after).toISOString()})`);
  t.notMatch(serverLog(), /Error notifying Hub of activity|Failed to connect to my Hub/, 'no report failed');
});

t.test('a token that reaches the server\'s port directly must grant access to it (checked by the server itself)', async (t) => {
  // Any local account can connect to the port; the gateway is not in the way there.
  const port = Number((await gw.api('GET', '/hub/api/users/alice')).body.servers[''].state?.port);
  t.ok(port > 0, 'the admin sees the server\'s port');
  const direct = (token?: string) => fetch(`http://127.0.0.1:${port}/user/alice/api/status`,
    { redirect: 'manual', headers: token ? { authorization: `token ${token}` } : {} });
  t.equal((await direct(await gw.tokenFor('bob'))).status, 403, 'bob\'s own token: refused');
  t.match(serverLog(), /Not allowing Hub user bob: missing required scopes/,
    'by the scope check (JUPYTERHUB_OAUTH_ACCESS_SCOPES), which JupyterHub 4\'s singleuser needs to let anyone in');
  t.equal((await direct(await gw.tokenFor('alice'))).status, 200, 'alice\'s token: allowed');
  t.not((await direct()).status, 200, 'no token: not allowed');
});

t.test('others are refused before the server sees them', async (t) => {
  const bob = await gw.tokenFor('bob');
  t.equal((await gw.api('GET', '/user/alice/api/status', { token: bob })).status, 403, 'bob\'s token on alice\'s server');
  const bobCookie = await gw.login('bob');
  const page = await gw.raw('GET', '/user/alice/tree', { cookie: bobCookie, accept: 'text/html', 'sec-fetch-dest': 'document' });
  t.equal(page.status, 403, 'bob\'s browser on alice\'s server');
});
