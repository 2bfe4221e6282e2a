/** Attacks over real TCP against `bin/kicloud serve` and real JupyterLab servers: another user's server, path
 *  tricks, missing/forged/expired/revoked tokens and cookies, scopes that do not grant, cross-site origins,
 *  oversized headers, malformed JSON, bad names, open redirects. Each gets a clear status and message. */
import t from 'tap';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { Gateway } from '../helpers/gateway.ts';

const gw = await Gateway.start();
t.teardown(() => gw.cleanup());
await gw.addUser('alice');
await gw.addUser('bob');
await gw.api('POST', '/hub/api/users/alice/server');
await gw.waitReady('alice');
const aliceToken = await gw.tokenFor('alice');
const bobToken = await gw.tokenFor('bob');
const bobCookie = await gw.login('bob');
const aliceCookie = await gw.login('alice');

const raw = gw.raw.bind(gw);

t.test('another user\'s server: refused for tokens and cookies, whatever the method', async (t) => {
  for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
    const r = await raw(method, '/user/alice/api/contents', { authorization: `token ${bobToken}` });
    t.equal(r.status, 403, `${method} with bob's token`);
    t.match(JSON.parse(r.body), { status: 403, message: "bob may not access alice's server" });
  }
  const c = await raw('GET', '/user/alice/api/status', { cookie: bobCookie });
  t.equal(c.status, 403, 'bob\'s cookie');
  const own = await raw('GET', '/user/alice/api/status', { authorization: `token ${aliceToken}` });
  t.equal(own.status, 200, 'alice herself gets through');
});

t.test('path tricks never reach alice\'s server with bob\'s credentials', async (t) => {
  // READINGS #11.9: a /user/ prefix whose name holds a percent escape, a backslash, a dot or nothing is a 400 that
  // says so; a capital gets a redirect to the lower-case form on GET (where bob's token then gets a 403), a 400
  // otherwise; after a valid prefix the path is the backend's, byte for byte (here: bob's stopped server).
  const invalid = /is not a valid user name in the path: names are lower-case letters/;
  const tricks: [string, number, RegExp | null][] = [
    ['/user/%61lice/api/status', 400, invalid], ['/user/alice%2fapi/status', 400, invalid], ['/user/bob%2f..%2falice/api/status', 400, invalid],
    ['/user/%2e%2e/alice/api/status', 400, invalid], ['/user/bob%00/api/status', 400, invalid], ['/user//alice/api/status', 400, invalid],
    ['/user/./alice/api/status', 400, invalid], ['/user/../user/alice/api/status', 400, invalid], ['/user/bob\\..\\alice/api/status', 400, invalid],
    ['/user/bob/..%2falice/api/status', 424, /bob's server is not running/], ['/user/bob/../alice/api/status', 424, /bob's server is not running/],
    ['/USER/alice/api/status', 404, /no such page/], ['//user/alice/api/status', 404, /no such page/], ['/hub/../user/alice/api/status', 404, /no such page/],
    ['/user/ALICE/api/status', 302, null], ['/user/Alice/api/status', 302, null],
  ];
  for (const [p, status, message] of tricks) {
    const r = await raw('GET', p, { authorization: `token ${bobToken}` });
    t.equal(r.status, status, `${p} → ${r.status} ${r.body.slice(0, 120)}`);
    if (message) t.match(JSON.parse(r.body).message, message, `${p}: the message says why`);
    else t.equal(r.headers.location, '/user/alice/api/status', `${p}: to the canonical form`);
  }
  t.equal((await raw('GET', '/user/alice/api/status', { authorization: `token ${bobToken}` })).status, 403, 'where bob is refused');
  const post = await raw('POST', '/user/Alice/api/contents', { authorization: `token ${bobToken}` });
  t.equal(post.status, 400, 'a capital on a POST: no redirect, a 400');
  t.match(JSON.parse(post.body).message, invalid);
  // Dot segments after a valid prefix stay on that prefix's server: bob's, which is stopped.
  const dots = await raw('GET', '/user/bob/../alice/api/status', { authorization: `token ${bobToken}` });
  t.equal(dots.status, 424, 'bob/../alice goes to bob\'s (stopped) server, byte for byte');
  const upper = await raw('GET', '/user/Alice/lab', { cookie: aliceCookie, accept: 'text/html' });
  t.equal(upper.status, 302, 'a GET page load with a capital gets a redirect to the canonical form');
  t.equal(upper.headers.location, '/user/alice/lab');
  const absolute = await raw('GET', `http://127.0.0.1:${gw.port}/user/alice/api/status`, { authorization: `token ${bobToken}` });
  t.not(absolute.status, 200, `absolute-form request target → ${absolute.status}`);
});

