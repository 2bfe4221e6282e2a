/** What an open relay keeps: once relaying begins, the upgrade attempt (its request head, the client's request
 *  behind its log closures) is dropped, so an idle WebSocket costs its two sockets and the relay's own hooks,
 *  not the handshake. In-process, over real loopback sockets: a backend that answers 101 and echoes; first
 *  pipeUpgrade alone, its attempt's closures holding a marker object, then the whole proxy path (createProxy
 *  with stand-ins for the hub), the HTTP server's upgrade request; each watched through a WeakRef across full
 *  collections. */
import t from 'tap';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createProxy } from '../../proxy/handle.ts';
import { pipeUpgrade } from '../../proxy/upgrade.ts';
import type { Principal } from '../../src/auth/authenticator.ts';
import type { Metrics } from '../../src/http/metrics.ts';
import type { Logger } from '../../src/log.ts';
import type { Route, RouteTable } from '../../src/routes/route-table.ts';

// gc() from a context made while the flag is set (the flag alone does not expose it to this one).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
setFlagsFromString('--no-expose-gc');

/** Up to three full collections, each in a job of its own (a WeakRef's target lives to the end of the job that
 *  last read it); whether `ref`'s target is gone after them. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 3 && ref.deref(); i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return ref.deref() === undefined;
}

const backend = createServer((s) => {
  s.once('data', () => {
    s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    s.on('data', (d) => s.write(d));
  });
});
backend.listen(0, '127.0.0.1');
await once(backend, 'listening');
const route = { url: `http://127.0.0.1:${(backend.address() as { port: number }).port}` } as Route;

// The gateway's side of a client connection: the socket a relay gets from the HTTP server's 'upgrade'.
const front = createServer();
front.listen(0, '127.0.0.1');
await once(front, 'listening');
t.teardown(() => { backend.close(); front.close(); });

t.test('the attempt and what its closures hold are collectable while the relay runs', async (t) => {
  const accepted = once(front, 'connection');
  const client = connect((front.address() as { port: number }).port, '127.0.0.1');
  const [gatewaySide] = (await accepted) as [Socket];
  let closed = 0;
  const relayHooks = { onActivity() {}, onClose() { closed++; } };
  let request: { marker: Buffer } | undefined = { marker: Buffer.alloc(64 * 1024) };
  const marker = new WeakRef(request);
  let opened!: () => void;
  const open = new Promise<void>((resolve) => { opened = resolve; });
  const close = pipeUpgrade(route, gatewaySide, {
    connectTimeoutMs: 2000,
    requestHead: 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    body: Buffer.alloc(0),
    // The relay's hooks are made outside the closures that hold the request, as proxy/handle.ts does.
    onOpen: ((held) => () => { void held; opened(); return relayHooks; })(request),
    onFailure: ((held) => (err: Error) => { void held; t.fail(`no failure expected: ${err.message}`); })(request),
  });
  request = undefined;
  await open;
  const handshake = await once(client, 'data');
  t.match(String(handshake[0]), /^HTTP\/1\.1 101 /, 'the backend\'s 101 reaches the client');

  t.equal(await collected(marker), true, 'the attempt\'s closures, and what they held, are gone');

  client.write('still relaying');
  t.equal(String((await once(client, 'data'))[0]), 'still relaying', 'the relay works on after the collection');
  close();
  await once(client, 'close');
  t.equal(closed, 1, 'the relay\'s own hook still runs at the end');
});

t.test('through the proxy: an open WebSocket does not keep its upgrade request', async (t) => {
  // createProxy with stand-ins for the hub (one route, a principal for every request), in front of the same
  // backend, behind a real HTTP server: the upgrade's IncomingMessage, watched through a WeakRef.
  const principal: Principal = { kind: 'user', name: 'alice', admin: false, via: 'token', scopes: new Map(), ownerScopes: new Map() };
  const route = { key: { user: 'alice', server: '' }, id: 'alice/', url: `http://127.0.0.1:${(backend.address() as { port: number }).port}` } as Route;
  const silent = { info() {}, warn() {}, error() {} };
  let openRelays = 0;
  const proxy = createProxy({
    publicOrigin: 'http://127.0.0.1', routes: { get: () => route } as unknown as RouteTable,
    auth: { cached: () => principal, authenticate: async () => principal, recheck: async (p) => p },
    canAccess: () => true, isNamedServer: () => false, touch() {},
    metrics: { websockets: { inc() { openRelays++; }, dec() { openRelays--; } }, proxyError() {}, observeProxy() {} } as unknown as Metrics,
    log: silent as unknown as Logger, connectTimeoutMs: 2000, slowRequestMs: 1000, accessLog: true,
    onNoRoute() { t.fail('no route'); }, onNoRouteUpgrade() { t.fail('no route'); }, onUnauthenticated() { t.fail('unauthenticated'); },
    onBackendDown() { t.fail('backend down'); },
  });
  let request: WeakRef<object> | undefined;
  const server = createHttpServer();
  server.on('upgrade', (req, socket, head) => {
    request = new WeakRef(req);
    proxy.handleUpgrade(req, socket, head);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => { server.closeAllConnections(); server.close(); });

  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(client, 'connect');
  client.write('GET /user/alice/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  const handshake = await once(client, 'data');
  t.match(String(handshake[0]), /^HTTP\/1\.1 101 /, 'relayed');
  t.equal(openRelays, 1, 'the relay counts as open');

  t.ok(request, 'the server saw the upgrade');
  t.equal(await collected(request!), true, 'its request is gone while the WebSocket stays open');
  client.write('still relaying');
  t.equal(String((await once(client, 'data'))[0]), 'still relaying', 'and the relay works on');
  client.destroy();
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(openRelays, 0, 'closed, it counts as closed');
});
