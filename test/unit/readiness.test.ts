/** Readiness polling (src/spawn/readiness.ts) with an injected spawner and a real HTTP server that starts
 *  listening late: the token goes out only after the listener's owner is checked, and that check (a read of
 *  the kernel's socket tables, milliseconds of system CPU each) runs only once something accepts connections.
 *  A server's output wakes the loop at once (ProbeClock), though a server that prints without pause does not
 *  make it probe without pause. */
import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerHandle, Spawner } from '../../spawners/spawner.ts';
import { READY_BACKOFF, waitUntilReady } from '../../src/spawn/readiness.ts';
import { freePort } from '../../spawners/local/ports.ts';

function fakeSpawner(owner: () => 'server' | 'none' | 'other', output?: { emit?: () => void; unsubscribed?: boolean }) {
  const calls = { listenerOwner: 0, poll: 0 };
  const spawner = {
    poll: async () => { calls.poll++; return { running: true }; },
    listenerOwner: async () => { calls.listenerOwner++; return owner(); },
    logTail: async () => 'log tail',
    ...(output ? { watchOutput: (_h: ServerHandle, onOutput: () => void) => { output.emit = onOutput; return () => { output.unsubscribed = true; }; } } : {}),
  } as unknown as Spawner;
  return { spawner, calls };
}

function listenLater(port: number, afterMs: number, seen: string[]): Promise<Server> {
  const server = createServer((req, res) => { seen.push(String(req.headers.authorization)); res.end('{}'); });
  return sleep(afterMs).then(() => new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server))));
}

t.test('owner checked only once something listens, then the token is sent', async (t) => {
  const port = await freePort();
  const seen: string[] = [];
  const { spawner, calls } = fakeSpawner(() => 'server');
  const handle: ServerHandle = { key: { user: 'alice', server: '' }, url: `http://127.0.0.1:${port}`, state: {} };
  const later = listenLater(port, 400, seen);
  t.teardown(async () => { (await later).close(); });
  const t0 = performance.now();
  await waitUntilReady(spawner, handle, { readyPath: '/api/status', token: 'tok', timeoutMs: 5000, signal: new AbortController().signal });
  t.ok(performance.now() - t0 >= 400, 'ready only after the server listened');
  t.equal(calls.listenerOwner, 1, 'one owner check for the polls before the server listened');
  t.same(seen, ['token tok'], 'one probe, with the server token');
});

t.test('a listener another account owns gets no request and the spawn fails', async (t) => {
  const port = await freePort();
  const seen: string[] = [];
  const server = await listenLater(port, 0, seen);
  t.teardown(() => server.close());
  const { spawner } = fakeSpawner(() => 'other');
  const handle: ServerHandle = { key: { user: 'alice', server: '' }, url: `http://127.0.0.1:${port}`, state: {} };
  await t.rejects(waitUntilReady(spawner, handle, { readyPath: '/api/status', token: 'tok', timeoutMs: 5000, signal: new AbortController().signal }),
    /another account is listening/);
  t.same(seen, [], 'no request reached it');
});

t.test('a listener whose owner cannot be told (not the server\'s account, not another) gets no token either', async (t) => {
  const port = await freePort();
  const seen: string[] = [];
  const server = await listenLater(port, 0, seen);
  t.teardown(() => server.close());
  const { spawner, calls } = fakeSpawner(() => 'none');
  const handle: ServerHandle = { key: { user: 'alice', server: '' }, url: `http://127.0.0.1:${port}`, state: {} };
  await t.rejects(waitUntilReady(spawner, handle, { readyPath: '/api/status', token: 'tok', timeoutMs: 1000, signal: new AbortController().signal }),
    { message: /did not answer \/api\/status within 1 s/ });
  t.ok(calls.listenerOwner > 0, 'the owner was asked');
  t.same(seen, [], 'no request reached it');
});

