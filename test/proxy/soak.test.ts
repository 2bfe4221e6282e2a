/** What CHP's users meet after weeks (configurable-http-proxy#388, #434): sockets, and the memory behind them,
 *  that only a restart gives back. Here, in cycles: many WebSockets opened, used and then closed by their
 *  clients (cleanly or by cutting the TCP connection), many cut by their server stopping, and HTTP requests
 *  abandoned while the server has not answered. After each cycle the gateway holds no more file descriptors than
 *  before it (counted in /proc), its WebSocket gauge is back to 0, and every client saw its connection end.
 *  Bounded: 200 connections per cycle, the half-close grace + 3 s to settle. */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { HALF_CLOSE_GRACE_MS } from '../../proxy/upgrade.ts';
import { gatewayWithAliceOnEcho } from '../helpers/gateway.ts';

const { gw, token } = await gatewayWithAliceOnEcho({ proxy: { connect_timeout: 2, response_timeout: 30 } });
t.teardown(() => gw.cleanup());
const N = 200;
const auth = { authorization: `token ${token}` };
const fds = () => readdirSync(`/proc/${gw.child.pid}/fd`).length;
const websocketGauge = async () => Number(/^kicloud_proxy_websockets (\d+)/m.exec((await gw.api('GET', '/metrics')).text)?.[1]);

/** Waits for the gateway to hold no more descriptors than `baseline` and no WebSocket: up to the half-close
 *  grace (a client that cut its connection leaves the backend's side to end it, which the echo server never
 *  does). Resolves with what it last saw, for the message. */
async function settles(baseline: number): Promise<{ ok: boolean; fds: number; websockets: number }> {
  const deadline = Date.now() + HALF_CLOSE_GRACE_MS + 3000;
  for (;;) {
    const now = { fds: fds(), websockets: await websocketGauge() };
    const ok = now.fds <= baseline && now.websockets === 0;
    if (ok || Date.now() > deadline) return { ok, ...now };
    await sleep(50);
  }
}

/** N WebSockets, each answered once by the echo server; resolves with them open. */
async function openMany(): Promise<WebSocket[]> {
  return Promise.all(Array.from({ length: N }, () => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/alice/ws`, { headers: auth });
    ws.once('error', reject);
    ws.once('open', () => { ws.once('message', () => resolve(ws)); ws.send('ping'); });
  })));
}
const allClosed = (list: WebSocket[]) => Promise.all(list.map((ws) => ws.readyState === WebSocket.CLOSED ? undefined
  : new Promise((r) => ws.once('close', r))));

// One proxied request first, so that the backend pool's keep-alive connection is part of the baseline.
t.equal((await gw.api('GET', '/user/alice/api/status', { token })).status, 200);
const baseline = fds();

t.test('WebSockets closed by their clients, cleanly or by cutting the connection', async (t) => {
  for (let cycle = 1; cycle <= 2; cycle++) {
    const list = await openMany();
    t.equal(await websocketGauge(), N, `cycle ${cycle}: ${N} open`);
    list.forEach((ws, i) => (i % 2 ? ws.close() : ws.terminate()));
    await allClosed(list);
    const after = await settles(baseline);
    t.ok(after.ok, `cycle ${cycle}: every socket given back (${after.fds} descriptors, baseline ${baseline}; ${after.websockets} WebSockets)`);
  }
});

t.test('WebSockets cut by their server stopping: every client told, every socket given back', async (t) => {
  const list = await openMany();
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204);
  const ended = await Promise.race([allClosed(list).then(() => true), sleep(5000).then(() => false)]);
  t.ok(ended, 'all clients saw the end within 5 s');
  const after = await settles(baseline);
  t.ok(after.ok, `every socket given back (${after.fds} descriptors, baseline ${baseline}; ${after.websockets} WebSockets)`);
  t.equal((await gw.api('POST', '/hub/api/users/alice/server')).status, 201);
  t.equal((await gw.api('GET', '/user/alice/api/status', { token })).status, 200);
  t.ok(fds() <= baseline, 'started again and used: no more than before');
});

t.test('HTTP requests abandoned before the server answered', async (t) => {
  await Promise.all(Array.from({ length: N }, () => new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: gw.port, path: '/user/alice/hang', headers: auth });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    setTimeout(() => req.destroy(), 300);             // the echo server never answers /hang
  })));
  // Abandoned requests take their backend connections with them (a half-read answer cannot be reused).
  const after = await settles(baseline);
  t.ok(after.ok, `every socket given back (${after.fds} descriptors, baseline ${baseline})`);
  t.equal((await gw.api('GET', '/user/alice/api/status', { token })).status, 200, 'and the server is still served');
});

/** A WebSocket handshake through the gateway on a raw socket (half-closable); resolves once the 101 is read. */
function rawUpgrade(path: string): Promise<{ socket: Socket; afterHead: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: gw.port, allowHalfOpen: true });
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: token ${token}\r\n\r\n`));
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      if (!/^HTTP\/1.1 101 /.test(head.toString('latin1'))) return reject(new Error(head.toString('latin1', 0, end)));
      resolve({ socket, afterHead: head.subarray(end + 4) });
    };
    socket.on('data', onData);
  });
}

t.test('a client that half-closes while its server still sends keeps receiving past the grace', async (t) => {
  const { socket } = await rawUpgrade('/user/alice/ws-stream');
  let bytes = 0;
  socket.on('data', (d: Buffer) => { bytes += d.length; });
  socket.resume();
  socket.end();                                       // our half: done; the server's: still streaming
  let closed = false;
  socket.once('close', () => { closed = true; });
  await sleep(HALF_CLOSE_GRACE_MS + 1000);
  const before = bytes;
  await sleep(500);
  t.notOk(closed, 'still open after the grace');
  t.ok(bytes > before, 'and still receiving');
  socket.destroy();
});

t.test("a server's last bytes reach a slow client before the connection goes", async (t) => {
  const { socket, afterHead } = await rawUpgrade('/user/alice/ws-burst');
  await sleep(1000);                                  // read nothing for a while: the gateway holds what it got
  let received = afterHead.length;
  socket.on('data', (d: Buffer) => { received += d.length; });
  await new Promise((r) => { socket.once('end', r); socket.resume(); });
  t.equal(received, 10 + 8 * 1024 * 1024, 'the whole 8 MiB frame, then the end');
  socket.destroy();
});
