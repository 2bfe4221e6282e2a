/** Idle culling against real JupyterLab servers: an idle server is stopped, its route removed and the cull
 *  counted; a server whose kernel is busy (a long time.sleep, no messages, tab closed) is kept; proxied
 *  traffic moves last_activity in the REST API, which is what the stock jupyterhub-idle-culler reads. */
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
