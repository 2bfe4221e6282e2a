/** Idle culling against real JupyterLab servers: an idle server is stopped, its route removed and the cull
 *  counted; a server whose kernel is busy (a long time.sleep, no messages, tab closed) is kept, with
 *  `max_busy` only that long after its last traffic; proxied traffic moves last_activity in the REST API, which
 *  is what the stock jupyterhub-idle-culler reads. */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { Gateway } from '../helpers/gateway.ts';
import { execute, startKernel } from '../helpers/kernel.ts';

const gw = await Gateway.start({ config: { cull: { timeout: 4, every: 1 } } });
t.teardown(() => gw.cleanup());
await gw.addUser('alice');
await gw.addUser('bob');

t.test('idle server culled, busy kernel kept', async (t) => {
  await Promise.all([gw.api('POST', '/hub/api/users/alice/server'), gw.api('POST', '/hub/api/users/bob/server')]);
  await Promise.all([gw.waitReady('alice'), gw.waitReady('bob')]);
  const bobToken = await gw.tokenFor('bob');
  const kernel = await startKernel(gw, 'bob', bobToken);
  // Busy without sending a single message for 60 s; the socket is then closed, as when a tab is closed.
  const run = await execute(gw, 'bob', kernel, 'import time; time.sleep(60)', { authorization: `token ${bobToken}` }, { waitFor: 'busy', keepOpen: true });
  run.ws.close();

  const before = await gw.api('GET', '/hub/api/users/alice');
  const aliceLast = Date.parse(before.body.servers[''].last_activity);
  const deadline = Date.now() + 15_000;
  let alice = before;
  while (Date.now() < deadline) {
    alice = await gw.api('GET', '/hub/api/users/alice');
    if (!alice.body.servers['']) break;
    await sleep(250);
  }
  t.same(alice.body.servers, {}, 'alice\'s idle server was culled');
  t.ok(Date.now() - aliceLast >= 4000, 'not before the timeout');
  const r = await gw.api('GET', '/user/alice/api/status', { token: await gw.tokenFor('alice') });
  t.equal(r.status, 424, 'route removed');
  t.match(gw.output, /"reason":"idle".*"msg":"culling server"/);

  await sleep(3000);
  const bob = await gw.api('GET', '/hub/api/users/bob');
  t.equal(bob.body.servers['']?.ready, true, 'bob\'s busy server is still running');
  const metrics = await gw.api('GET', '/metrics');
  t.match(metrics.text, /kicloud_culls_total\{reason="idle"\} 1/);
});

t.test('proxied requests move last_activity', async (t) => {
  await gw.api('POST', '/hub/api/users/alice/server');
  await gw.waitReady('alice');
  const token = await gw.tokenFor('alice');
  const first = Date.parse((await gw.api('GET', '/hub/api/users/alice')).body.servers[''].last_activity);
  await sleep(1500);
  await gw.api('GET', '/user/alice/api/contents', { token });
  await sleep(1200);
  const after = Date.parse((await gw.api('GET', '/hub/api/users/alice')).body.servers[''].last_activity);
  t.ok(after > first, `last_activity moved from ${new Date(first).toISOString()} to ${new Date(after).toISOString()}`);
});

t.test('max_busy: a busy kernel keeps its server only that long after the last traffic', async (t) => {
  const busyGw = await Gateway.start({ config: { cull: { timeout: 4, every: 1, max_busy: 8 } } });
  t.teardown(() => busyGw.cleanup());
  await busyGw.addUser('carol');
  await busyGw.addUser('dan');
  await Promise.all([busyGw.api('POST', '/hub/api/users/carol/server'), busyGw.api('POST', '/hub/api/users/dan/server')]);
  await Promise.all([busyGw.waitReady('carol'), busyGw.waitReady('dan')]);
  const token = { carol: await busyGw.tokenFor('carol'), dan: await busyGw.tokenFor('dan') };
  const busy = async (user: 'carol' | 'dan') => {
    const kernel = await startKernel(busyGw, user, token[user]);
    const run = await execute(busyGw, user, kernel, 'import time; time.sleep(120)', { authorization: `token ${token[user]}` }, { waitFor: 'busy', keepOpen: true });
    run.ws.close();                                        // the tab is closed: no more traffic from carol
  };
  await Promise.all([busy('carol'), busy('dan')]);
  const t0 = Date.now();
  // dan keeps working in another tab: a request every second.
  const visits = setInterval(() => void busyGw.api('GET', '/user/dan/api/contents', { token: token.dan }), 1000);
  t.teardown(() => clearInterval(visits));

  await sleep(5500);
  const early = await busyGw.api('GET', '/hub/api/users/carol');
  t.equal(early.body.servers['']?.ready, true, 'past the idle timeout, carol\'s busy server is kept');
  t.ok(Date.parse(early.body.servers[''].last_activity) > t0, 'and its last_activity moves while busy');
  let carol = early;
  while (Date.now() - t0 < 25_000 && carol.body.servers['']) {
    await sleep(250);
    carol = await busyGw.api('GET', '/hub/api/users/carol');
  }
  t.same(carol.body.servers, {}, 'then culled, busy or not');
  // Activity is stamped by a 1 s clock, so its last message may read up to 1 s older than it was.
  t.ok(Date.now() - t0 >= 7000, `not before max_busy (${Date.now() - t0} ms after its last message)`);
  t.match(busyGw.output, /"reason":"max_busy","detail":"busy with no request or message for \d+ s \(max_busy 8 s\)".*"msg":"culling server"/);
  t.match((await busyGw.api('GET', '/metrics')).text, /kicloud_culls_total\{reason="max_busy"\} 1/);
  const dan = await busyGw.api('GET', '/hub/api/users/dan');
  t.equal(dan.body.servers['']?.ready, true, 'dan\'s busy server, with traffic, is kept past max_busy');
  clearInterval(visits);
});
