/** Open WebSockets follow the credentials that opened them: a logout, a revoked or expired token, a password set
 *  by an admin, a demotion, a user deleted or a server's owner leaving the group a `!group=` token reaches it
 *  through closes what those may no longer open, within a second, and nothing else (proxy/open-upgrades.ts). A fast
 *  stand-in server (it echoes WebSocket frames) keeps this file quick; the relay is the same for Jupyter's. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { echoProfile, Gateway, ROOT } from '../helpers/gateway.ts';

const gw = await Gateway.start({ config: { profiles: [echoProfile()] } });
t.teardown(() => gw.cleanup());
for (const u of ['alice', 'bob']) {
  await gw.addUser(u);
  await gw.api('POST', `/hub/api/users/${u}/server`);
  await gw.waitReady(u);
}
await gw.addUser('dana', 'dana-password-1', true);
await gw.addUser('erin', 'erin-password-1', true);

const opened: WebSocket[] = [];
t.teardown(() => opened.forEach((ws) => ws.terminate()));

function open(user: string, headers: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/${user}/ws`, { headers });
  opened.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}
const asToken = (token: string) => ({ authorization: `token ${token}` });

/** Resolves true once the socket is closed, false if it is still open after `ms`. */
function closesWithin(ws: WebSocket, ms = 1500): Promise<boolean> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(true);
  return Promise.race([new Promise<boolean>((r) => ws.once('close', () => r(true))), sleep(ms).then(() => false)]);
}

/** The socket still relays: a message comes back from the echo server. */
async function echoes(ws: WebSocket): Promise<boolean> {
  if (ws.readyState !== WebSocket.OPEN) return false;
  const back = new Promise<boolean>((r) => ws.once('message', (d) => r(String(d) === 'still here')));
  ws.send('still here');
  return Promise.race([back, sleep(2000).then(() => false)]);
}

async function newToken(user: string, note: string, scopes?: string[]): Promise<{ id: string; token: string }> {
  const r = await gw.api('POST', `/hub/api/users/${user}/tokens`, { body: { note, ...(scopes ? { scopes } : {}) } });
  if (r.status !== 201) throw new Error(`token for ${user}: ${r.status} ${r.text}`);
  return { id: r.body.id, token: r.body.token };
}

t.test("logout closes the WebSockets of that session, not another session's", async (t) => {
  const [c1, c2] = [await gw.login('alice'), await gw.login('alice')];
  const [ws1, ws2] = [await open('alice', { cookie: c1 }), await open('alice', { cookie: c2 })];
  t.equal((await gw.raw('GET', '/hub/logout', { cookie: c1 })).status, 302);
  t.ok(await closesWithin(ws1), "the logged-out session's WebSocket is closed");
  t.ok(await echoes(ws2), "the other session's still relays");
  await t.rejects(open('alice', { cookie: c1 }), /401/, 'and the old cookie opens no new one');
});

t.test("a revoked token's WebSockets close; the user's other tokens keep theirs", async (t) => {
  const [a, b] = [await newToken('alice', 'a'), await newToken('alice', 'b')];
  const [wsA, wsB] = [await open('alice', asToken(a.token)), await open('alice', asToken(b.token))];
  t.equal((await gw.api('DELETE', `/hub/api/users/alice/tokens/${a.id}`)).status, 204);
  t.ok(await closesWithin(wsA), 'the revoked token\'s WebSocket is closed');
  t.ok(await echoes(wsB), 'the other token\'s still relays');
});

