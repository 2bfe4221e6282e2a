/** The token page (/hub/token, as JupyterHub's) and the password page (/hub/change-password, as
 *  NativeAuthenticator's), driven as a browser's forms drive them, with the attacks: another user's token,
 *  cross-site posts, wrong and guessed current passwords, a stolen session after a password change. */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { echoProfile, Gateway } from '../helpers/gateway.ts';

const gw = await Gateway.start({ config: { profiles: [echoProfile()], auth: { login_attempts: 3 } } });
t.teardown(() => gw.cleanup());
for (const u of ['alice', 'bob', 'carol']) await gw.addUser(u);

/** A form post as the browser sends it: urlencoded, the session cookie, our own Origin unless told otherwise. */
const form = (p: string, cookie: string, fields: Record<string, string>, origin = gw.url) => fetch(`${gw.url}${p}`, {
  method: 'POST', redirect: 'manual', body: new URLSearchParams(fields),
  headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin },
});
const page = (p: string, cookie: string) => fetch(`${gw.url}${p}`, { redirect: 'manual', headers: { cookie, accept: 'text/html' } });
const whoami = async (token: string) => (await gw.api('GET', '/hub/api/user', { token })).status;
const newToken = (html: string) => /<pre id="new-token">([0-9a-f]+)<\/pre>/.exec(html)?.[1];
/** The token page's form: each rendering carries a fresh request id. */
const requestId = () => randomBytes(16).toString('hex');

t.test('token page: request, use, list and revoke a token', async (t) => {
  const anon = await page('/hub/token', '');
  t.equal(anon.status, 302, 'a visitor is sent to log in');
  t.equal(anon.headers.get('location'), '/hub/login?next=%2Fhub%2Ftoken');

  const cookie = await gw.login('alice');
  const empty = await page('/hub/token', cookie);
  t.equal(empty.status, 200);
  t.match(await empty.text(), /None yet/);

  const id = requestId();
  const made = await form('/hub/token', cookie, { note: 'laptop <b>x</b>', expires_in: '3600', request_id: id });
  t.equal(made.status, 200);
  t.equal(made.headers.get('cache-control'), 'no-store', 'a page holding a secret is not cached');
  const html = await made.text();
  const secret = newToken(html);
  t.ok(secret, 'the new token is shown once');
  t.match(html, /laptop &#60;b&#62;x&#60;\/b&#62;/, 'the note is escaped');
  t.notMatch(html, /<b>x<\/b>/);

  const me = await gw.api('GET', '/hub/api/user', { token: secret! });
  t.equal(me.body.name, 'alice', 'the token acts for alice');
  const listed = (await gw.api('GET', '/hub/api/users/alice/tokens')).body.api_tokens;
  const info = listed.find((x: { note: string }) => x.note === 'laptop <b>x</b>');
  t.ok(info, 'listed with its note');
  const lifetime = Date.parse(info.expires_at) - Date.parse(info.created);
  t.ok(Math.abs(lifetime - 3600_000) < 5000, `expires in an hour (${lifetime} ms)`);
  t.same(info.scopes, ['inherit'], 'it holds what alice holds, no more');

  const reloaded = await form('/hub/token', cookie, { note: 'laptop <b>x</b>', expires_in: '3600', request_id: id });
  const reloadedHtml = await reloaded.text();
  t.notOk(newToken(reloadedHtml), 'reloading the answer (the same form posted again) mints nothing');
  t.match(reloadedHtml, /id="token-notice"/, 'and says so');
  t.equal((await gw.api('GET', '/hub/api/users/alice/tokens')).body.api_tokens.length, listed.length, 'still one token');
  const again = await (await page('/hub/token', cookie)).text();
  t.notOk(newToken(again), 'the secret is not shown a second time');
  t.match(again, new RegExp(`id="token-${info.id}"`), 'the token has a row');

  const revoked = await form(`/hub/token/${info.id}/revoke`, cookie, {});
  t.equal(revoked.status, 303);
  t.equal(revoked.headers.get('location'), '/hub/token');
  t.equal(await whoami(secret!), 403, 'a revoked token no longer works');
  t.notMatch(await (await page('/hub/token', cookie)).text(), new RegExp(`token-${info.id}`), 'and is gone from the page');
});

t.test('token page: bad input and attacks change nothing', async (t) => {
  const alice = await gw.login('alice');
  const before = (await gw.api('GET', '/hub/api/users/alice/tokens')).body.api_tokens.length;
  const cross = await form('/hub/token', alice, { note: 'csrf', request_id: requestId() }, 'http://evil.example');
  t.equal(cross.status, 403, 'a post from another site is refused');
  const noOrigin = await fetch(`${gw.url}/hub/token`, { method: 'POST', redirect: 'manual', body: 'note=x',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: alice, 'sec-fetch-site': 'cross-site' } });
  t.equal(noOrigin.status, 403, 'so is one that says it is cross-site');
  const odd = await form('/hub/token', alice, { note: 'odd', expires_in: '12345', request_id: requestId() });
  t.equal(odd.status, 400, 'an expiry that is not one of the choices');
  const long = await form('/hub/token', alice, { note: 'x'.repeat(1001), request_id: requestId() });
  const noId = await form('/hub/token', alice, { note: 'no id' });
  t.equal(noId.status, 400, 'a form without its request id');
  t.equal(long.status, 400, 'a note longer than 1000 characters');
  t.equal((await gw.api('GET', '/hub/api/users/alice/tokens')).body.api_tokens.length, before, 'no token was made');

  const bobToken = await gw.tokenFor('bob');
  const bobId = (await gw.api('GET', '/hub/api/users/bob/tokens')).body.api_tokens[0].id;
  const steal = await form(`/hub/token/${bobId}/revoke`, alice, {});
  t.equal(steal.status, 404, "alice cannot revoke bob's token");
  t.equal(await whoami(bobToken), 200, "bob's token still works");
  const crossRevoke = await form(`/hub/token/${bobId}/revoke`, await gw.login('bob'), {}, 'http://evil.example');
  t.equal(crossRevoke.status, 403, 'a cross-site revoke is refused');
  t.equal(await whoami(bobToken), 200);
  t.notMatch(await (await page('/hub/token', alice)).text(), new RegExp(bobId), "alice's page does not list bob's tokens");
});

