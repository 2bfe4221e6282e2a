/** The proxy against a stand-in user server (test/fixtures/backend.mjs) run by the gateway like any profile:
 *  what the backend receives (its own token, no gateway cookie or caller credentials, X-Forwarded-*, the
 *  browser's Host), bodies streamed both ways, WebSocket frames both ways with activity, response timeout →
 *  504, refused connection → 503 with an immediate poll, and a non-loopback Host accepted. */
import t from 'tap';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { gatewayWithAliceOnEcho } from '../helpers/gateway.ts';

const { gw, token, cookie } = await gatewayWithAliceOnEcho({ proxy: { connect_timeout: 2, response_timeout: 1 } });
t.teardown(() => gw.cleanup());
// No top-level assertions before the last await: tap's root test ends itself once it sees one and goes idle.

t.test('what the backend receives', async (t) => {
  const r = await gw.raw('GET', '/user/alice/echo?x=1&token=abc',
    { cookie: `theme=dark; ${cookie}; other=1`, 'x-forwarded-for': '10.9.9.9', 'x-forwarded-host': 'spoofed', host: 'hub.example.org:8443' });
  t.equal(r.status, 200);
  const echoed = JSON.parse(r.body);
  const h = echoed.headers;
  t.match(h.authorization, /^token \S+$/, 'the server\'s own token');
  t.notMatch(h.cookie, /kicloud-session/, 'gateway cookie stripped');
  t.match(h.cookie, /theme=dark/, 'other cookies kept');
  t.match(h.cookie, /other=1/);
  t.equal(h['x-forwarded-for'], '10.9.9.9, 127.0.0.1', 'X-Forwarded-For appended');
  t.equal(h['x-forwarded-proto'], 'http');
  t.equal(h['x-forwarded-host'], 'hub.example.org:8443', 'X-Forwarded-Host from the request, not the client');
  t.equal(h.host, 'hub.example.org:8443', 'the browser\'s Host is kept');
  t.equal(echoed.url, '/user/alice/echo?x=1&token=abc', 'path and query byte for byte');
  t.equal(r.headers['x-backend'], 'yes', 'response headers relayed');
  t.not(r.headers.connection, 'keep-alive, keep-alive', 'hop-by-hop not duplicated');

  const withToken = await gw.api('GET', '/user/alice/echo', { token });
  t.not(withToken.body.headers.authorization, `token ${token}`, 'the caller\'s token is replaced, never forwarded');
  const weird = await gw.raw('GET', '/user/alice/files/a%20b/%2e%2e/c%2Fd.txt', { authorization: `token ${token}` });
  t.equal(JSON.parse(weird.body).url, '/user/alice/files/a%20b/%2e%2e/c%2Fd.txt', 'encoded rest untouched');
});

t.test('PREFIX/logout is the hub\'s logout (JupyterLab\'s File → Log Out); other logout paths go to the server', async (t) => {
  const page = await gw.raw('GET', '/user/alice/logout?next=x', { cookie, accept: 'text/html', 'sec-fetch-dest': 'document' });
  t.equal(page.status, 302);
  t.equal(page.headers.location, '/hub/logout', 'sent to the hub\'s logout');
  t.equal((await gw.raw('GET', '/user/alice/logout/x', { cookie })).status, 200, 'a deeper path is the server\'s');
  t.equal((await gw.raw('POST', '/user/alice/logout', { cookie, origin: gw.url })).status, 200, 'so is a POST');
  t.equal((await gw.raw('GET', '/user/bob/logout', { cookie, accept: 'text/html' })).status, 403, 'another user\'s prefix: refused, as any path there');
  t.equal((await gw.raw('GET', '/user/alice/logout', { accept: 'text/html' })).status, 302, 'without a session: the login page');
});

