/** /hub/admin (as JupyterHub's admin page) driven as a browser's forms drive it: list and find users, add users
 *  with one-time passwords, the admin flag, a new password, start, stop, stop all, delete; and the attacks: a
 *  user who is not an admin, cross-site posts, tokens without the action's scope, group-limited tokens, an
 *  admin acting on themselves, bad form values. */
import t from 'tap';
import { echoProfile, Gateway } from '../helpers/gateway.ts';

const broken = echoProfile('broken', { command: ['/bin/sh', '-c', 'echo cannot listen on $0 >&2; exit 3', '{port}'] });
const gw = await Gateway.start({ config: { profiles: [echoProfile(), echoProfile('other'), broken], named_servers: { enabled: true, limit: 3 } } });
t.teardown(() => gw.cleanup());
await gw.addUser('boss', 'boss-password-1', true);
for (const u of ['alice', 'bob']) await gw.addUser(u);
const boss = await gw.login('boss');

/** A form post as the browser sends it: urlencoded, the session cookie, our own Origin unless told otherwise. */
const form = (p: string, cookie: string, fields: Record<string, string> = {}, origin = gw.url) => fetch(`${gw.url}${p}`, {
  method: 'POST', redirect: 'manual', body: new URLSearchParams(fields),
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie, origin },
});
const tokenForm = (p: string, token: string, fields: Record<string, string> = {}) => fetch(`${gw.url}${p}`, {
  method: 'POST', redirect: 'manual', body: new URLSearchParams(fields),
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', authorization: `token ${token}` },
});
const page = (p: string, auth: { cookie?: string; token?: string }) => fetch(`${gw.url}${p}`, {
  redirect: 'manual', headers: { accept: 'text/html', ...(auth.cookie ? { cookie: auth.cookie } : {}), ...(auth.token ? { authorization: `token ${auth.token}` } : {}) },
});
const html = async (p: string, auth: { cookie?: string; token?: string } = { cookie: boss }) => {
  const r = await page(p, auth);
  return { status: r.status, text: await r.text() };
};
const user = async (name: string) => (await gw.api('GET', `/hub/api/users/${name}?include_stopped_servers=1`)).body;
const rowOf = (text: string, name: string) => new RegExp(`<tr id="user-${name}"[\\s\\S]*?</tr>`).exec(text)?.[0] ?? '';
const passwordOf = (text: string, name: string) => new RegExp(`<code id="password-${name}">([^<]+)</code>`).exec(text)?.[1];
const canLogin = async (name: string, password: string) => (await fetch(`${gw.url}/hub/login`, {
  method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url },
  body: new URLSearchParams({ username: name, password }),
})).status === 302;

