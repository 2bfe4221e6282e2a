/** The server lifecycle through the REST API, where it goes wrong. Stopping a server that takes its time, as
 *  JupyterHub 3 answers it (READINGS #11.4): SIGTERM to the server's process group, SIGKILL to the group after
 *  local.stop_grace; DELETE answers 202 when the stop is still under way after 10 s (204 when done by then), and
 *  a start asked for meanwhile is a 400. A spawn that fails: a JSON error with the reason and the log tail, the
 *  progress stream's failed event, the failure counted. Named servers are off unless the config turns them on
 *  (READINGS #11.8). */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ECHO_COMMAND, echoProfile, Gateway } from '../helpers/gateway.ts';

const processGroup = (pgid: number): number[] => {
  try { return execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' }).trim().split('\n').map(Number); } catch { return []; }
};

// A shell that ignores SIGTERM and waits for its two children: the stand-in (Node restores SIGTERM's default at
// start, so it dies of it) and a sleep that ignores it too (an ignored signal stays ignored across exec).
const stubborn = echoProfile('stubborn', { command: ['/bin/sh', '-c', 'trap "" TERM; sleep 300 & "$0" "$@" & wait', ...ECHO_COMMAND] });
const broken = echoProfile('broken', { command: ['/bin/sh', '-c', 'echo "boom: no module named jupyterlab" >&2; exit 3', '{port}'] });
// Writes its arguments after the placeholders were filled in to a file in its home, then runs the stand-in.
const placeholders = echoProfile('placeholders', {
  command: ['/bin/sh', '-c', 'printf "%s\\n" "$@" > "$HOME/argv.txt"; exec "$0" "$1" "$2" "$3"', ...ECHO_COMMAND, '{user}', '[{server_name}]', '{home}'],
});
const gw = await Gateway.start({ config: { local: { stop_grace: 11 }, profiles: [echoProfile(), stubborn, broken, placeholders] } });
t.teardown(() => gw.cleanup());
await gw.addUser('alice');

t.test('a server that ignores SIGTERM: DELETE → 202, a start meanwhile → 400, SIGKILL to its whole group after the grace', async (t) => {
  t.equal((await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'stubborn' } })).status, 201);
  const pid = await gw.serverPid('alice');
  const group = processGroup(pid);
  t.ok(group.length >= 3, `the server and its children share a process group: ${group}`);
  const t0 = Date.now();
  const stop = await gw.api('DELETE', '/hub/api/users/alice/server');
  t.equal(stop.status, 202, 'still stopping after 10 s: 202');
  t.ok(Date.now() - t0 >= 9_500, `answered after ${Date.now() - t0} ms`);
  const left = processGroup(pid);
  t.ok(left.includes(pid) && left.length >= 2, `SIGTERM alone did not stop the server's process nor its sleeping child: ${left}`);
  const during = await gw.api('GET', '/hub/api/users/alice');
  t.equal(during.body.servers['']?.pending, 'stop', 'listed as pending "stop", as JupyterHub does');
  const again = await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'echo' } });
  t.equal(again.status, 400, 'a start while stopping is refused');
  t.match(again.body.message, /stop/);
  while (processGroup(pid).length && Date.now() - t0 < 15_000) await sleep(50);
  const took = Date.now() - t0;
  t.same(processGroup(pid), [], 'the whole group is gone, the child too');
  t.ok(took >= 10_900 && took < 14_000, `SIGKILL after the 11 s grace: ${took} ms`);
  for (let i = 0; i < 40 && Object.keys((await gw.api('GET', '/hub/api/users/alice')).body.servers).length; i++) await sleep(50);
  t.same((await gw.api('GET', '/hub/api/users/alice')).body.servers, {}, 'then listed as stopped');
});

t.test('a server that stops on SIGTERM: DELETE → 204, and the start right after is accepted', async (t) => {
  t.equal((await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'echo' } })).status, 201);
  const t0 = Date.now();
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204);
  t.ok(Date.now() - t0 < 5_000, `stopped in ${Date.now() - t0} ms`);
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204, 'stopping a stopped server is a 204 too');
  t.equal((await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'echo' } })).status, 201);
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204);
});

