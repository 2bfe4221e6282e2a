/** JupyterHub 3 REST API shapes that scripts and the stock idle-culler rely on: version, whoami, users with
 *  paging and state filters, user create/patch/delete, tokens, activity, named servers (READINGS #8), and
 *  start/stop status codes (READINGS #4). A fast stand-in server keeps this file quick. */
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ECHO_COMMAND, echoProfile, Gateway } from '../helpers/gateway.ts';

// The "slow" profile waits for this file, so a start is pending exactly as long as a test needs (a fixed
// slow_spawn_timeout shorter than a real start failed on a cold machine, where the first start took longer).
const gateDir = mkdtempSync(path.join(os.tmpdir(), 'kt-gate-'));
chmodSync(gateDir, 0o755);   // the server runs as the user's account
const slowGate = path.join(gateDir, 'open');
const gw = await Gateway.start({
  config: {
    named_servers: { enabled: true, limit: 2 },
    spawn: { slow_spawn_timeout: 2 },
    profiles: [echoProfile('echo'), echoProfile('slow', {
      command: ['/bin/sh', '-c', `while [ ! -e ${slowGate} ]; do sleep 0.05; done; exec "$0" "$@"`, ...ECHO_COMMAND],
    })],
  },
});
t.teardown(async () => { await gw.cleanup(); rmSync(gateDir, { recursive: true, force: true }); });
for (const u of ['alice', 'bob', 'carol']) await gw.addUser(u);

t.test('version and whoami', async (t) => {
  const v = await gw.api('GET', '/hub/api/', { token: null });
  t.match(v.body, { version: /^3\./, kicloud_version: /\d/ });
  t.equal(v.headers.get('x-jupyterhub-version'), v.body.version, 'the version header JupyterHub sends on every response');
  const bare = await gw.api('GET', '/hub/api', { token: null });
  t.same([bare.status, bare.body], [200, v.body], '/hub/api without the slash, as JUPYTERHUB_API_URL is fetched');
  const token = await gw.tokenFor('alice', ['read:users!user=alice', 'servers!user=alice']);
  const me = await gw.api('GET', '/hub/api/user', { token });
  t.match(me.body, { kind: 'user', name: 'alice', admin: false });
  t.ok(me.body.scopes.includes('servers!user=alice') && !me.body.scopes.includes('access:servers!user=alice'), 'a token\'s own scopes');
  const svc = await gw.api('GET', '/hub/api/user');
  t.match(svc.body, { kind: 'service', admin: true });
});

t.test('users: list, paging, state filter', async (t) => {
  const all = await gw.api('GET', '/hub/api/users');
  t.same(all.body.map((u: { name: string }) => u.name), ['admin', 'alice', 'bob', 'carol']);
  const page = await gw.api('GET', '/hub/api/users?offset=1&limit=2', { headers: { accept: 'application/jupyterhub-pagination+json' } });
  t.same(page.body.items.map((u: { name: string }) => u.name), ['alice', 'bob']);
  t.match(page.body._pagination, { offset: 1, limit: 2, total: 4, next: { offset: 3, limit: 2, url: `${gw.url}/hub/api/users?offset=3&limit=2` } });
  const info = await gw.api('GET', '/hub/api/info');
  t.match(info.body, { version: /^3\./, spawner: { class: /local/ } });
  await gw.api('POST', '/hub/api/users/bob/server', { body: { profile: 'echo' } });
  await gw.waitReady('bob');
  const ready = await gw.api('GET', '/hub/api/users?state=ready');
  t.same(ready.body.map((u: { name: string }) => u.name), ['bob']);
  const paged = await gw.api('GET', '/hub/api/users?state=ready&limit=1&offset=0&include_stopped_servers', { headers: { accept: 'application/jupyterhub-pagination+json' } });
  t.equal(paged.body._pagination.next, null, 'one ready user: no next page');
  const firstPage = await gw.api('GET', '/hub/api/users?limit=1&include_stopped_servers', { headers: { accept: 'application/jupyterhub-pagination+json' } });
  t.match(firstPage.body._pagination.next.url, /include_stopped_servers/, 'the next URL keeps the query');
  await gw.api('DELETE', '/hub/api/users/bob/server');
  const stopped = await gw.api('GET', '/hub/api/users/bob?include_stopped_servers');
  t.match(stopped.body.servers[''], { ready: false, stopped: true }, 'include_stopped_servers lists a stopped server');
  t.same((await gw.api('GET', '/hub/api/users/bob')).body.servers, {}, 'without it, only active ones');
  t.same((await gw.api('GET', '/hub/api/users/bob?include_stopped_servers=false')).body.servers, {}, '"false" means no');
  await gw.api('POST', '/hub/api/users/bob/server', { body: { profile: 'echo' } });
  await gw.waitReady('bob');
  const inactive = await gw.api('GET', '/hub/api/users?state=inactive');
  t.notOk(inactive.body.some((u: { name: string }) => u.name === 'bob'));
  const alice = await gw.tokenFor('alice');
  const mine = await gw.api('GET', '/hub/api/users', { token: alice });
  t.equal(mine.status, 403, 'a user without list:users');
});

