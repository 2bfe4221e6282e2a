/** What counts as activity for the culler (issue point 11, READINGS #11.2), end to end against the stand-in
 *  server (test/fixtures/backend.mjs): WebSocket data frames keep a server, pings and pongs do not (browsers
 *  and jupyter_server ping every open socket, so counting them would keep every open tab's server for ever);
 *  the server's own `api/status` last_activity counts; `max_age` stops a server however busy it is. */
import t from 'tap';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { echoProfile, Gateway } from '../helpers/gateway.ts';

const gw = await Gateway.start({ config: { profiles: [echoProfile()], cull: { timeout: 3, every: 0.5 } } });
t.teardown(() => gw.cleanup());
for (const u of ['alice', 'bob', 'carol']) await gw.addUser(u);

const running = async (g: Gateway, user: string) => (await g.api('GET', `/hub/api/users/${user}`)).body.servers['']?.ready === true;

async function openSocket(g: Gateway, user: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${g.port}/user/${user}/ws`, { headers: { authorization: `token ${await g.tokenFor(user)}` } });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.on('error', () => {});                                // the cull closes it
  return ws;
}

t.test('WebSocket data frames keep a server; pings and pongs do not', async (t) => {
  for (const u of ['alice', 'bob']) t.equal((await gw.api('POST', `/hub/api/users/${u}/server`)).status, 201);
  const [alice, bob] = [await openSocket(gw, 'alice'), await openSocket(gw, 'bob')];
  let pongs = 0, echoes = 0;
  bob.on('pong', () => pongs++);
  alice.on('message', () => echoes++);
  const t0 = Date.now();
  let bobCulledAfter = 0;
  while (Date.now() - t0 < 6_500) {
    alice.send('still typing');
    if (bob.readyState === WebSocket.OPEN) bob.ping();
    await sleep(400);
    if (!bobCulledAfter && !(await running(gw, 'bob'))) bobCulledAfter = Date.now() - t0;
  }
  t.ok(pongs >= 5, `bob's socket was alive and answering pings (${pongs} pongs)`);
  t.ok(echoes >= 10, `alice's messages went both ways (${echoes} echoes)`);
  t.ok(await running(gw, 'alice'), 'alice, sending data frames, is kept past the 3 s timeout');
  t.ok(bobCulledAfter >= 2_500 && bobCulledAfter < 6_000, `bob, sending only pings, was culled after ${bobCulledAfter} ms`);
  alice.close();
  bob.close();
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204);
});

t.test('the server\'s own api/status last_activity keeps it', async (t) => {
  t.equal((await gw.api('POST', '/hub/api/users/carol/server')).status, 201);
  const { home } = (await gw.api('GET', '/hub/api/users/carol')).body.servers[''].state as { home: string };
  const active = path.join(home, 'active');
  writeFileSync(active, '');                               // the stand-in now reports last_activity = now
  await sleep(5_000);
  t.ok(await running(gw, 'carol'), 'no traffic through the gateway for 5 s, but active by its own account: kept');
  rmSync(active);
  const t0 = Date.now();
  while (Date.now() - t0 < 8_000 && (await running(gw, 'carol'))) await sleep(200);
  t.notOk(await running(gw, 'carol'), `culled once it says it is idle (after ${Date.now() - t0} ms)`);
  t.match(gw.output, /"user":"carol".*"reason":"idle".*"msg":"culling server"/);
});

t.test('max_age stops a server however active it is', async (t) => {
  const aged = await Gateway.start({ config: { profiles: [echoProfile()], cull: { timeout: 0, max_age: 2, every: 0.5 } } });
  t.teardown(() => aged.cleanup());
  await aged.addUser('dan');
  t.equal((await aged.api('POST', '/hub/api/users/dan/server')).status, 201);
  const token = await aged.tokenFor('dan');
  const t0 = Date.now();
  let stoppedAfter = 0;
  while (Date.now() - t0 < 6_000 && !stoppedAfter) {
    const r = await aged.api('GET', '/user/dan/busy', { token });
    if (r.status === 424) stoppedAfter = Date.now() - t0;
    await sleep(200);
  }
  t.ok(stoppedAfter >= 1_500 && stoppedAfter < 4_500, `stopped after ${stoppedAfter} ms of requests every 200 ms`);
  t.match(aged.output, /"reason":"max_age".*"msg":"culling server"/);
  t.match((await aged.api('GET', '/metrics')).text, /kicloud_culls_total\{reason="max_age"\} 1/);
});