t.test('missing, forged, expired and revoked tokens', async (t) => {
  t.equal((await raw('GET', '/user/alice/api/status')).status, 401, 'no credentials on /user/ API → 401');
  const api = await gw.api('GET', '/hub/api/users', { token: null });
  t.equal(api.status, 403, 'no credentials on the REST API → 403 (as JupyterHub)');
  t.match(api.body.message, /Missing or invalid credentials/);
  t.equal((await gw.api('GET', '/hub/api/user', { token: 'f'.repeat(48) })).status, 403, 'forged token');
  t.equal((await raw('GET', '/user/alice/api/status', { authorization: `Bearer ${'0'.repeat(48)}` })).status, 401, 'forged bearer');
  t.equal((await raw('GET', '/user/alice/api/status', { authorization: `bearer ${aliceToken}` })).status, 200, 'scheme is case-insensitive');

  const short = await gw.api('POST', '/hub/api/users/alice/tokens', { body: { expires_in: 1 } });
  t.equal(short.status, 201);
  t.equal((await gw.api('GET', '/hub/api/user', { token: short.body.token })).status, 200, 'valid before expiry');
  await sleep(1300);
  t.equal((await gw.api('GET', '/hub/api/user', { token: short.body.token })).status, 403, 'expired');

  const extra = await gw.api('POST', '/hub/api/users/alice/tokens', { body: {} });
  t.equal((await gw.api('DELETE', `/hub/api/users/alice/tokens/${extra.body.id}`)).status, 204);
  t.equal((await raw('GET', '/user/alice/api/status', { authorization: `token ${extra.body.token}` })).status, 401, 'revoked token, at once');
  const list = await gw.api('GET', '/hub/api/users/alice/tokens');
  t.notOk(JSON.stringify(list.body).includes(aliceToken), 'token list never holds secrets');
});