t.test('create, patch, delete users', async (t) => {
  const created = await gw.api('POST', '/hub/api/users', { body: { usernames: ['dave', 'erin'], admin: false } });
  t.equal(created.status, 201);
  t.same(created.body.map((u: { name: string }) => u.name), ['dave', 'erin']);
  t.equal((await gw.api('POST', '/hub/api/users', { body: { usernames: ['dave'] } })).status, 409, 'all exist → 409');
  t.equal((await gw.api('POST', '/hub/api/users/dave', { body: {} })).status, 409);
  const patched = await gw.api('PATCH', '/hub/api/users/dave', { body: { admin: true, password: 'dave-password-2' } });
  t.match(patched.body, { name: 'dave', admin: true });
  t.equal((await gw.api('PATCH', '/hub/api/users/dave', { body: { password: 'short' } })).status, 400);
  await gw.login('dave', 'dave-password-2');
  // JupyterHub's delete:users (part of admin:users): a token may hold it alone, or only for some users.
  const deleteDave = await gw.tokenFor('admin', ['delete:users!user=dave']);
  t.equal((await gw.api('DELETE', '/hub/api/users/erin', { token: deleteDave })).status, 403, 'delete:users for dave does not reach erin');
  const usersOnly = await gw.tokenFor('admin', ['users']);
  t.equal((await gw.api('DELETE', '/hub/api/users/erin', { token: usersOnly })).status, 403, '"users" is not delete:users');
  t.equal((await gw.api('DELETE', '/hub/api/users/erin', { token: await gw.tokenFor('admin', ['delete:users']) })).status, 204);
  t.equal((await gw.api('GET', '/hub/api/users/erin')).status, 404);
  t.equal((await gw.api('DELETE', '/hub/api/users/dave', { token: deleteDave })).status, 204);
});

t.test('start and stop status codes', async (t) => {
  const empty = await gw.api('POST', '/hub/api/users/carol/server', { raw: '', headers: { 'content-type': 'application/json' } });
  t.ok([201, 202].includes(empty.status), `an empty JSON body starts with the defaults: ${empty.status}`);
  await gw.waitReady('carol');
  t.equal((await gw.api('DELETE', '/hub/api/users/carol/server')).status, 204);
  const slow = await gw.api('POST', '/hub/api/users/carol/server', { body: { profile: 'slow' } });
  t.equal(slow.status, 202, 'not ready within slow_spawn_timeout → 202');
  t.equal((await gw.api('POST', '/hub/api/users/carol/server')).status, 202, 'POST while pending → 202');
  const model = await gw.api('GET', '/hub/api/users/carol');
  t.match(model.body.servers[''], { ready: false, pending: 'spawn' });
  writeFileSync(slowGate, '');
  await gw.waitReady('carol');
  t.equal((await gw.api('POST', '/hub/api/users/carol/server')).status, 400, 'running → 400');
  t.equal((await gw.api('DELETE', '/hub/api/users/carol/server')).status, 204);
  const bad = await gw.api('POST', '/hub/api/users/carol/server', { body: { profile: 'nope' } });
  t.equal(bad.status, 400);
  t.match(bad.body.message, /no profile named "nope"/);
  t.equal((await gw.api('POST', '/hub/api/users/ghost/server')).status, 404);
});