t.test('password page: the current password is required, and a change ends every other session', async (t) => {
  const anon = await page('/hub/change-password', '');
  t.equal(anon.status, 302);
  const old1 = await gw.login('carol'), old2 = await gw.login('carol');
  const get = await page('/hub/change-password', old1);
  t.equal(get.status, 200);
  t.match(await get.text(), /name="current_password"/);

  const wrong = await form('/hub/change-password', old1, { current_password: 'not-it-at-all', new_password: 'carol-new-pass', confirm_password: 'carol-new-pass' });
  t.equal(wrong.status, 403);
  t.match(await wrong.text(), /current password is not correct/);
  const differ = await form('/hub/change-password', old1, { current_password: 'carol-password-1', new_password: 'carol-new-pass', confirm_password: 'carol-new-pasz' });
  t.equal(differ.status, 400);
  t.match(await differ.text(), /two new passwords differ/);
  const short = await form('/hub/change-password', old1, { current_password: 'carol-password-1', new_password: 'short', confirm_password: 'short' });
  t.equal(short.status, 400);
  t.match(await short.text(), /at least 8 characters/);
  const cross = await form('/hub/change-password', old1, { current_password: 'carol-password-1', new_password: 'carol-new-pass', confirm_password: 'carol-new-pass' }, 'http://evil.example');
  t.equal(cross.status, 403, 'a cross-site post is refused');
  t.ok(await gw.login('carol'), 'after all that, the old password still works');

  const done = await form('/hub/change-password', old1, { current_password: 'carol-password-1', new_password: 'carol-new-pass', confirm_password: 'carol-new-pass' });
  t.equal(done.status, 200);
  t.match(await done.text(), /id="changed"/);
  const fresh = done.headers.get('set-cookie')?.split(';')[0];
  t.ok(fresh?.startsWith('kicloud-session='), 'this browser gets a new session');
  t.equal((await page('/hub/home', fresh!)).status, 200, 'which works');
  t.equal((await page('/hub/home', old1)).status, 302, 'the session that made the change was replaced');
  t.equal((await page('/hub/home', old2)).status, 302, 'another session (a stolen cookie, say) is logged out');
  await t.rejects(gw.login('carol'), /403/, 'the old password no longer logs in');
  t.ok(await gw.login('carol', 'carol-new-pass'), 'the new one does');
});