t.test('only admins see the page, and the header links it only for them', async (t) => {
  const anon = await page('/hub/admin', {});
  t.equal(anon.status, 302, 'a visitor is sent to log in');
  t.equal(anon.headers.get('location'), '/hub/login?next=%2Fhub%2Fadmin');
  const alice = await gw.login('alice');
  const denied = await html('/hub/admin', { cookie: alice });
  t.equal(denied.status, 403, 'a user who is not an admin gets 403');
  t.match(denied.text, /admin-ui/, 'naming the scope it needs');
  t.equal((await html('/hub/admin', { token: await gw.tokenFor('alice') })).status, 403, 'so does their token');
  t.notMatch((await html('/hub/home', { cookie: alice })).text, /href="\/hub\/admin"/, 'no Admin link for alice');
  t.match((await html('/hub/home', { cookie: boss })).text, /href="\/hub\/admin"/, 'an Admin link for an admin');

  const r = await page('/hub/admin', { cookie: boss });
  t.equal(r.status, 200);
  t.equal(r.headers.get('content-security-policy'), "frame-ancestors 'none'", 'the page may not be framed (clickjacking)');
  t.equal(r.headers.get('x-frame-options'), 'DENY');
  t.equal((await page('/hub/login', {})).headers.get('x-frame-options'), 'DENY', 'nor may any hub page');
  const text = await r.text();
  const expired = await form('/hub/admin/users/alice/delete', 'kicloud-session=expired', { confirm: 'yes' });
  t.equal(expired.status, 303, 'a form posted without a session…');
  t.equal(expired.headers.get('location'), '/hub/login?next=%2Fhub%2Fadmin', '…leads back to the page after login, not to the POST-only action');
  t.equal((await user('alice')).name, 'alice');
  for (const u of ['boss', 'alice', 'bob']) t.ok(rowOf(text, u), `${u} has a row`);
  t.match(rowOf(text, 'boss'), /badge">admin/, 'admins are marked');
  t.notMatch(rowOf(text, 'boss'), /\/delete"|\/password"|\/admin"/, 'no delete, new password or demote on your own row');
  t.match(rowOf(text, 'alice'), /action="\/hub\/admin\/users\/alice\/delete"/, 'others have them');
  t.match(rowOf(text, 'alice'), /<span class="status">stopped<\/span>[\s\S]*\/alice\/start"/, "alice's default server is stopped, with Start");
  t.match(rowOf(text, 'alice'), /<select name="profile"/, 'several profiles: the start form lets the admin choose');
});

t.test('add users: one-time passwords; bad names create nothing; a reload creates nothing new', async (t) => {
  const bad = await form('/hub/admin/users', boss, { usernames: 'carol dave\nBad!Name' });
  t.equal(bad.status, 400, 'a bad name is refused');
  t.match(await bad.text(), /invalid user name &#34;bad!name&#34;/, 'and named');
  t.equal((await gw.api('GET', '/hub/api/users/carol')).status, 404, 'nothing was created');

  const cross = await form('/hub/admin/users', boss, { usernames: 'mallory' }, 'http://evil.example');
  t.equal(cross.status, 403, 'a post from another site is refused');
  t.equal((await gw.api('GET', '/hub/api/users/mallory')).status, 404);

  const made = await form('/hub/admin/users', boss, { usernames: 'Carol, dave\n alice  dave', name_filter: 'a', offset: '0' });
  t.equal(made.status, 201);
  t.equal(made.headers.get('cache-control'), 'no-store', 'a page holding passwords is not cached');
  const text = await made.text();
  const carol = passwordOf(text, 'carol'), dave = passwordOf(text, 'dave');
  t.ok(carol && dave, 'each new user has a password, names lower-cased and counted once');
  t.notOk(passwordOf(text, 'alice'), 'an existing user is left alone…');
  t.match(text, /id="existing">Already there, left unchanged: alice\./, '…and said to be');
  t.match(text, /href="\/hub\/admin\?name_filter=a"/, 'the way back keeps the list the admin was on');
  t.ok(await canLogin('carol', carol!), 'carol logs in with it');
  t.equal((await user('dave')).admin, false);

  const again = await form('/hub/admin/users', boss, { usernames: 'carol dave' });
  t.equal(again.status, 200, 'posting the same form again (a reload)…');
  const againText = await again.text();
  t.notOk(passwordOf(againText, 'carol'), '…shows no password and changes none');
  t.ok(await canLogin('carol', carol!));

  const admins = await form('/hub/admin/users', boss, { usernames: 'erin', admin: 'yes' });
  t.equal(admins.status, 201);
  t.equal((await user('erin')).admin, true, 'the box makes them admins');
  t.equal((await form('/hub/admin/users', boss, { usernames: '  ' })).status, 400, 'no names');
  t.equal((await form('/hub/admin/users', boss, { usernames: Array.from({ length: 201 }, (_, i) => `u${i}`).join(' ') })).status, 400, 'too many at once');
  t.equal((await gw.api('GET', '/hub/api/users/u0')).status, 404);
});

t.test('find and page through users', async (t) => {
  const names = Array.from({ length: 52 }, (_, i) => `load${String(i).padStart(2, '0')}`);
  t.equal((await form('/hub/admin/users', boss, { usernames: names.join(' ') })).status, 201);
  const first = await html('/hub/admin');
  t.equal((first.text.match(/<tr id="user-/g) ?? []).length, 50, 'fifty to a page');
  const total = (await gw.api('GET', '/hub/api/users')).body.length;
  t.match(first.text, new RegExp(`1–50 of ${total}<`), 'with the total');
  const next = /href="([^"]+)" rel="next"/.exec(first.text)?.[1];
  t.equal(next, '/hub/admin?offset=50');
  const second = await html(next!.replace(/&amp;/g, '&'));
  t.equal((second.text.match(/<tr id="user-/g) ?? []).length, total - 50, 'the rest on the next page');
  t.ok(rowOf(second.text, 'load51'), 'the last name last');
  t.match(second.text, /rel="prev"/);

  // Sorted by latest activity: load37 was active a minute ago, load05 an hour ago, the rest never.
  for (const [n, ago] of [['load37', 60_000], ['load05', 3_600_000]] as const) {
    const r = await gw.api('POST', `/hub/api/users/${n}/activity`, { body: { last_activity: new Date(Date.now() - ago).toISOString(), servers: {} } });
    t.equal(r.status, 200, `activity recorded for ${n}`);
  }
  const recent = await html('/hub/admin?sort=last_activity&name_filter=load');
  const order = [...recent.text.matchAll(/<tr id="user-([^"]+)"/g)].map((m) => m[1]);
  t.same(order.slice(0, 4), ['load37', 'load05', 'load00', 'load01'], 'latest activity first, then those without any, by name');
  t.match(recent.text, /<option value="last_activity" selected>/, 'the form shows the order chosen');
  t.match(recent.text, /href="\/hub\/admin\?name_filter=load&#38;sort=last_activity&#38;offset=50" rel="next"/, 'paging keeps it');
  const kept = await form('/hub/admin/users/load37/admin', boss, { admin: 'no', name_filter: 'load', sort: 'last_activity', offset: '0' });
  t.match(kept.headers.get('location'), /^\/hub\/admin\?name_filter=load&sort=last_activity&done=admin&user=load37$/, 'and so does the way back from an action');
  t.equal((await html('/hub/admin?sort=bogus')).status, 400, 'an unknown order is a 400');

  const found = await html('/hub/admin?name_filter=load0');
  t.equal((found.text.match(/<tr id="user-/g) ?? []).length, 10, 'the filter matches part of the name');
  t.match(found.text, /10 users matching “load0”/);
  t.equal((await html('/hub/admin?offset=-1')).status, 400, 'a bad offset is a 400');
  t.equal((await html('/hub/admin?offset=abc')).status, 400);
  t.equal((await html(`/hub/admin?name_filter=${'x'.repeat(25)}`)).status, 400, 'a filter longer than any name');
  const injected = await html('/hub/admin?name_filter=%3Cscript%3E');
  t.equal(injected.status, 200);
  t.notMatch(injected.text, /<script>/, 'the filter is escaped');
  for (const q of ['done=deleted&user=alice', 'done=deleted&user=%3Cb%3Ex', 'done=admin&user=nobody', 'done=whatever', 'done=constructor&user=x',
    'done=__proto__', 'done=toString', 'done=stop-all&n=9999']) {
    const r = await html(`/hub/admin?${q}`);
    t.equal(r.status, 200, q);
    t.notMatch(r.text, /Deleted alice|9999|object Object|nobody/, `a link cannot make the page claim what did not happen (${q})`);
  }
  t.match((await html('/hub/admin?done=deleted&user=ghost')).text, /id="admin-notice">Deleted ghost\.</, 'a true notice is shown');
  t.match((await html('/hub/admin?done=stop-all')).text, /All servers you may stop are stopped\./);
  t.match((await html('/hub/admin?done=admin&user=alice')).text, /alice is no longer an admin\./, 'worded from the state found');
  for (const n of names) t.equal((await gw.api('DELETE', `/hub/api/users/${n}`)).status, 204);
});

t.test('the admin flag', async (t) => {
  const granted = await form('/hub/admin/users/bob/admin', boss, { admin: 'yes', name_filter: 'b', offset: '0' });
  t.equal(granted.status, 303);
  t.equal(granted.headers.get('location'), '/hub/admin?name_filter=b&done=admin&user=bob', 'back to the same list, with a notice');
  t.equal((await user('bob')).admin, true);
  const bob = await gw.login('bob');
  t.equal((await html('/hub/admin', { cookie: bob })).status, 200, 'bob can open the page now');
  t.match((await html(granted.headers.get('location')!)).text, /bob is now an admin\./);

  t.equal((await form('/hub/admin/users/bob/admin', boss, { admin: 'no' })).status, 303);
  t.equal((await user('bob')).admin, false);
  t.equal((await html('/hub/admin', { cookie: bob })).status, 403, 'and not after the flag is removed, with the same session');

  const self = await form('/hub/admin/users/boss/admin', boss, { admin: 'no' });
  t.equal(self.status, 400, 'an admin cannot demote themselves here');
  t.match(await self.text(), /yourself/);
  t.equal((await user('boss')).admin, true);
  t.equal((await form('/hub/admin/users/bob/admin', boss, { admin: 'maybe' })).status, 400, 'a bad value');
  t.equal((await form('/hub/admin/users/nobody/admin', boss, { admin: 'yes' })).status, 404, 'an unknown user');
  t.equal((await form('/hub/admin/users/bob/admin', boss, { admin: 'yes' }, 'http://evil.example')).status, 403, 'cross-site');
  t.equal((await user('bob')).admin, false);
  const alice = await gw.login('alice');
  t.equal((await form('/hub/admin/users/alice/admin', alice, { admin: 'yes' })).status, 403, 'a user cannot make themselves admin');
  t.equal((await user('alice')).admin, false);
});

t.test('a new password: asked first, ends the sessions and tokens, shown once, not twice on a reload', async (t) => {
  const alice = await gw.login('alice');
  const aliceToken = await gw.tokenFor('alice');
  const ask = await form('/hub/admin/users/alice/password', boss);
  t.equal(ask.status, 200);
  const askText = await ask.text();
  t.match(askText, /logs them out of every browser/, 'the admin is asked first');
  t.match(askText, /name="revoke_tokens" value="yes" checked/, 'revoking the API tokens is the default');
  t.ok(await canLogin('alice', 'alice-password-1'), 'asking changed nothing');
  const requestId = /name="request_id" value="([0-9a-f]{32})"/.exec(askText)?.[1];
  t.ok(requestId);

  t.equal((await form('/hub/admin/users/alice/password', boss, { confirm: 'yes' })).status, 400, 'the confirmation needs its request id');
  const r = await form('/hub/admin/users/alice/password', boss, { confirm: 'yes', request_id: requestId!, revoke_tokens: 'yes' });
  t.equal(r.status, 200);
  t.equal(r.headers.get('cache-control'), 'no-store');
  const text = await r.text();
  const password = passwordOf(text, 'alice');
  t.ok(password);
  t.match(text, /logged out of every browser and \d+ API tokens? (was|were) revoked/);
  t.equal((await page('/hub/home', { cookie: alice })).status, 302, "alice's old session is over");
  t.equal((await gw.api('GET', '/hub/api/user', { token: aliceToken })).status, 403, 'and her API token');
  t.notOk(await canLogin('alice', 'alice-password-1'), 'the old password no longer works');
  t.ok(await canLogin('alice', password!), 'the new one does');

  const reload = await form('/hub/admin/users/alice/password', boss, { confirm: 'yes', request_id: requestId!, revoke_tokens: 'yes' });
  const reloadText = await reload.text();
  t.notOk(passwordOf(reloadText, 'alice'), 'a reload of the answer makes no second password');
  t.match(reloadText, /already answered/);
  t.ok(await canLogin('alice', password!), 'the one shown still works');

  const keep = await gw.tokenFor('alice');
  const ask2 = await (await form('/hub/admin/users/alice/password', boss)).text();
  const id2 = /name="request_id" value="([0-9a-f]{32})"/.exec(ask2)![1];
  const kept = await form('/hub/admin/users/alice/password', boss, { confirm: 'yes', request_id: id2 });
  t.notMatch(await kept.text(), /revoked/, 'unticked…');
  t.equal((await gw.api('GET', '/hub/api/user', { token: keep })).status, 200, '…the tokens stay');
  t.equal((await form('/hub/admin/users/boss/password', boss, { confirm: 'yes', request_id: id2 })).status, 400, 'not your own: that needs the current password');
  t.ok(await canLogin('boss', 'boss-password-1'));
  await gw.api('PATCH', '/hub/api/users/alice', { body: { password: 'alice-password-1' } });
});

t.test('start and stop servers, stop all', async (t) => {
  const started = await form('/hub/admin/users/alice/start', boss, { server: '', profile: 'other' });
  t.equal(started.status, 303);
  t.match(started.headers.get('location'), /done=start&user=alice/);
  const ready = await gw.waitReady('alice');
  t.equal(ready.profile, 'other', 'with the profile chosen');
  t.match((await html(started.headers.get('location')!)).text, /alice&#39;s server is running\./);
  const listed = await html('/hub/admin?name_filter=alice&state=active');
  t.equal((listed.text.match(/<tr id="user-/g) ?? []).length, 1, 'only users with a server running');
  t.match(rowOf(listed.text, 'alice'), /<span class="status">running<\/span>/);
  t.notMatch(rowOf(listed.text, 'alice'), /href="\/user\/alice\/"/, "no Open link to another user's server in a browser session");
  t.equal((await form('/hub/admin/users/alice/start', boss, { server: '' })).status, 400, 'starting a running server');
  t.equal((await form('/hub/admin/users/bob/start', boss, { server: '', profile: 'nope' })).status, 400, 'an unknown profile');
  t.equal((await form('/hub/admin/users/bob/start', boss, { server: 'ghost' })).status, 404, 'a named server that does not exist');
  t.equal((await form('/hub/admin/users/bob/start', boss, { server: '../x' })).status, 400, 'a bad server name');
  t.equal((await form('/hub/admin/users/bob/start', boss, { server: '' }, 'http://evil.example')).status, 403, 'cross-site');
  t.equal((await user('bob')).servers[''], undefined, 'bob was never started');

  const stopped = await form('/hub/admin/users/alice/stop', boss, { server: '' });
  t.equal(stopped.status, 303);
  t.match(stopped.headers.get('location'), /done=stop&user=alice/);
  t.equal((await user('alice')).servers[''].stopped, true);
  t.match((await html(stopped.headers.get('location')!)).text, /alice&#39;s server is stopped\./);
  t.equal((await html('/hub/admin?state=active')).text.includes('<tr id="user-'), false, 'no user has a server running');
  t.equal((await html('/hub/admin?state=bogus')).status, 400, 'a bad state');

  const failing = await form('/hub/admin/users/bob/start', boss, { server: '', profile: 'broken' });
  t.equal(failing.status, 303);
  let failedText = '';
  for (let i = 0; i < 50 && !/last start failed/.test(failedText); i++) failedText = rowOf((await html('/hub/admin?name_filter=bob')).text, 'bob');
  t.match(failedText, /<span class="status">stopped<\/span>[\s\S]*last start failed:/, "a failed start shows why, in the user's row");

  t.equal((await gw.api('POST', '/hub/api/users/alice/servers/lab', { body: {} })).status, 201);
  t.equal((await gw.api('POST', '/hub/api/users/bob/server', { body: {} })).status, 201);
  const named = await html('/hub/admin?name_filter=alice');
  t.match(rowOf(named.text, 'alice'), /<li data-server="lab">lab · <span class="status">running/, 'named servers are listed');
  const ask = await form('/hub/admin/stop-all', boss);
  t.equal(ask.status, 200, 'stop all asks first');
  t.match(await ask.text(), /This stops 2 servers/);
  t.equal((await user('bob')).servers[''].ready, true, 'asking stopped nothing');
  const all = await form('/hub/admin/stop-all', boss, { confirm: 'yes' });
  t.equal(all.status, 303);
  t.match(all.headers.get('location'), /done=stop-all/);
  t.match((await html(all.headers.get('location')!)).text, /All servers you may stop are stopped\./);
  t.equal((await user('bob')).servers[''].stopped, true);
  t.equal((await user('alice')).servers.lab.stopped, true);
});

t.test('tokens: each action needs its own scope; group filters limit what is listed and stopped', async (t) => {
  await gw.api('POST', '/hub/api/groups/class1', { body: { users: ['alice'] } });
  const ta = await gw.tokenFor('boss', ['admin-ui', 'list:users!group=class1', 'read:servers!group=class1', 'servers!group=class1']);
  const listed = await html('/hub/admin', { token: ta });
  t.equal(listed.status, 200);
  t.ok(rowOf(listed.text, 'alice'), 'a member of the group is listed');
  t.notOk(rowOf(listed.text, 'bob'), 'others are not');
  t.notMatch(rowOf(listed.text, 'alice'), /class1/, 'without read:users:groups, no groups shown');
  t.notMatch(listed.text, /id="add-users"|\/users\/[a-z0-9]+\/(delete|password|admin)"/, 'no buttons for what the token may not do');
  t.notMatch(rowOf(listed.text, 'alice'), /badge/, 'nor the admin flag without read:users');
  t.equal((await tokenForm('/hub/admin/users/bob/start', ta, { server: '' })).status, 403, 'nor started');
  t.equal((await tokenForm('/hub/admin/users/alice/start', ta, { server: '' })).status, 303, 'a member is');
  await gw.waitReady('alice');
  t.equal((await gw.api('POST', '/hub/api/users/bob/server', { body: {} })).status, 201);
  const ask = await tokenForm('/hub/admin/stop-all', ta);
  t.match(await ask.text(), /This stops 1 server;/, 'stop all counts only what the token may stop');
  t.equal((await tokenForm('/hub/admin/stop-all', ta, { confirm: 'yes' })).status, 303);
  t.equal((await user('alice')).servers[''].stopped, true);
  t.equal((await user('bob')).servers[''].ready, true, "bob's server is untouched");
  t.equal((await tokenForm('/hub/admin/users/bob/stop', ta, { server: '' })).status, 403, "a non-member's server cannot be stopped");
  t.equal((await user('bob')).servers[''].ready, true);
  t.equal((await gw.api('DELETE', '/hub/api/users/bob/server')).status, 204);

  const groupAdmin = await gw.tokenFor('boss', ['admin-ui', 'list:users!group=class1', 'delete:users!group=class1', 'admin:users!group=class1']);
  t.equal((await tokenForm('/hub/admin/users/bob/delete', groupAdmin, { confirm: 'yes' })).status, 403, 'delete:users!group= does not reach a non-member');
  t.equal((await tokenForm('/hub/admin/users/alice/admin', groupAdmin, { admin: 'yes' })).status, 403, 'the admin flag needs admin:users unfiltered');
  t.equal((await tokenForm('/hub/admin/users', groupAdmin, { usernames: 'zed' })).status, 403, 'so does adding users');
  t.equal((await user('alice')).admin, false);
  const oneServer = await gw.tokenFor('boss', ['admin-ui', 'list:users', 'read:servers', 'servers!server=alice/']);
  t.equal((await tokenForm('/hub/admin/users/alice/stop', oneServer, { server: 'lab' })).status, 403, 'servers!server=alice/ does not reach alice/lab');
  t.equal((await tokenForm('/hub/admin/users/alice/start', oneServer, { server: '' })).status, 303, 'but reaches her default server');
  await gw.waitReady('alice');
  t.equal((await tokenForm('/hub/admin/users/alice/stop', oneServer, { server: '' })).status, 303);

  const viewOnly = await gw.tokenFor('boss', ['admin-ui', 'list:users', 'read:users']);
  t.equal((await tokenForm('/hub/admin/users/bob/delete', viewOnly, { confirm: 'yes' })).status, 403, 'delete needs delete:users');
  t.equal((await tokenForm('/hub/admin/users', viewOnly, { usernames: 'zed' })).status, 403, 'adding needs admin:users');
  t.equal((await tokenForm('/hub/admin/users/bob/password', viewOnly)).status, 403, 'so does a new password');
  t.equal((await user('bob')).name, 'bob');
  t.equal((await gw.api('GET', '/hub/api/users/zed')).status, 404);
  const noUi = await gw.tokenFor('boss', ['admin:users']);
  t.equal((await html('/hub/admin', { token: noUi })).status, 403, 'the page itself needs admin-ui');
});

t.test('delete asks first, then removes the user', async (t) => {
  const ask = await form('/hub/admin/users/dave/delete', boss);
  t.equal(ask.status, 200);
  t.match(await ask.text(), /cannot be restored from here/);
  t.equal((await user('dave')).name, 'dave', 'asking deleted nothing');
  t.equal((await form('/hub/admin/users/dave/delete', boss, { confirm: 'yes' }, 'http://evil.example')).status, 403, 'cross-site');
  const gone = await form('/hub/admin/users/dave/delete', boss, { confirm: 'yes' });
  t.equal(gone.status, 303);
  t.match(gone.headers.get('location'), /done=deleted&user=dave/);
  t.equal((await gw.api('GET', '/hub/api/users/dave')).status, 404);
  t.equal((await form('/hub/admin/users/boss/delete', boss, { confirm: 'yes' })).status, 400, 'not yourself');
  t.equal((await form('/hub/admin/users/BOB/delete', boss, { confirm: 'yes' })).status, 404, 'a name that is not a user');
  const twice = await fetch(`${gw.url}/hub/admin/users/bob/delete`, {
    method: 'POST', redirect: 'manual', body: 'confirm=yes&confirm=yes',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: boss, origin: gw.url },
  });
  t.equal(twice.status, 400, 'a field given twice');
  t.equal((await user('bob')).name, 'bob');
});

t.test('groups page: create, add and remove members, delete; scopes and bad input', async (t) => {
  const alice = await gw.login('alice');
  t.equal((await html('/hub/admin/groups', { cookie: alice })).status, 403, 'not for users who are not admins');
  t.match((await html('/hub/admin')).text, /href="\/hub\/admin\/groups"/, 'the users page links it');
  const listed = await html('/hub/admin/groups');
  t.equal(listed.status, 200);
  t.match(listed.text, /<div class="card" id="group-class1"[\s\S]*?<li>alice/, 'groups with their members');

  const made = await form('/hub/admin/groups', boss, { name: 'physics lab', users: 'bob Carol' });
  t.equal(made.status, 303);
  t.equal(made.headers.get('location'), '/hub/admin/groups?done=changed&group=physics+lab#group-physics%20lab');
  t.same((await gw.api('GET', '/hub/api/groups/physics%20lab')).body.users, ['bob', 'carol'], 'created with its members');
  t.match((await html('/hub/admin/groups?done=changed&group=physics+lab')).text, /physics lab has 2 members\./);
  t.equal((await form('/hub/admin/groups', boss, { name: 'physics lab' })).status, 409, 'a name taken');
  t.equal((await form('/hub/admin/groups', boss, { name: 'a/b' })).status, 400, 'a bad name');
  const ghost = await form('/hub/admin/groups', boss, { name: 'ghosts', users: 'bob ghost' });
  t.equal(ghost.status, 400, 'an unknown member');
  t.match(await ghost.text(), /No such user: ghost/);
  t.equal((await gw.api('GET', '/hub/api/groups/ghosts')).status, 404, 'and the group was not created');
  t.equal((await form('/hub/admin/groups', boss, { name: 'csrf' }, 'http://evil.example')).status, 403, 'cross-site');

  const group = '/hub/admin/groups/physics%20lab';
  t.equal((await form(`${group}/add`, boss, { users: 'erin' })).status, 303);
  t.equal((await form(`${group}/add`, boss, { users: 'nobody' })).status, 400, 'adding an unknown user');
  t.equal((await form(`${group}/add`, boss, { users: ' ' })).status, 400, 'adding nobody');
  t.equal((await form(`${group}/remove`, boss, { user: 'bob' })).status, 303);
  t.same((await gw.api('GET', '/hub/api/groups/physics%20lab')).body.users, ['carol', 'erin'], 'erin added, bob removed');
  t.equal((await form('/hub/admin/groups/nope/add', boss, { users: 'erin' })).status, 404, 'a group that does not exist');
  t.equal((await form(`${group}/add`, boss, { users: 'bob' }, 'http://evil.example')).status, 403, 'cross-site');

  const ta = await gw.tokenFor('boss', ['admin-ui', 'list:groups', 'read:groups', 'groups!group=class1']);
  const scoped = await html('/hub/admin/groups', { token: ta });
  t.match(scoped.text, /id="group-class1"[\s\S]*?\/hub\/admin\/groups\/class1\/remove/, 'a token for class1 may edit class1');
  t.notMatch(scoped.text, /physics%20lab\/(add|remove|delete)|id="create-group"/, 'but no other group, nor create one');
  t.equal((await tokenForm(`${group}/add`, ta, { users: 'bob' })).status, 403);
  t.equal((await tokenForm(`${group}/delete`, ta, { confirm: 'yes' })).status, 403);
  t.equal((await tokenForm('/hub/admin/groups', ta, { name: 'mine' })).status, 403);

  const ask = await form(`${group}/delete`, boss);
  t.equal(ask.status, 200, 'delete asks first');
  t.match(await ask.text(), /Its 2 members stay/);
  t.equal((await gw.api('GET', '/hub/api/groups/physics%20lab')).status, 200);
  const gone = await form(`${group}/delete`, boss, { confirm: 'yes' });
  t.equal(gone.status, 303);
  t.equal((await gw.api('GET', '/hub/api/groups/physics%20lab')).status, 404);
  t.match((await html(gone.headers.get('location')!)).text, /Deleted group physics lab\./);
  t.notMatch((await html('/hub/admin/groups?done=deleted&group=class1')).text, /Deleted group/, 'a link cannot claim a deletion');
});