t.test('/hub/spawn and lazy spawn with several profiles: the profile form, then a start', async (t) => {
  const cookie = await gw.login('carol');
  const page = await gw.raw('GET', '/user/carol/tree', { cookie, accept: 'text/html', 'sec-fetch-dest': 'document' });
  t.equal(page.status, 200);
  t.match(page.body, /name="profile" value="echo"/, 'a page load offers the profiles in place');
  t.match(page.body, /action="\/hub\/spawn\/carol\?next=%2Fuser%2Fcarol%2Ftree"/);
  const form = await gw.raw('GET', '/hub/spawn', { cookie });
  t.match(form.body, /value="slow"/, '/hub/spawn shows the same form');
  const evil = await gw.raw('POST', '/hub/spawn/carol', { cookie, origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, 'profile=echo');
  t.equal(evil.status, 403, 'cross-site form post refused');
  t.equal((await gw.raw('GET', '/hub/spawn/alice', { cookie })).status, 403, 'not for another user');
  const post = await gw.raw('POST', '/hub/spawn/carol?next=%2Fuser%2Fcarol%2Ftree', { cookie, origin: gw.url, 'content-type': 'application/x-www-form-urlencoded' }, 'profile=echo');
  t.equal(post.status, 302);
  t.equal(post.headers.location, '/user/carol/tree', 'back to the page first asked for');
  await gw.waitReady('carol');
  t.equal((await gw.api('GET', '/hub/api/users/carol')).body.servers[''].profile, 'echo');
  await gw.api('DELETE', '/hub/api/users/carol/server');
});

t.test('named servers: created through the API, routed by JupyterHub\'s rule, limited, removable', async (t) => {
  const token = await gw.tokenFor('alice');
  t.equal((await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'echo' }, token })).status, 201);
  const start = await gw.api('POST', '/hub/api/users/alice/servers/lab', { body: { profile: 'echo' }, token });
  t.equal(start.status, 201);
  const viaNamed = await gw.raw('GET', '/user/alice/lab/x', { authorization: `token ${token}` });
  t.equal(JSON.parse(viaNamed.body).url, '/user/alice/lab/x', 'alice has a server "lab": /user/alice/lab/x goes to it');
  const viaDefault = await gw.raw('GET', '/user/alice/tree/x', { authorization: `token ${token}` });
  t.equal(JSON.parse(viaDefault.body).url, '/user/alice/tree/x', 'no server "tree": the default server');
  const m = await gw.api('GET', '/hub/api/users/alice');
  t.same(Object.keys(m.body.servers).sort(), ['', 'lab']);
  t.equal(m.body.servers.lab.progress_url, '/hub/api/users/alice/servers/lab/progress');
  t.equal((await gw.api('POST', '/hub/api/users/alice/servers/two', { body: { profile: 'echo' }, token })).status, 201);
  const third = await gw.api('POST', '/hub/api/users/alice/servers/three', { body: {}, token });
  t.equal(third.status, 400, 'limit 2');
  t.match(third.body.message, /limit is 2/);
  t.equal((await gw.api('POST', '/hub/api/users/alice/servers/Bad', { token })).status, 400);
  const noType = await fetch(`${gw.url}/hub/api/users/alice/servers/two`, { method: 'DELETE', body: '{"remove": true}', headers: { authorization: `token ${token}`, 'content-type': '' } });
  t.equal(noType.status, 204, 'a JSON body without Content-Type is read as JSON (as JupyterHub does)');
  t.equal((await gw.api('DELETE', '/hub/api/users/alice/servers/two', { token })).status, 404, 'removed');
  const gone = await gw.raw('GET', '/user/alice/two/x', { authorization: `token ${token}` });
  t.equal(JSON.parse(gone.body).url, '/user/alice/two/x', 'after removal the path belongs to the default server again');
});

