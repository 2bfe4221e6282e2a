/** JupyterHub 3's groups API (shapes and status codes of apihandlers/groups.py) and what groups are for:
 *  `!group=NAME` scope filters, checked on the API and on the proxy, changing the moment membership changes,
 *  and a deleted user's memberships gone with them. A fast stand-in server keeps this file quick. */
import t from 'tap';
import { echoProfile, Gateway } from '../helpers/gateway.ts';

const gw = await Gateway.start({ config: { profiles: [echoProfile()] } });
t.teardown(() => gw.cleanup());
for (const u of ['alice', 'bob', 'carol']) await gw.addUser(u);
const api = gw.api.bind(gw);

t.test('create, read, change and delete groups', async (t) => {
  const made = await api('POST', '/hub/api/groups/physics', { body: { users: ['alice'] } });
  t.equal(made.status, 201);
  t.same(made.body, { kind: 'group', name: 'physics', users: ['alice'], properties: {}, roles: [] });
  t.equal((await api('POST', '/hub/api/groups/physics', { body: {} })).status, 409, 'a second create conflicts');
  const noUser = await api('POST', '/hub/api/groups/optics', { body: { users: ['zed'] } });
  t.equal(noUser.status, 400);
  t.match(noUser.body.message, /No such user: zed/);
  t.equal((await api('GET', '/hub/api/groups/optics')).status, 404, 'and nothing was made');
  t.equal((await api('POST', '/hub/api/groups/bad!name')).status, 400, 'a name a scope filter could not hold');
  t.equal((await api('POST', '/hub/api/groups/x', { raw: '{"users": [' })).status, 400, 'malformed JSON');
  t.equal((await api('POST', '/hub/api/groups/x', { body: { users: 'alice' } })).status, 400, 'users that are not a list');

  const many = await api('POST', '/hub/api/groups', { body: { groups: ['chem', 'bio'], users: ['bob'] } });
  t.equal(many.status, 201);
  t.same(many.body.map((g: { name: string; users: string[] }) => [g.name, g.users]), [['chem', ['bob']], ['bio', ['bob']]]);
  t.equal((await api('POST', '/hub/api/groups', { body: { groups: [] } })).status, 400, 'no group named');
  const dup = await api('POST', '/hub/api/groups', { body: { groups: ['dup', 'dup'] } });
  t.equal(dup.status, 201, 'a name twice in one batch is one group');
  t.same(dup.body.map((g: { name: string }) => g.name), ['dup']);
  await api('DELETE', '/hub/api/groups/dup');
  t.equal((await api('POST', '/hub/api/groups/chem', { body: { users: ['zed'] } })).status, 409, 'an existing group is a 409 before its users are checked');
  const clash = await api('POST', '/hub/api/groups', { body: { groups: ['geo', 'chem'] } });
  t.equal(clash.status, 409);
  t.equal((await api('GET', '/hub/api/groups/geo')).status, 404, 'a conflict creates none of the batch');

  const added = await api('POST', '/hub/api/groups/physics/users', { body: { users: ['bob', 'alice'] } });
  t.same(added.body.users, ['alice', 'bob']);
  t.match((await api('POST', '/hub/api/groups/physics/users', { body: {} })).body.message, /Must specify users to add/);
  t.equal((await api('POST', '/hub/api/groups/nope/users', { body: { users: ['bob'] } })).status, 404);
  const removed = await api('DELETE', '/hub/api/groups/physics/users', { body: { users: ['alice'] } });
  t.same(removed.body.users, ['bob']);
  const props = await api('PUT', '/hub/api/groups/physics/properties', { body: { partition: 'gpu', quota: 4 } });
  t.same(props.body.properties, { partition: 'gpu', quota: 4 });
  t.equal((await api('PUT', '/hub/api/groups/physics/properties', { body: ['x'] })).status, 400, 'properties must be an object');
  t.equal((await api('PUT', '/hub/api/groups/physics/properties')).status, 400, 'an empty body is not "no properties"');
  t.same((await api('GET', '/hub/api/groups/physics')).body.properties, { partition: 'gpu', quota: 4 }, 'unchanged');

  t.same((await api('GET', '/hub/api/users/bob')).body.groups, ['bio', 'chem', 'physics'], "the user model lists bob's groups");
  const list = await api('GET', '/hub/api/groups');
  t.same(list.body.map((g: { name: string }) => g.name), ['bio', 'chem', 'physics']);
  const paged = await api('GET', '/hub/api/groups?limit=2', { headers: { accept: 'application/jupyterhub-pagination+json' } });
  t.match(paged.body._pagination, { offset: 0, limit: 2, total: 3, next: { offset: 2, limit: 2 } });
  t.equal(paged.body.items.length, 2);

  const del = await api('DELETE', '/hub/api/groups/bio');
  t.equal(del.status, 204, del.text);
  t.equal((await api('GET', '/hub/api/groups/bio')).status, 404);
  t.equal((await api('DELETE', '/hub/api/groups/bio')).status, 404);
  t.same((await api('GET', '/hub/api/users/bob')).body.groups, ['chem', 'physics']);
});