t.test('password: wrong current passwords are rate-limited like logins, in the page and the API', async (t) => {
  await gw.addUser('dave');
  const cookie = await gw.login('dave');
  const guess = (n: number) => form('/hub/change-password', cookie, { current_password: `guess-number-${n}`, new_password: 'taken-over-1', confirm_password: 'taken-over-1' });
  for (let i = 0; i < 3; i++) t.equal((await guess(i)).status, 403, `guess ${i + 1} is wrong`);
  const limited = await guess(3);
  t.equal(limited.status, 429, 'then the page stops checking');
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'and says when to retry');
  const right = await form('/hub/change-password', cookie, { current_password: 'dave-password-1', new_password: 'taken-over-1', confirm_password: 'taken-over-1' });
  t.equal(right.status, 429, 'even the right password waits out the window');
  const api = await fetch(`${gw.url}/hub/api/users/dave`, { method: 'PATCH', headers: { cookie, origin: gw.url, 'content-type': 'application/json' },
    body: JSON.stringify({ password: 'taken-over-1', current_password: 'dave-password-1' }) });
  t.equal(api.status, 429, 'the API shares the limit');
  t.ok(Number(api.headers.get('retry-after')) > 0);
  t.equal((await page('/hub/home', cookie)).status, 200, 'nothing changed: the session still works');
});

t.test("a server's own token is listed read-only and cannot be revoked from the page", async (t) => {
  await gw.addUser('fay');
  await gw.api('POST', '/hub/api/users/fay/server');
  await gw.waitReady('fay');
  const cookie = await gw.login('fay');
  const own = (await gw.api('GET', '/hub/api/users/fay/tokens')).body.api_tokens.find((x: { note: string }) => x.note === 'server fay/');
  t.ok(own, 'the running server has its token');
  const html = await (await page('/hub/token', cookie)).text();
  const row = new RegExp(`id="token-${own.id}"[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
  t.match(row, /the hub revokes it when the server stops/);
  t.notMatch(row, /Revoke/);
  t.equal((await form(`/hub/token/${own.id}/revoke`, cookie, {})).status, 400);
  t.ok((await gw.api('GET', '/hub/api/users/fay/tokens')).body.api_tokens.some((x: { id: string }) => x.id === own.id), 'still there');
});

t.test('password: only in a browser session, never half-applied, and it can revoke the API tokens', async (t) => {
  await gw.addUser('erin');
  const token = await gw.tokenFor('erin');
  const byToken = await fetch(`${gw.url}/hub/change-password`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({
    current_password: 'erin-password-1', new_password: 'erin-by-token', confirm_password: 'erin-by-token' }),
  headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `token ${token}` } });
  t.equal(byToken.status, 403, "a token (a server's, say) cannot use the page");
  t.notOk(byToken.headers.get('set-cookie'), 'nor get a browser session from it');
  t.ok(await gw.login('erin'), 'the password is unchanged');

  await gw.addUser('gus', 'gus-password-1', true);
  const gus = await gw.login('gus');
  const patch = (body: object) => fetch(`${gw.url}/hub/api/users/gus`, { method: 'PATCH', headers: { cookie: gus, origin: gw.url, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  t.equal((await patch({ admin: false, password: 'gus-password-2', current_password: 'wrong-password' })).status, 403);
  t.equal((await gw.api('GET', '/hub/api/users/gus')).body.admin, true, 'a wrong current password changes nothing, not even the admin flag');

  const erin = await gw.login('erin');
  const kept = await form('/hub/change-password', erin, { current_password: 'erin-password-1', new_password: 'erin-password-2', confirm_password: 'erin-password-2' });
  t.equal(kept.status, 200);
  t.equal(await whoami(token), 200, 'without the box, API tokens keep working');
  const erin2 = await gw.login('erin', 'erin-password-2');
  const revoked = await form('/hub/change-password', erin2, { current_password: 'erin-password-2', new_password: 'erin-password-3', confirm_password: 'erin-password-3', revoke_tokens: 'yes' });
  t.equal(revoked.status, 200);
  t.match(await revoked.text(), /your API tokens revoked/);
  t.equal(await whoami(token), 403, 'with it, they are revoked');
});