t.test('named servers are off by default: the API and the spawn page refuse them', async (t) => {
  const token = await gw.tokenFor('alice');
  const r = await gw.api('POST', '/hub/api/users/alice/servers/gpu', { body: { profile: 'echo' }, token });
  t.equal(r.status, 400);
  t.match(r.body.message, /named servers are not enabled/);
  t.same((await gw.api('GET', '/hub/api/users/alice')).body.servers, {}, 'nothing created');
  const cookie = await gw.login('alice');
  const page = await fetch(`${gw.url}/hub/spawn/alice/gpu`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
  t.equal(page.status, 400);
  t.match(await page.text(), /named servers are not enabled/);
  const proxied = await gw.raw('GET', '/user/alice/gpu/x', { authorization: `token ${token}` });
  t.equal(proxied.status, 424, '/user/alice/gpu/… is the (stopped) default server\'s path, not a server "gpu"');
});

t.test('a spawn that fails: JSON with the reason, the failed progress event, counted; the next start works', async (t) => {
  const r = await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'broken' } });
  t.equal(r.status, 500);
  t.match(r.headers.get('content-type'), /application\/json/);
  t.match(r.body, { status: 500, message: /Spawn failed: .*exit/ });
  const progress = await gw.api('GET', '/hub/api/users/alice/server/progress');
  t.match(progress.text, /"failed":true/, 'the progress stream ends with the failure');
  t.match(progress.text, /boom: no module named jupyterlab/, 'and the log tail that says why');
  t.same((await gw.api('GET', '/hub/api/users/alice')).body.servers, {}, 'nothing left running or pending');
  const metrics = (await gw.api('GET', '/metrics')).text;
  t.match(metrics, /kicloud_spawn_duration_seconds_count\{status="failure"\} 1\n/, 'one failure counted');
  t.match(metrics, /kicloud_hub_request_duration_seconds_count\{code="5xx"\} [1-9]/, 'the hub\'s own requests by status class');
  t.match(metrics, /kicloud_hub_request_duration_seconds_count\{code="2xx"\} [1-9]/);
  t.equal((await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'echo' } })).status, 201, 'a good profile starts after it');
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204);
});

t.test('the command\'s placeholders: {port} {base_url} {user} {server_name} {home}', async (t) => {
  t.equal((await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'placeholders' } })).status, 201);
  const { port, home } = (await gw.api('GET', '/hub/api/users/alice')).body.servers[''].state as { port: number; home: string };
  const argv = readFileSync(path.join(home, 'argv.txt'), 'utf8').split('\n').slice(0, 6);
  t.same(argv, [ECHO_COMMAND[1], String(port), '/user/alice/', 'alice', '[]', home], 'each filled in; the default server\'s name is empty');
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204);
});

t.test('adoption checks the pid\'s start time, not only the pid: a recycled pid is neither adopted nor signalled', async (t) => {
  t.equal((await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'echo' } })).status, 201);
  const pid = await gw.serverPid('alice');
  t.teardown(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } });
  await gw.kill9();
  // As if the server had died and its pid gone to another process: same pid, another start time.
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(path.join(gw.dataDir, 'private/kicloud.sqlite'));
  const row = db.prepare("SELECT handle FROM servers WHERE user = 'alice' AND name = ''").get() as { handle: string };
  const state = JSON.parse(row.handle) as { pid: number; startTime: number };
  t.equal(state.pid, pid, 'the store holds the pid');
  state.startTime -= 1;
  db.prepare("UPDATE servers SET handle = ? WHERE user = 'alice' AND name = ''").run(JSON.stringify(state));
  db.close();
  await gw.launch();
  t.match(gw.output, /server not running after restart; marked stopped/);
  t.notMatch(gw.output, /server adopted/);
  t.same((await gw.api('GET', '/hub/api/users/alice')).body.servers, {}, 'listed as stopped');
  t.doesNotThrow(() => process.kill(pid, 0), 'the process that now has that pid was not signalled');
  t.equal((await gw.api('GET', '/user/alice/echo', { token: await gw.tokenFor('alice') })).status, 424, 'and gets no request');
});