t.test('one keep-alive connection, credentials and cookies changing between requests', async (t) => {
  // The proxy derives the auth key and the stripped Cookie header once per connection and header value:
  // each request must still be judged, and stripped, by its own headers.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<unknown>();
  const get = (headers: Record<string, string>) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${gw.url}/user/alice/echo`, { agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => { body += c; }).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('socket', (s) => sockets.add(s)).on('error', reject).end();
  });
  const seen = (r: { body: string }) => JSON.parse(r.body).headers.cookie;
  t.equal(seen(await get({ cookie: `a=1; ${cookie}` })), 'a=1');
  t.equal(seen(await get({ cookie: `${cookie}; b=2` })), 'b=2', 'a new Cookie header is stripped anew');
  t.equal(seen(await get({ cookie: `${cookie}; b=2` })), 'b=2');
  t.equal((await get({ cookie: 'b=2' })).status, 401, 'the session cookie gone: refused');
  t.equal((await get({ cookie: `b=2; ${cookie}` })).status, 200);
  t.equal((await get({ authorization: 'token not-a-real-token', cookie: `b=2; ${cookie}` })).status, 401, 'a bad token decides alone, whatever the cookie');
  t.equal((await get({ authorization: `token ${token}` })).status, 200);
  t.equal(sockets.size, 1, 'all on one connection');
});

t.test('two Cookie header lines: the session in either one authenticates and is stripped', async (t) => {
  // Node joins repeated Cookie lines for req.headers (what authenticates) but keeps them apart in rawHeaders
  // (what is forwarded): both views must agree on where the session cookie is.
  const rawGet = (cookieLines: string[]) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const socket = connect(gw.port, '127.0.0.1', () => {
      // write, not end: a client that half-closes before the answer counts as gone (the proxy aborts)
      socket.write(`GET /user/alice/echo HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\n` +
        `${cookieLines.map((c) => `Cookie: ${c}\r\n`).join('')}Connection: close\r\n\r\n`);
    });
    let text = '';
    socket.setEncoding('latin1').on('data', (c) => { text += c; }).on('error', reject).on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
      const bodyStart = text.indexOf('\r\n\r\n') + 4;
      const head = text.slice(0, bodyStart);
      // The echo server answers with a Content-Length or chunks; the JSON is the one {...} in the body.
      const body = text.slice(bodyStart);
      resolve({ status, body: /chunked/i.test(head) ? body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1) : body });
    });
  });
  for (const lines of [['a=1', cookie], [cookie, 'a=1'], ['a=1', `b=2; ${cookie}; c=3`]]) {
    const r = await rawGet(lines);
    t.equal(r.status, 200, `authenticated with ${lines.length} lines, session in line ${lines.findIndex((l) => l.includes('kicloud-session')) + 1}`);
    const seen = String(JSON.parse(r.body).headers.cookie);
    t.notMatch(seen, /kicloud-session/, `stripped: the backend saw "${seen}"`);
    t.match(seen, /a=1/);
  }
});

t.test('bodies stream both ways', async (t) => {
  const body = Buffer.alloc(3 * 1024 * 1024, 7);
  const r = await fetch(`${gw.url}/user/alice/upload`, { method: 'PUT', body, headers: { authorization: `token ${token}` } });
  const j = await r.json();
  t.equal(j.size, body.length, '3 MiB request body arrived whole');
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/user/alice/upload', headers: { authorization: `token ${token}`, 'transfer-encoding': 'chunked' } }, (res) => {
      let s = ''; res.on('data', (c) => { s += c; }); res.on('end', () => resolve(JSON.parse(s).size));
    });
    req.on('error', reject);
    for (let i = 0; i < 10; i++) req.write(Buffer.alloc(1000, 1));
    req.end();
  });
  t.equal(chunked, 10_000, 'chunked request body');
  const big = await fetch(`${gw.url}/user/alice/big`, { headers: { authorization: `token ${token}` } });
  t.equal((await big.arrayBuffer()).byteLength, 64 * 64 * 1024, '4 MiB response streamed');
  const redirect = await gw.api('GET', '/user/alice/redirect', { token });
  t.equal(redirect.status, 302, 'backend redirects relayed, not followed');
  t.equal(redirect.headers.get('location'), '/user/alice/elsewhere');
});

t.test('a user server cannot set the gateway\'s cookie; Expect: 100-continue uploads pass', async (t) => {
  const r = await gw.raw('GET', '/user/alice/set-cookie', { authorization: `token ${token}` });
  t.same(r.headers['set-cookie'], ['theme=dark; Path=/user/alice/'], 'kicloud-session dropped, other cookies kept');
  const up = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, method: 'PUT', path: '/user/alice/upload',
      headers: { authorization: `token ${token}`, expect: '100-continue', 'content-length': '5' } }, (res) => {
      let b = ''; res.on('data', (c) => { b += c; }); res.on('end', () => resolve({ status: res.statusCode!, body: b }));
    });
    req.on('continue', () => req.end('hello'));
    req.on('error', reject);
  });
  t.equal(up.status, 200, 'upload with Expect: 100-continue');
  t.equal(JSON.parse(up.body).size, 5);
});

t.test('WebSocket frames both ways through a TCP pipe', async (t) => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/alice/ws`, { headers: { authorization: `token ${token}` } });
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  const echoes: string[] = [];
  ws.on('message', (d) => echoes.push(String(d)));
  const big = 'x'.repeat(70_000);
  ws.send('hello');
  ws.send(big);
  const deadline = Date.now() + 5000;
  while (echoes.length < 2 && Date.now() < deadline) await sleep(20);
  t.same(echoes.map((e) => e.length), [5, 70_000], 'small and 64-bit-length frames echoed');
  const metrics = await gw.api('GET', '/metrics');
  t.match(metrics.text, /kicloud_proxy_websockets 1/, 'open WebSocket counted');
  ws.close();
  await sleep(200);
  t.match((await gw.api('GET', '/metrics')).text, /kicloud_proxy_websockets 0/, 'and uncounted when closed');
});

