/** Proxied requests in the gateway's log, with `access_log: true`: one JSON line per request and per WebSocket
 *  upgrade with the request id (a front proxy's valid `X-Request-Id` kept, anything else replaced), the
 *  caller, the server, status and duration; never a token, cookie, Referer or secret query value. A refused
 *  backend is a warning with the same fields. By default (READINGS #11.5) only slow requests get a line. Real gateway and stand-in backend (test/fixtures/backend.mjs). */
import t from 'tap';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { gatewayWithAliceOnEcho } from '../helpers/gateway.ts';

const { gw, token, cookie } = await gatewayWithAliceOnEcho({ access_log: true });
t.teardown(() => gw.cleanup());
// No top-level assertions before the last await: tap's root test ends itself once it sees one and goes idle.

function get(p: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: gw.port, path: p, headers }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); })
      .on('error', reject).end();
  });
}

/** The gateway's JSON log lines whose msg is `msg` and that mention `marker`, waiting up to 3 s for `count` of
 *  them (the log is written asynchronously). */
async function logLines(msg: string, marker: string, count = 1): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const lines = gw.output.split('\n').filter((l) => l.startsWith('{') && l.includes(marker))
      .map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);
    if (lines.length >= count || Date.now() > deadline) return lines;
    await sleep(50);
  }
}

t.test('a proxied request: the front proxy\'s request id, caller, server, status, duration', async (t) => {
  t.equal(await get('/user/alice/page-one?token=secret-in-query', { authorization: `token ${token}`, 'x-request-id': 'f3a1c2-front.7' }), 200);
  const [line] = await logLines('proxied', 'page-one');
  t.ok(line, 'one line');
  t.match(line, { reqId: 'f3a1c2-front.7', user: 'alice', server: 'alice/', status: 200, method: 'GET', url: '/user/alice/page-one?token=[redacted]' });
  t.type(line.ms, 'number');
});

t.test('no or unusable X-Request-Id: the gateway makes one, unique per request', async (t) => {
  t.equal(await get('/user/alice/page-two', { cookie }), 200);
  t.equal(await get('/user/alice/page-two', { cookie, 'x-request-id': 'has spaces and "quotes"' }), 200);
  t.equal(await get('/user/alice/page-two', { cookie, 'x-request-id': 'x'.repeat(129) }), 200);
  const lines = await logLines('proxied', 'page-two', 3);
  t.equal(lines.length, 3, 'three lines');
  const ids = lines.map((l) => String(l.reqId));
  t.ok(ids.every((id) => /^[a-z0-9]+-[a-z0-9]+$/.test(id)), `generated ids: ${ids.join(', ')}`);
  t.equal(new Set(ids).size, 3, 'all different');
});

t.test('a WebSocket upgrade is logged once, with its request id', async (t) => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/alice/ws?marker=ws-three`, { headers: { authorization: `token ${token}`, 'x-request-id': 'ws-3' } });
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  ws.close();
  const lines = await logLines('proxied upgrade', 'ws-three');
  t.equal(lines.length, 1);
  t.match(lines[0], { reqId: 'ws-3', user: 'alice', server: 'alice/' });
});

t.test('secret query values are redacted, the Referer is never logged', async (t) => {
  t.equal(await get('/user/alice/page-five?_xsrf=X1secret&code=C2secret&state=S3secret&keep=ok', {
    cookie, referer: 'http://127.0.0.1/hub/login?token=referer-secret',
  }), 200);
  const [line] = await logLines('proxied', 'page-five');
  t.equal(line?.url, '/user/alice/page-five?_xsrf=[redacted]&code=[redacted]&state=[redacted]&keep=ok');
  t.notMatch(gw.output, /X1secret|C2secret|S3secret/, 'none of the values anywhere in the log');
  t.notOk(gw.output.includes('referer-secret'), 'nor the Referer');
});

t.test('the default config: no line per proxied request; a slow one is logged', async (t) => {
  const quiet = await gatewayWithAliceOnEcho({ slow_request_ms: 300 });
  t.teardown(() => quiet.gw.cleanup());
  const auth = { authorization: `token ${quiet.token}` };
  for (let i = 0; i < 20; i++) t.equal((await quiet.gw.api('GET', `/user/alice/quick-${i}`, { token: quiet.token })).status, 200);
  // The stand-in answers when the request body ends: a body sent over 500 ms makes a slow request.
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: quiet.gw.port, path: '/user/alice/slow-one', method: 'POST', headers: { ...auth, 'content-type': 'text/plain' } },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); }).on('error', reject);
    req.write('a');
    setTimeout(() => req.end('b'), 500);
  });
  t.equal(status, 200);
  await sleep(300);
  const lines = quiet.gw.output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.filter((l) => String(l.url ?? '').includes('quick-')), [], 'no line for the twenty quick requests');
  const slow = lines.filter((l) => l.msg === 'slow proxied request');
  t.equal(slow.length, 1, 'one line for the slow one');
  t.match(slow[0], { user: 'alice', server: 'alice/', status: 200, method: 'POST', url: '/user/alice/slow-one' });
  t.ok(Number(slow[0]?.ms) >= 450, `with its duration: ${slow[0]?.ms} ms`);
});

t.test('a refused backend: a warning with the same fields', async (t) => {
  await get('/user/alice/close-listener', { authorization: `token ${token}` });   // the stand-in stops listening, stays alive
  await sleep(100);
  // Keep-alive connections to the backend may still be open; new ones are refused.
  let status = 200;
  for (let i = 0; i < 6 && status === 200; i++) status = await get('/user/alice/page-four', { authorization: `token ${token}`, 'x-request-id': `dead-${i}` });
  t.equal(status, 503);
  const lines = await logLines('proxy error', 'page-four');
  t.equal(lines.length, 1, 'one warning');
  t.match(lines[0], { level: 40, reqId: /^dead-\d$/, user: 'alice', server: 'alice/', method: 'GET', url: '/user/alice/page-four', code: 'ECONNREFUSED' });
});

t.test('no credential reaches the log', async (t) => {
  const sessionValue = cookie.split('=')[1]!.split(';')[0]!;
  t.notOk(gw.output.includes(token), 'no API token');
  t.notOk(gw.output.includes(sessionValue), 'no session cookie');
  t.notOk(gw.output.includes('secret-in-query'), 'no secret query value');
});
