/** A user server that no longer completes connections: the gateway gives up after proxy.connect_timeout with a
 *  504, for HTTP and for WebSocket upgrades, instead of hanging as configurable-http-proxy does without
 *  --proxy-timeout. On loopback a connect only hangs when the listener's accept queue is full (the kernel then
 *  drops the SYN): the test stops the stand-in server (SIGSTOP, so it accepts nothing) and fills its queue. */
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { gatewayWithAliceOnEcho } from '../helpers/gateway.ts';

// The server's pool has no connection yet: the start's readiness probe has its own.
const { gw, token } = await gatewayWithAliceOnEcho({ proxy: { connect_timeout: 1, response_timeout: 30 } });
const fillers: Socket[] = [];
let stoppedPid = 0;
t.teardown(async () => {
  for (const s of fillers) s.destroy();
  if (stoppedPid) process.kill(-stoppedPid, 'SIGCONT');
  await gw.cleanup();
});

t.test('connect timeout → 504 after connect_timeout, HTTP and WebSocket', async (t) => {
  const { pid, port } = (await gw.api('GET', '/hub/api/users/alice')).body.servers[''].state as { pid: number; port: number };
  process.kill(-pid, 'SIGSTOP');
  stoppedPid = pid;
  // Node listens with a backlog of 511: connect until new connects stop completing.
  let completed = 0, lastCompletedAt = Date.now();
  for (let i = 0; i < 700; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => { completed++; lastCompletedAt = Date.now(); });
    s.on('error', () => {});
    fillers.push(s);
  }
  while (Date.now() - lastCompletedAt < 500) await sleep(100);
  t.ok(completed >= 500 && completed < 700, `the accept queue is full: ${completed} of 700 connects completed`);

  const t0 = Date.now();
  const r = await gw.api('GET', '/user/alice/echo', { token });
  const took = Date.now() - t0;
  t.equal(r.status, 504);
  t.match(r.body.message, /took too long/);
  t.ok(took >= 900 && took < 3000, `after connect_timeout (1 s): ${took} ms`);
  const page = await gw.api('GET', '/user/alice/tree', { token, headers: { accept: 'text/html' } });
  t.equal(page.status, 504);
  t.match(page.text, /<h1>504/, 'a page for browsers');

  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/alice/ws`, { headers: { authorization: `token ${token}` } });
  const w0 = Date.now();
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('open', () => resolve(101));
    ws.on('error', () => resolve(0));
  });
  t.equal(status, 504, 'an upgrade too');
  t.ok(Date.now() - w0 < 3000, `in ${Date.now() - w0} ms`);
  t.match((await gw.api('GET', '/metrics')).text, /kicloud_proxy_errors_total\{kind="timeout"\} [2-9]/, 'counted as timeouts');

  for (const s of fillers.splice(0)) s.destroy();
  process.kill(-pid, 'SIGCONT');
  stoppedPid = 0;
  let back = 0;
  for (let i = 0; i < 50 && back !== 200; i++) { back = (await gw.api('GET', '/user/alice/echo', { token })).status; if (back !== 200) await sleep(100); }
  t.equal(back, 200, 'answers again once it accepts again: a timeout does not stop the server');
});