t.test('a !group= token loses the servers of a user who leaves the group, and only those', async (t) => {
  t.equal((await gw.api('POST', '/hub/api/groups/physics', { body: { users: ['alice', 'bob'] } })).status, 201);
  const ta = await newToken('dana', 'ta', ['access:servers!group=physics']);
  const [toAlice, toBob] = [await open('alice', asToken(ta.token)), await open('bob', asToken(ta.token))];
  const own = await open('alice', asToken((await newToken('alice', 'own')).token));
  t.equal((await gw.api('DELETE', '/hub/api/groups/physics/users', { body: { users: ['alice'] } })).status, 200);
  t.ok(await closesWithin(toAlice), "the WebSocket to alice's server is closed when she leaves physics");
  t.ok(await echoes(toBob), "the one to bob's, still in physics, relays");
  t.ok(await echoes(own), "alice's own relays");
  t.equal((await gw.api('POST', '/hub/api/groups/physics/users', { body: { users: ['alice'] } })).status, 200);
  t.ok(await echoes(toBob), 'a member joining closes nothing');
});

t.test("a demoted admin's WebSockets to others' servers close; a promotion closes nothing", async (t) => {
  const dana = await newToken('dana', 'admin work');
  const toAlice = await open('alice', asToken(dana.token));
  const own = await open('alice', asToken((await newToken('alice', 'mine')).token));
  t.equal((await gw.api('PATCH', '/hub/api/users/alice', { body: { admin: true } })).status, 200);
  t.ok(await echoes(own), "promoting alice leaves her WebSocket open");
  t.ok(await echoes(toAlice), "and dana's");
  t.equal((await gw.api('PATCH', '/hub/api/users/dana', { body: { admin: false } })).status, 200);
  t.ok(await closesWithin(toAlice), "demoting dana closes her WebSocket to alice's server");
  t.ok(await echoes(own), "alice's own relays");
  await gw.api('PATCH', '/hub/api/users/alice', { body: { admin: false } });
});

t.test('a password set by an admin ends the sessions and their WebSockets; tokens keep theirs', async (t) => {
  const bySession = await open('bob', { cookie: await gw.login('bob') });
  const byToken = await open('bob', asToken((await newToken('bob', 'script')).token));
  t.equal((await gw.api('PATCH', '/hub/api/users/bob', { body: { password: 'a-new-password-2' } })).status, 200);
  t.ok(await closesWithin(bySession), "the session's WebSocket is closed");
  t.ok(await echoes(byToken), "the token's relays");
});

t.test('kicloud user passwd beside the serving gateway: its sessions refused and their WebSockets closed within a second or two', async (t) => {
  const cookie = await gw.login('bob', 'a-new-password-2');
  const ws = await open('bob', { cookie });
  const cli = spawnSync(path.join(ROOT, 'bin/kicloud'), ['user', 'passwd', 'bob', '--password-stdin', '--config', gw.configFile],
    { input: 'a-third-password-3\n', encoding: 'utf8', env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });
  t.equal(cli.status, 0, cli.stderr);
  t.ok(await closesWithin(ws, 2500), 'the WebSocket is closed');
  t.equal((await gw.raw('GET', '/hub/api/user', { cookie })).status, 403, 'and the session refused, before the 10 s cache would have let it go');
});

t.test('a token that expires closes what it opened when it does', async (t) => {
  const r = await gw.api('POST', '/hub/api/users/bob/tokens', { body: { note: 'short', expires_in: 1 } });
  t.equal(r.status, 201);
  const short = await open('bob', asToken(r.body.token));
  const lasting = await open('bob', asToken((await newToken('bob', 'lasting')).token));
  t.ok(await closesWithin(short, 2500), 'closed once its token expired');
  t.ok(await echoes(lasting), 'a token without expiry keeps its WebSocket');
});

t.test("a deleted user's WebSockets close, and the gateway says so", async (t) => {
  const erin = await newToken('erin', 'erin');
  const toBob = await open('bob', asToken(erin.token));
  const bobs = await open('bob', asToken((await newToken('bob', 'bob')).token));
  t.equal((await gw.api('DELETE', '/hub/api/users/erin')).status, 204);
  t.ok(await closesWithin(toBob), "erin's WebSocket to bob's server is closed");
  t.ok(await echoes(bobs), "bob's own relays");
  t.match(gw.output, /closed WebSockets their openers may no longer use.*"erin"|"erin".*closed WebSockets their openers may no longer use/);
});