t.test('WebSocket relay keeps every byte under backpressure (16 MiB each way, in 1 MiB frames)', async (t) => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/alice/ws`, { headers: { authorization: `token ${token}` } });
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  const sent = Array.from({ length: 16 }, (_, i) => Buffer.alloc(1024 * 1024, i + 1));
  const received: Buffer[] = [];
  ws.on('message', (d: Buffer) => received.push(d));
  for (const m of sent) ws.send(m);            // far more than the socket buffers hold: the relay must pause and resume
  const deadline = Date.now() + 20_000;
  while (received.length < sent.length && Date.now() < deadline) await sleep(20);
  t.equal(received.length, sent.length, 'every frame came back');
  t.ok(received.every((r, i) => r.equals(sent[i])), 'byte for byte, in order');
  ws.close();
});

t.test('a backend that does not answer → 504 after response_timeout', async (t) => {
  const t0 = Date.now();
  const r = await gw.api('GET', '/user/alice/hang', { token });
  t.equal(r.status, 504);
  t.match(r.body.message, /took too long/);
  t.ok(Date.now() - t0 < 3000, `answered in ${Date.now() - t0} ms`);
  const html = await gw.api('GET', '/user/alice/hang', { token, headers: { accept: 'text/html' } });
  t.match(html.text, /<h1>504/, 'a page for browsers');
});

t.test('refused connection → 503, the server is polled at once', async (t) => {
  await gw.api('GET', '/user/alice/close-listener', { token });
  await sleep(100);
  // Keep-alive connections may still be open; new ones are refused.
  let r = await gw.api('GET', '/user/alice/echo', { token, headers: { connection: 'close' } });
  for (let i = 0; i < 5 && r.status === 200; i++) r = await gw.api('GET', '/user/alice/echo', { token });
  t.equal(r.status, 503);
  t.match(r.body.message, /not answering/);
  const html = await gw.api('GET', '/user/alice/echo', { token, headers: { accept: 'text/html' } });
  t.equal(html.status, 503);
  t.match(html.text, /<h1>503/, 'a page for browsers');
  const user = await gw.api('GET', '/hub/api/users/alice');
  t.equal(user.body.servers['']?.ready, true, 'the process is alive, so it stays listed (the log tells the story)');
  const m = await gw.api('GET', '/metrics');
  t.match(m.text, /kicloud_proxy_errors_total\{kind="refused"\} [1-9]/);
  t.match(m.text, /kicloud_proxy_errors_total\{kind="timeout"\} [1-9]/);
  t.match(m.text, /kicloud_spawn_duration_seconds_count\{status="success"\} 1/);
  t.match(m.text, /kicloud_running_servers 1/);
  t.match(m.text, /kicloud_proxy_request_duration_seconds_bucket/);
});
