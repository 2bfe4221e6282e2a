/** End to end, over real TCP against real JupyterLab servers started by `bin/kicloud serve`: API start, stop
 *  and progress; one spawn for concurrent requests; what a server process sees (account, argv, environment);
 *  a killed server (503, then a respawn on the next page load); a killed gateway (servers adopted). */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { accountUid, Gateway, isRoot } from '../helpers/gateway.ts';

const gw = await Gateway.start();
t.teardown(() => gw.cleanup());
await gw.addUser('alice');
await gw.addUser('bob');

const procStatusUid = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const uidOf = (account: string) => accountUid(account)!;

t.test('API start: 201 or 202, progress ends with a ready event, server answers through the proxy', async (t) => {
  const start = await gw.api('POST', '/hub/api/users/alice/server');
  t.ok([201, 202].includes(start.status), `start answered ${start.status}`);
  const progress = await fetch(`${gw.url}/hub/api/users/alice/server/progress`, { headers: { authorization: `token ${gw.adminToken}` } });
  t.equal(progress.headers.get('content-type'), 'text/event-stream');
  const events = (await progress.text()).split('\n\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  const last = events[events.length - 1];
  t.match(last, { progress: 100, ready: true, url: '/user/alice/' });
  t.ok(events.every((e) => typeof e.progress === 'number' && typeof e.message === 'string'), 'every event has progress and message');

  const again = await gw.api('POST', '/hub/api/users/alice/server');
  t.equal(again.status, 400, 'POST while running → 400');
  t.match(again.body, { status: 400, message: /already running/ });

  const user = await gw.api('GET', '/hub/api/users/alice');
  t.match(user.body, { name: 'alice', server: '/user/alice/', servers: { '': { ready: true, pending: null, url: '/user/alice/', progress_url: '/hub/api/users/alice/server/progress' } } });
  t.ok(Date.parse(user.body.servers[''].started), 'started is a timestamp');

  const token = await gw.tokenFor('alice');
  const status = await gw.api('GET', '/user/alice/api/status', { token });
  t.equal(status.status, 200);
  t.type(status.body.started, 'string');
  const publicHost = await gw.raw('GET', '/user/alice/api/status', { authorization: `token ${token}`, host: 'hub.example.org:8443' });
  t.equal(publicHost.status, 200, 'jupyter_server answers requests that arrive with a public Host (READINGS #6)');
  const specs = await gw.api('GET', '/user/alice/api/kernelspecs', { token });
  t.ok('python3' in specs.body.kernelspecs, 'Python kernel');
  if (existsSync('/usr/share/jupyter/kernels/ir')) t.ok('ir' in specs.body.kernelspecs, 'R kernel, as r-cran-irkernel is installed');
  const oneProgress = await fetch(`${gw.url}/hub/api/users/alice/server/progress`, { headers: { authorization: `token ${token}` } });
  t.match(await oneProgress.text(), /"ready":true/, 'progress of a running server is one ready event');
});

t.test('the server process: runs as the user\'s account, no token in argv, environment built from scratch', async (t) => {
  const pid = await gw.serverPid('alice');
  if (isRoot) t.equal(procStatusUid(pid), uidOf(gw.account('alice')), `runs as ${gw.account('alice')}`);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const env = Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  t.notOk(argv.some((a) => a.includes(env.JUPYTERHUB_API_TOKEN)), 'the token is not on the command line');
  t.notOk('KICLOUD_API_TOKEN' in env || 'KICLOUD_ADMIN_PASSWORD' in env, 'no gateway secrets in the environment');
  t.match(env, {
    JUPYTERHUB_USER: 'alice', JUPYTERHUB_SERVER_NAME: '', JUPYTERHUB_SERVICE_PREFIX: '/user/alice/', JUPYTERHUB_BASE_URL: '/',
    JUPYTERHUB_API_URL: `http://127.0.0.1:${gw.port}/hub/api`, JUPYTERHUB_CLIENT_ID: 'jupyterhub-user-alice',
    JUPYTERHUB_SERVICE_URL: /^http:\/\/127\.0\.0\.1:\d+\/user\/alice\/$/,
    JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: '[]',
  });
  t.same(JSON.parse(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES), ['access:servers!server=alice/', 'access:servers!user=alice'],
    'the scopes that reach this server, as JupyterHub 3 sets them');
  t.equal(env.JUPYTER_TOKEN, env.JUPYTERHUB_API_TOKEN);
  t.same(Object.keys(env).filter((k) => !k.startsWith('JUPYTER') && !k.startsWith('JPY_')).sort(),
    ['HOME', 'LANG', 'LOGNAME', 'PATH', 'SHELL', 'USER'], 'nothing else inherited');
});

t.test('DELETE stops: 204, the process is gone, api/ then answers 424 with the spawn URL', async (t) => {
  const pid = await gw.serverPid('alice');
  const del = await gw.api('DELETE', '/hub/api/users/alice/server');
  t.equal(del.status, 204);
  t.throws(() => process.kill(pid, 0), 'process gone');
  const token = await gw.tokenFor('alice');
  const api = await gw.api('GET', '/user/alice/api/status', { token });
  t.equal(api.status, 424);
  t.match(api.body, { status: 424, spawn_url: '/hub/spawn/alice' });
  const again = await gw.api('DELETE', '/hub/api/users/alice/server');
  t.equal(again.status, 204, 'stopping a stopped server is 204');
  const user = await gw.api('GET', '/hub/api/users/alice');
  t.same(user.body.servers, {}, 'no active servers listed');
});

t.test('one server asked for concurrently → one spawn, one process', async (t) => {
  const cookie = await gw.login('bob');
  const page = () => fetch(`${gw.url}/user/bob/`, { headers: { cookie, accept: 'text/html', 'sec-fetch-dest': 'document' }, redirect: 'manual' });
  const api = () => gw.api('POST', '/hub/api/users/bob/server');
  const results = await Promise.all([api(), page(), api(), page(), api(), page()]);
  const apiStatuses = results.filter((r) => 'body' in r && !(r instanceof Response)).map((r) => (r as { status: number }).status);
  t.ok(apiStatuses.every((s) => s === 201 || s === 202), `API answers ${apiStatuses}`);
  for (const r of results) if (r instanceof Response) { t.equal(r.status, 200, 'pending page'); await r.text(); }
  await gw.waitReady('bob');
  const spawns = gw.output.split('\n').filter((l) => l.includes('"user":"bob"') && l.includes('spawn requested'));
  t.equal(spawns.length, 1, 'one spawn requested');
  if (isRoot) {
    const { execFileSync } = await import('node:child_process');
    const procs = execFileSync('pgrep', ['-u', gw.account('bob'), '-f', 'jupyter-lab'], { encoding: 'utf8' }).trim().split('\n');
    t.equal(procs.length, 1, 'one jupyter-lab process');
  }
});

t.test('kill -9 of a user server: 503 at once, then a page load respawns it', async (t) => {
  const token = await gw.tokenFor('bob');
  const pid = await gw.serverPid('bob');
  process.kill(pid, 'SIGKILL');
  await sleep(100);
  const t0 = Date.now();
  let r = await gw.api('GET', '/user/bob/api/status', { token });
  // The exit is usually seen first (424); if the request won the race it is a 503 and the poll follows at once.
  t.ok([503, 424].includes(r.status), `after the kill: ${r.status}`);
  while (r.status !== 424 && Date.now() - t0 < 1000) { await sleep(50); r = await gw.api('GET', '/user/bob/api/status', { token }); }
  t.equal(r.status, 424, 'noticed dead within a second');
  const user = await gw.api('GET', '/hub/api/users/bob');
  t.same(user.body.servers, {}, 'marked stopped');
  const cookie = await gw.login('bob');
  const page = await fetch(`${gw.url}/user/bob/tree`, { headers: { cookie, accept: 'text/html', 'sec-fetch-dest': 'document' } });
  t.equal(page.status, 200);
  t.match(await page.text(), /progress/, 'pending page served in place');
  await gw.waitReady('bob');
  t.not(await gw.serverPid('bob'), pid, 'a new process');
});

t.test('kill -9 of the gateway: the same server processes are adopted, no respawn', async (t) => {
  const pid = await gw.serverPid('bob');
  const token = await gw.tokenFor('bob');
  await gw.kill9();
  t.doesNotThrow(() => process.kill(pid, 0), 'user server survived the gateway');
  await gw.launch();
  t.equal(await gw.serverPid('bob'), pid, 'same pid after restart');
  const r = await gw.api('GET', '/user/bob/api/status', { token });
  t.equal(r.status, 200, 'proxied to the adopted server');
  t.match(gw.output, /server adopted/);
  t.notMatch(gw.output, /spawn requested/, 'nothing respawned');
});

t.test('a server that died while the gateway was down is marked stopped at start', async (t) => {
  const pid = await gw.serverPid('bob');
  await gw.kill9();
  process.kill(-pid, 'SIGKILL');
  await sleep(200);
  await gw.launch();
  const user = await gw.api('GET', '/hub/api/users/bob');
  t.same(user.body.servers, {}, 'not listed as running');
  t.match(gw.output, /marked stopped/);
});