t.test('forged, expired and logged-out cookies', async (t) => {
  const forged = await new SignJWT({ sid: 'x' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(new Uint8Array(32));
  const r = await raw('GET', '/user/alice/lab', { cookie: `kicloud-session=${forged}`, accept: 'text/html' });
  t.equal(r.status, 302, 'forged cookie → login');
  t.match(String(r.headers.location), /^\/hub\/login\?next=/);
  const none = await raw('GET', '/user/alice/lab', { cookie: 'kicloud-session=garbage', accept: 'text/html' });
  t.equal(none.status, 302, 'malformed cookie → login');
  const alg = await raw('GET', '/user/alice/api/status', { cookie: `kicloud-session=${forged.split('.')[0].replace(/./, 'e')}.e30.` });
  t.equal(alg.status, 401, 'alg tricks → 401');

  const secret = readFileSync(path.join(gw.dataDir, 'private/cookie_secret'));
  const cookie = await gw.login('alice');
  const sid = JSON.parse(Buffer.from(cookie.split('=')[1].split('.')[1], 'base64url').toString()).sid;
  const expired = await new SignJWT({ sid }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(new Uint8Array(secret));
  t.equal((await raw('GET', '/user/alice/api/status', { cookie: `kicloud-session=${expired}` })).status, 401, 'expired cookie, correctly signed');
  const wrongUser = await new SignJWT({ sid }).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').setExpirationTime('1h').sign(new Uint8Array(secret));
  t.equal((await raw('GET', '/user/bob/api/status', { cookie: `kicloud-session=${wrongUser}` })).status, 401, 'a session id bound to another user');

  t.equal((await raw('GET', '/user/alice/api/status', { cookie })).status, 200, 'fresh cookie works');
  const out = await raw('GET', '/hub/logout', { cookie });
  t.equal(out.status, 302);
  t.match(String(out.headers['set-cookie']), /kicloud-session=; Max-Age=0/);
  t.equal((await raw('GET', '/user/alice/api/status', { cookie })).status, 401, 'logged-out cookie is dead at once');
  t.equal((await gw.api('GET', '/hub/api/users/alice')).body.servers['']?.ready, true, 'the server runs on (auth.shutdown_on_logout is off by default)');
});

t.test('scopes that do not grant', async (t) => {
  const readOnly = await gw.tokenFor('alice', ['read:users!user=alice']);
  t.equal((await gw.api('GET', '/hub/api/users/alice', { token: readOnly })).status, 200, 'read allowed');
  const start = await gw.api('POST', '/hub/api/users/alice/server', { token: readOnly });
  t.equal(start.status, 403, 'cannot start');
  t.match(start.body.message, /requires any of \[servers\]/);
  t.equal((await raw('GET', '/user/alice/api/status', { authorization: `token ${readOnly}` })).status, 403, 'no access:servers, no proxy');
  const serversOnly = await gw.tokenFor('alice', ['servers!user=alice']);
  t.equal((await raw('GET', '/user/alice/api/status', { authorization: `token ${serversOnly}` })).status, 403, 'servers does not imply access:servers');
  const access = await gw.tokenFor('alice', ['access:servers!server=alice/']);
  t.equal((await raw('GET', '/user/alice/api/status', { authorization: `token ${access}` })).status, 200, '!server= filter grants that server');
  t.equal((await gw.api('GET', '/hub/api/users', { token: access })).status, 403, 'but not the user list');

  const unknown = await gw.api('POST', '/hub/api/users/alice/tokens', { body: { scopes: ['read:everything'] } });
  t.equal(unknown.status, 400);
  t.match(unknown.body.message, /unknown scope "read:everything"/);
  const badFilter = await gw.api('POST', '/hub/api/users/alice/tokens', { body: { scopes: ['servers!planet=mars'] } });
  t.equal(badFilter.status, 400, 'unknown filter');
  const more = await gw.api('POST', '/hub/api/users/alice/tokens', { body: { scopes: ['admin:users'] } });
  t.equal(more.status, 403, 'an admin minting alice a token gets at most alice\'s scopes');
  const selfEsc = await gw.api('POST', '/hub/api/users/alice/tokens', { body: { scopes: ['access:servers!user=bob'] }, token: aliceToken });
  t.equal(selfEsc.status, 403, 'alice cannot mint access to bob');
  t.equal((await gw.api('POST', '/hub/api/users/bob/tokens', { body: {}, token: aliceToken })).status, 403, 'nor tokens for bob');
  t.equal((await gw.api('POST', '/hub/api/users/carol', { body: {}, token: aliceToken })).status, 403, 'nor create users');
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/server', { token: bobToken })).status, 403, 'bob cannot stop alice');
  const metrics = await gw.api('GET', '/metrics', { token: aliceToken });
  t.equal(metrics.status, 403, 'metrics need read:metrics');
});

t.test('cross-site requests with a cookie are refused; the same from our origin pass', async (t) => {
  const evil = { cookie: aliceCookie, origin: 'http://evil.example' };
  const post = await raw('POST', '/user/alice/api/contents', { ...evil, 'content-type': 'application/json' });
  t.equal(post.status, 403, 'proxied POST');
  t.match(post.body, /cross-site/);
  t.equal((await raw('DELETE', '/hub/api/users/alice/server', evil)).status, 403, 'API DELETE');
  t.equal((await raw('POST', '/hub/login', { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' })).status, 403, 'login CSRF');
  t.equal((await raw('POST', '/user/alice/api/contents', { cookie: aliceCookie, 'sec-fetch-site': 'cross-site' })).status, 403, 'Sec-Fetch-Site cross-site');
  const same = await raw('POST', '/user/alice/api/contents', { cookie: aliceCookie, origin: gw.url, 'content-type': 'application/json' });
  t.equal(same.status, 201, 'same origin creates a file');
  // Browsers send Origin with every POST, PUT, PATCH and DELETE: with a cookie and no Origin, it is no page of ours.
  const bare = await raw('POST', '/user/alice/api/contents', { cookie: aliceCookie, 'content-type': 'application/json' });
  t.equal(bare.status, 403, 'a cookie POST with neither Origin nor Sec-Fetch-Site');
  t.match(JSON.parse(bare.body).message, /API token/, 'tells a script what to use instead');
  t.equal((await raw('DELETE', '/hub/api/users/alice/server', { cookie: aliceCookie })).status, 403, 'an API DELETE with no Origin');
  t.equal((await raw('POST', '/user/alice/api/contents', { cookie: aliceCookie, origin: 'null', 'content-type': 'application/json' })).status, 403,
    'Origin: null (a sandboxed frame, a no-referrer page)');
  t.equal((await raw('POST', '/user/alice/api/contents', { cookie: aliceCookie, 'sec-fetch-site': 'none', 'content-type': 'application/json' })).status, 403,
    'Sec-Fetch-Site: none (not from a page at all)');
  const fetchMeta = await raw('POST', '/user/alice/api/contents', { cookie: aliceCookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' });
  t.equal(fetchMeta.status, 201, 'no Origin but Sec-Fetch-Site: same-origin passes');
  const script = await raw('POST', '/user/alice/api/contents', { authorization: `token ${aliceToken}`, 'content-type': 'application/json' });
  t.equal(script.status, 201, 'a token needs no Origin');

  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/alice/api/events/subscribe`, { headers: { cookie: aliceCookie, origin: 'http://evil.example' } });
  const status = await new Promise((resolve) => { ws.on('unexpected-response', (_q, res) => resolve(res.statusCode)); ws.on('open', () => resolve(101)); ws.on('error', () => resolve(-1)); });
  t.equal(status, 403, 'cross-site WebSocket refused');
  ws.terminate();
  const ok = new WebSocket(`ws://127.0.0.1:${gw.port}/user/alice/api/events/subscribe`, { headers: { cookie: aliceCookie, origin: gw.url } });
  t.equal(await new Promise((resolve) => { ok.on('open', () => resolve(101)); ok.on('unexpected-response', (_q, res) => resolve(res.statusCode)); }), 101, 'same-origin WebSocket opens');
  ok.close();
});

t.test('WebSockets to a stopped server get 424, never a spawn', async (t) => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/bob/api/kernels/x/channels`, { headers: { cookie: bobCookie, origin: gw.url } });
  const res = await new Promise<{ status: number; body: string }>((resolve) => ws.on('unexpected-response', (_q, r) => {
    let body = ''; r.on('data', (c) => { body += c; }); r.on('end', () => resolve({ status: r.statusCode!, body }));
  }));
  t.equal(res.status, 424);
  t.match(JSON.parse(res.body), { status: 424, spawn_url: '/hub/spawn/bob' });
  const user = await gw.api('GET', '/hub/api/users/bob');
  t.same(user.body.servers, {}, 'nothing started');
  const xhr = await raw('GET', '/user/bob/lab', { cookie: bobCookie, accept: 'application/json' });
  t.equal(xhr.status, 424, 'a non-HTML GET does not spawn either');
  const fetchDest = await raw('GET', '/user/bob/lab', { cookie: bobCookie, accept: 'text/html', 'sec-fetch-dest': 'empty' });
  t.equal(fetchDest.status, 424, 'Sec-Fetch-Dest other than document does not spawn');
});

t.test('oversized headers, malformed JSON, bad names, open redirects', async (t) => {
  const big = await new Promise<string>((resolve) => {
    const s = connect(gw.port, '127.0.0.1', () => s.write(`GET /hub/api/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    let out = ''; s.on('data', (d) => { out += d; }); s.on('close', () => resolve(out)); s.on('error', () => resolve(out));
  });
  t.match(big, /^HTTP\/1\.1 431/, 'oversized header → 431');
  const bad = await gw.api('POST', '/hub/api/users', { raw: '{"usernames": [' });
  t.equal(bad.status, 400);
  t.match(bad.body, { status: 400, message: /JSON/ });
  const wrongShape = await gw.api('POST', '/hub/api/users', { body: { usernames: 'carol' } });
  t.equal(wrongShape.status, 400);
  for (const name of ['Carol', 'a/b', '-dash', 'x'.repeat(25), 'café', '..', '']) {
    const r = await gw.api('POST', '/hub/api/users', { body: { usernames: [name] } });
    t.equal(r.status, 400, `user name ${JSON.stringify(name)} → 400`);
  }
  t.equal((await gw.api('POST', '/hub/api/users/Carol', { body: {} })).status, 400);
  t.equal((await gw.api('GET', '/hub/api/users/nobody-here')).status, 404);
  t.equal((await gw.api('GET', '/hub/api/users?limit=-1')).status, 400);
  t.equal((await gw.api('GET', '/hub/api/users?state=sleeping')).status, 400);
  for (const next of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)']) {
    const r = await fetch(`${gw.url}/hub/login?next=${encodeURIComponent(next)}`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url },
      body: 'username=alice&password=alice-password-1',
    });
    t.equal(r.headers.get('location'), '/user/alice/', `next=${next} ignored`);
  }
  const wrong = await fetch(`${gw.url}/hub/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url }, body: 'username=alice&password=nope' });
  t.equal(wrong.status, 403);
  t.match(await wrong.text(), /Invalid user name or password/);
});

t.test('an admin\'s browser session does not open users\' servers; an admin token does', async (t) => {
  const adminCookie = await gw.login('admin', 'admin-password-1');
  const page = await raw('GET', '/user/alice/api/status', { cookie: adminCookie });
  t.equal(page.status, 403);
  t.match(page.body, /use an API token with access:servers/);
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/alice/api/events/subscribe`, { headers: { cookie: adminCookie, origin: gw.url } });
  ws.on('error', () => {});
  t.equal(await new Promise((resolve) => { ws.on('unexpected-response', (_q, res) => resolve(res.statusCode)); ws.on('open', () => resolve(101)); }), 403, 'nor its WebSockets');
  ws.terminate();
  const adminToken = await gw.tokenFor('admin');
  t.equal((await raw('GET', '/user/alice/api/status', { authorization: `token ${adminToken}` })).status, 200, 'access:servers on a token');
});

t.test('a token cannot change its owner\'s password or mint a wider token', async (t) => {
  const narrow = await gw.tokenFor('alice', ['read:users!user=alice']);
  const r = await gw.api('PATCH', '/hub/api/users/alice', { body: { password: 'taken-over-1' }, token: narrow });
  t.equal(r.status, 403, 'not with a narrow token');
  t.equal((await gw.api('PATCH', '/hub/api/users/alice', { body: { password: 'taken-over-1' }, token: aliceToken })).status, 403, 'nor with a full one');
  t.equal((await gw.api('PATCH', '/hub/api/users/alice', { body: {}, token: bobToken })).status, 403, 'bob cannot read alice through PATCH');
  const own = (body: object) => raw('PATCH', '/hub/api/users/alice', { cookie: aliceCookie, origin: gw.url, 'content-type': 'application/json' }, JSON.stringify(body));
  // A script on any page of this origin (alice's own server's pages share it) rides her session: not enough.
  t.equal((await own({ password: 'taken-over-1' })).status, 400, 'her own browser session alone cannot');
  t.equal((await own({ password: 'taken-over-1', current_password: 'a-wrong-guess' })).status, 403, 'nor with a wrong current password');
  t.equal((await own({ password: 'alice-password-1', current_password: 'alice-password-1' })).status, 200, 'with the current one she can');
  const tokensOnly = await gw.tokenFor('alice', ['tokens!user=alice']);
  const wider = await gw.api('POST', '/hub/api/users/alice/tokens', { body: {}, token: tokensOnly });
  t.equal(wider.status, 403, 'a tokens-only token cannot mint an inherit token');
  t.match(wider.body.message, /does not hold/);
  t.equal((await gw.api('POST', '/hub/api/users/alice/tokens', { body: { scopes: ['tokens!user=alice'] }, token: tokensOnly })).status, 201, 'but can mint its equal');
  const noServers = await gw.tokenFor('bob', ['access:servers!user=bob']);
  const lazy = await raw('GET', '/user/bob/lab', { authorization: `token ${noServers}`, accept: 'text/html', 'sec-fetch-dest': 'document' });
  t.equal(lazy.status, 424, 'a page load with a token lacking "servers" does not spawn');
});

t.test('an upgrade request reset by its client does not take the gateway down', async (t) => {
  for (const p of ['/hub/nothing', '/user/alice/api/events/subscribe', '/user/nobody-x/']) {
    await new Promise<void>((resolve) => {
      const s = connect(gw.port, '127.0.0.1', () => {
        s.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
        s.resetAndDestroy();
        resolve();
      });
      s.on('error', () => resolve());
    });
  }
  await sleep(200);
  t.equal((await raw('GET', '/hub/health')).status, 200, 'still up');
});

t.test('login rate limiting', async (t) => {
  let last = 0;
  for (let i = 0; i < 12; i++) {
    const r = await fetch(`${gw.url}/hub/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url }, body: 'username=bob&password=wrong-guess' });
    last = r.status;
    await r.text();
  }
  t.equal(last, 429, 'after 10 failures');
  const r = await fetch(`${gw.url}/hub/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url }, body: 'username=bob&password=bob-password-1' });
  t.equal(r.status, 429, 'even the right password waits');
  t.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After given');
});

t.test('a deleted user\'s credentials die with them; a re-created name inherits nothing', async (t) => {
  await gw.addUser('dave');
  const token = await gw.tokenFor('dave');
  const cookie = await gw.login('dave');
  t.equal((await gw.api('DELETE', '/hub/api/users/dave')).status, 204);
  t.equal((await gw.api('GET', '/hub/api/user', { token })).status, 403, 'token dead');
  t.equal((await raw('GET', '/hub/api/user', { cookie })).status, 403, 'session dead');
  await gw.addUser('dave');
  t.equal((await gw.api('GET', '/hub/api/user', { token })).status, 403, 'still dead for the new dave');
  t.same((await gw.api('GET', '/hub/api/users/dave/tokens')).body.api_tokens, [], 'no tokens inherited');
});