t.test('more starts at once than concurrent_spawn_limit wait in line, told their place; a wait can be cancelled', async (t) => {
  // Ready one second after launch, so that starts overlap.
  const late = echoProfile('late', { command: ['/bin/sh', '-c', 'sleep 1; exec "$0" "$@"', ...ECHO_COMMAND] });
  const limited = await Gateway.start({ config: { spawn: { concurrent_spawn_limit: 1, slow_spawn_timeout: 0.1 }, profiles: [late] } });
  t.teardown(() => limited.cleanup());
  for (const u of ['u1', 'u2', 'u3', 'u4']) await limited.addUser(u);
  const events = async (u: string) => {
    const r = await fetch(`${limited.url}/hub/api/users/${u}/server/progress`, { headers: { authorization: `token ${limited.adminToken}` } });
    return (await r.text()).split('\n\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  };
  for (const u of ['u1', 'u2', 'u3']) t.equal((await limited.api('POST', `/hub/api/users/${u}/server`)).status, 202, `${u}: 202, pending`);
  const u3Events = events('u3');                     // followed from now on, as its pending page would
  t.match((await limited.api('GET', '/metrics')).text, /^kicloud_spawns_waiting 2$/m, 'two wait');
  t.equal((await limited.api('POST', '/hub/api/users/u4/server')).status, 202);
  t.equal((await limited.api('DELETE', '/hub/api/users/u4/server?pending_only=1')).status, 204, 'a waiting spawn is cancelled');
  const u4 = await events('u4');
  t.match(u4.at(-1), { failed: true, message: 'Spawn cancelled' });
  t.notOk(u4.some((e) => /Server launched/.test(e.message)), 'and never launched anything');

  const u3 = await u3Events;
  t.match(u3.at(-1), { progress: 100, ready: true }, 'the third becomes ready in its turn');
  const messages = u3.map((e) => e.message);
  const waits = messages.filter((m) => m.startsWith('Waiting to start'));
  t.same(waits, ['Waiting to start: 1 spawn ahead of yours (at most 1 start at once)', 'Waiting to start: yours is next (at most 1 start at once)'],
    'its place, as the line moved');
  t.ok(messages.indexOf('Your turn: starting') < messages.findIndex((m) => /Server launched/.test(m)), 'launched only after its turn');
  const started = await Promise.all(['u1', 'u2', 'u3'].map(async (u) => Date.parse((await limited.api('GET', `/hub/api/users/${u}`)).body.servers[''].started)));
  t.ok(started[0] <= started[1] && started[1] <= started[2], 'first come, first served');
  t.match((await limited.api('GET', '/metrics')).text, /^kicloud_spawns_waiting 0$/m);
});

t.test('pending_only: a DELETE that cancels a spawn and never stops a running server', async (t) => {
  await gw.addUser('gus');
  t.equal((await gw.api('POST', '/hub/api/users/gus/server')).status, 201);
  for (const q of ['pending_only=yes', 'pending_only=1&pending_only=1', 'pending_only=0']) {
    t.equal((await gw.api('DELETE', `/hub/api/users/gus/server?${q}`)).status, 400, `${q}: a 400, not a plain stop`);
  }
  t.equal((await gw.api('GET', '/hub/api/users/gus')).body.servers['']?.ready, true, 'the server is untouched');
  const refused = await gw.api('DELETE', '/hub/api/users/gus/server?pending_only=1');
  t.equal(refused.status, 409);
  t.match(refused.body.message, /gus's server is not starting \(anymore\): nothing to cancel/);
  t.equal((await gw.api('GET', '/hub/api/users/gus')).body.servers['']?.ready, true, 'still running');
  const deleted = await gw.api('DELETE', '/hub/api/users/gus');
  t.equal(deleted.status, 204, `deleted: ${deleted.text}`);
  // Failed in 2 of 4 full CI runs, never alone: what the gateway logged about it, should it fail again.
  if (deleted.status !== 204) t.comment(gw.output.split('\n').filter((l) => l.includes('gus') || l.includes('"level":50')).join('\n'));
});

t.test('a user deleted and created again inherits no activity', async (t) => {
  await gw.addUser('fay');
  t.equal((await gw.api('POST', '/hub/api/users/fay/server')).status, 201);
  t.equal((await gw.api('GET', '/user/fay/x', { token: await gw.tokenFor('fay') })).status, 200, 'fay is active (in memory, not yet written)');
  t.equal((await gw.api('DELETE', '/hub/api/users/fay')).status, 204);
  await gw.addUser('fay');
  await sleep(6000);                                      // past the 5 s activity flush
  t.equal((await gw.api('GET', '/hub/api/users/fay')).body.last_activity, null, 'the new fay has never been active');
  t.equal((await gw.api('DELETE', '/hub/api/users/fay')).status, 204);
});

t.test('activity endpoint and last_activity', async (t) => {
  const token = await gw.tokenFor('bob', ['users:activity!user=bob']);
  const at = new Date(Date.now() - 1000).toISOString();
  const r = await gw.api('POST', '/hub/api/users/bob/activity', { body: { last_activity: at, servers: { '': { last_activity: at } } }, token });
  t.equal(r.status, 200);
  const bad = await gw.api('POST', '/hub/api/users/bob/activity', { body: { servers: { '': { last_activity: 'yesterday' } } }, token });
  t.equal(bad.status, 400);
  t.equal((await gw.api('POST', '/hub/api/users/alice/activity', { body: {}, token })).status, 403);
  await sleep(10);
  const u = await gw.api('GET', '/hub/api/users/bob');
  t.ok(Date.parse(u.body.servers[''].last_activity) >= Date.parse(at));

  // As JupyterHub 3 answers them; a refused report records nothing.
  const bobBefore = (await gw.api('GET', '/hub/api/users/bob')).body;
  const before = bobBefore.last_activity;
  const soon = new Date(Date.now() + 30 * 60_000).toISOString();
  for (const [body, why] of [
    [{}, /at least one of last_activity or servers/], [[], /JSON object/], [{ servers: [{}] }, /servers must be an object/],
    [{ servers: { '': 'now' } }, /servers must be an object/],
    [{ last_activity: soon, servers: { ghost: { last_activity: at } } }, /no such server "ghost" for user bob/],
    [{ last_activity: new Date(Date.now() + 2 * 3_600_000).toISOString() }, /more than an hour in the future/],
    [{ last_activity: 12345 }, /last_activity must be an ISO 8601 timestamp/],
    [{ last_activity: '1' }, /last_activity must be an ISO 8601 timestamp/], [{ last_activity: '2026-11-30' }, /ISO 8601 timestamp/],
    [{ servers: { '': {} } }, /servers\.\.last_activity must be an ISO 8601 timestamp/],
  ] as const) {
    const r = await gw.api('POST', '/hub/api/users/bob/activity', { body, token });
    t.equal(r.status, 400, JSON.stringify(body));
    t.match(r.body.message, why);
  }
  const bobAfter = (await gw.api('GET', '/hub/api/users/bob')).body;
  t.equal(bobAfter.last_activity, before, 'nothing recorded from refused reports');
  t.equal(bobAfter.servers[''].last_activity, bobBefore.servers[''].last_activity, 'not on the server either');
  for (const written of [new Date(Date.now() - 60_000).toISOString().replace('Z', '123+00:00'), new Date(Date.now() - 60_000).toISOString().replace('T', ' ').replace('Z', '123')]) {
    t.equal((await gw.api('POST', '/hub/api/users/bob/activity', { body: { servers: { '': { last_activity: written } } }, token })).status, 200, `as Python writes it: ${written}`);
  }
  const noZone = new Date(Date.now() - 120_000).toISOString().slice(0, 19);
  t.equal((await gw.api('POST', '/hub/api/users/bob/activity', { body: { last_activity: noZone, servers: null }, token })).status, 200,
    'a time without a zone (UTC, as JupyterHub reads it), servers: null as absent');
  const own = new Date(Date.now() - 500).toISOString();
  t.equal((await gw.api('POST', '/hub/api/users/bob/activity', { body: { last_activity: own }, token })).status, 200, 'the user\'s own activity, no server');
  t.ok(Date.parse((await gw.api('GET', '/hub/api/users/bob')).body.last_activity) >= Date.parse(own), 'is recorded');
  t.equal((await gw.api('POST', '/hub/api/users/bob/activity', { body: { last_activity: soon }, token })).status, 200, 'half an hour ahead is accepted');
  t.ok(Date.parse((await gw.api('GET', '/hub/api/users/bob')).body.last_activity) <= Date.now(), 'and counts as now');
});

t.test('behind https (public_url): Secure cookies, Origin compared with the public origin', async (t) => {
  const tls = await Gateway.start({ config: { public_url: 'https://hub.example.org' }, env: {} });
  t.teardown(() => tls.cleanup());
  await tls.addUser('dora');
  const login = (origin: string) => fetch(`${tls.url}/hub/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: 'username=dora&password=dora-password-1',
  });
  const ok = await login('https://hub.example.org');
  t.equal(ok.status, 302);
  t.match(ok.headers.get('set-cookie'), /kicloud-session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax; Secure/);
  t.equal((await login(tls.url)).status, 403, 'the listen address is not the public origin');
  const next = await tls.api('GET', '/hub/api/users?limit=1', { headers: { accept: 'application/jupyterhub-pagination+json' } });
  t.match(next.body._pagination.next.url, /^https:\/\/hub\.example\.org\/hub\/api\/users\?offset=1&limit=1$/, 'paging URLs on the public origin');
});