t.test('a cancelled spawn stops polling at once', async (t) => {
  const port = await freePort();
  const { spawner } = fakeSpawner(() => 'none');
  const handle: ServerHandle = { key: { user: 'alice', server: '' }, url: `http://127.0.0.1:${port}`, state: {} };
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 100);
  const t0 = performance.now();
  await t.rejects(waitUntilReady(spawner, handle, { readyPath: '/api/status', token: 'tok', timeoutMs: 10_000, signal: abort.signal }),
    { message: /cancelled/ });
  t.ok(performance.now() - t0 < 1000, 'within a poll interval or so of the abort');
});

t.test('nothing ever listens: a timeout that says so', async (t) => {
  const port = await freePort();
  const { spawner, calls } = fakeSpawner(() => 'none');
  const handle: ServerHandle = { key: { user: 'alice', server: '' }, url: `http://127.0.0.1:${port}`, state: {} };
  await t.rejects(waitUntilReady(spawner, handle, { readyPath: '/api/status', token: 'tok', timeoutMs: 1000, signal: new AbortController().signal }),
    { message: /did not answer \/api\/status within 1 s \(no answer yet\)/ });
  t.equal(calls.listenerOwner, 0, 'no owner check while the connect is refused');
});

t.test('output from the server wakes the loop at once, not at the next poll', async (t) => {
  const port = await freePort();
  const seen: string[] = [];
  const output: { emit?: () => void; unsubscribed?: boolean } = {};
  const { spawner } = fakeSpawner(() => 'server', output);
  const handle: ServerHandle = { key: { user: 'alice', server: '' }, url: `http://127.0.0.1:${port}`, state: {} };
  // Polls fall due at about 10, 25, 47, 81, 132, 208, 308, 408, 508 ms; the server listens at 430 and says so.
  let saidAt = 0;
  const later = listenLater(port, 430, seen).then((server) => { saidAt = performance.now(); output.emit!(); return server; });
  t.teardown(async () => { (await later).close(); });
  await waitUntilReady(spawner, handle, { readyPath: '/api/status', token: 'tok', timeoutMs: 5000, signal: new AbortController().signal });
  const after = performance.now() - saidAt;
  t.ok(saidAt > 0 && after < 50, `ready ${after.toFixed(1)} ms after the output (the next poll was due about 80 ms later)`);
  t.ok(output.unsubscribed, 'the output watch ends with the wait');
});

/** A fake server at `port` whose output never pauses (a line every 1 ms), its listener owned by `owner`. */
function chattyServer(t: Test, port: number, owner: 'none' | 'server') {
  const output: { emit?: () => void } = {};
  const { spawner, calls } = fakeSpawner(() => owner, output);
  const handle: ServerHandle = { key: { user: 'alice', server: '' }, url: `http://127.0.0.1:${port}`, state: {} };
  const chatter = setInterval(() => output.emit?.(), 1);
  t.teardown(() => clearInterval(chatter));
  return { spawner, calls, handle };
}

t.test('a server that prints without pause is probed at most every firstMs', async (t) => {
  const { spawner, calls, handle } = chattyServer(t, await freePort(), 'none');
  const t0 = performance.now();
  await t.rejects(waitUntilReady(spawner, handle, { readyPath: '/api/status', token: 'tok', timeoutMs: 500, signal: new AbortController().signal }),
    { message: /did not answer/ });
  // Against the time the wait really took (a loaded machine notices the timeout late), and with timers that fire
  // up to 1 ms early: libuv starts them from the loop's cached clock, which lags performance.now().
  const elapsed = performance.now() - t0;
  t.ok(calls.poll <= elapsed / (READY_BACKOFF.firstMs - 1) + 3, `${calls.poll} probes in ${elapsed.toFixed(0)} ms`);
  t.ok(calls.poll >= 20, 'more than the backoff alone would make (9): the output did wake it');
});

t.test('once something listens, its output no longer calls probes (it may log every failed probe)', async (t) => {
  const port = await freePort();
  const server = createServer((_req, res) => { res.writeHead(503).end(); });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { spawner, calls, handle } = chattyServer(t, port, 'server');
  await t.rejects(waitUntilReady(spawner, handle, { readyPath: '/api/status', token: 'tok', timeoutMs: 500, signal: new AbortController().signal }),
    { message: /answered 503/ });
  t.ok(calls.poll <= 11, `${calls.poll} probes in 500 ms: the backoff's, about 9`);
});