t.test('a user without group scopes can neither read nor change groups', async (t) => {
  const carol = await gw.tokenFor('carol');
  t.equal((await api('GET', '/hub/api/groups', { token: carol })).status, 403);
  t.equal((await api('POST', '/hub/api/groups/mine', { token: carol })).status, 403);
  t.equal((await api('POST', '/hub/api/groups/physics/users', { body: { users: ['carol'] }, token: carol })).status, 403, 'nor join one');
  t.equal((await api('DELETE', '/hub/api/groups/physics', { token: carol })).status, 403);
  for (const scopes of [['access:servers!group=physics'], ['read:groups'], ['groups!group=physics'], ['list:users!group=physics']]) {
    const r = await api('POST', '/hub/api/users/carol/tokens', { body: { scopes }, token: carol });
    t.equal(r.status, 403, `carol cannot mint a token with ${scopes}`);
  }
  t.same((await api('GET', '/hub/api/groups/physics')).body.users, ['bob'], 'physics is unchanged');
});

t.test('!group= filters: on the API, on the proxy, and they follow membership at once', async (t) => {
  await api('POST', '/hub/api/groups/physics/users', { body: { users: ['alice'] } });     // physics: alice, bob
  for (const u of ['alice', 'carol']) { await api('POST', `/hub/api/users/${u}/server`); await gw.waitReady(u); }
  const ta = await gw.tokenFor('admin', ['access:servers!group=physics', 'list:users!group=physics', 'read:users!group=physics',
    'read:groups!group=physics', 'list:groups!group=physics']);
  const status = (user: string) => gw.raw('GET', `/user/${user}/api/status`, { authorization: `token ${ta}` }).then((r) => r.status);
  t.equal(await status('alice'), 200, "a member's server is reachable");
  t.equal(await status('carol'), 403, "a non-member's is not");
  t.same((await api('GET', '/hub/api/users', { token: ta })).body.map((u: { name: string }) => u.name), ['alice', 'bob'], 'list:users shows members only');
  t.equal((await api('GET', '/hub/api/users/carol', { token: ta })).status, 403);
  t.same((await api('GET', '/hub/api/groups', { token: ta })).body.map((g: { name: string }) => g.name), ['physics'], 'list:groups shows its group only');
  const seen = await api('GET', '/hub/api/groups/physics', { token: ta });
  t.equal(seen.status, 200);
  t.ok('users' in seen.body && !('roles' in seen.body), 'members with read:groups; roles only with read:roles:groups');
  t.equal((await api('GET', '/hub/api/groups/chem', { token: ta })).status, 403);
  t.equal((await api('POST', '/hub/api/groups/physics/users', { body: { users: ['carol'] }, token: ta })).status, 403, 'reading is not changing');

  await api('POST', '/hub/api/groups/physics/users', { body: { users: ['carol'] } });
  t.equal(await status('carol'), 200, 'carol joins: reachable at once');
  await api('DELETE', '/hub/api/groups/physics/users', { body: { users: ['alice'] } });
  t.equal(await status('alice'), 403, 'alice leaves: refused at once');
});

t.test("a deleted user's memberships go with them; the name re-created is in no group", async (t) => {
  const ta = await gw.tokenFor('admin', ['access:servers!group=physics']);
  t.equal((await api('DELETE', '/hub/api/users/carol')).status, 204);
  t.notOk((await api('GET', '/hub/api/groups/physics')).body.users.includes('carol'));
  await gw.addUser('carol');
  await api('POST', '/hub/api/users/carol/server');
  await gw.waitReady('carol');
  t.same((await api('GET', '/hub/api/users/carol')).body.groups, []);
  t.equal((await gw.raw('GET', '/user/carol/api/status', { authorization: `token ${ta}` })).status, 403, "the old group's grant does not reach her");
});
