/** @module The Store contract, one suite for every backend (sqlite now; redis later): a backend is done when
 *  this passes. Call storeConformance(t, () => freshStore()). */
import type { Test } from 'tap';
import type { ServerRecord, Store } from '../../src/store/store.ts';

const user = (name: string, admin = false) => ({ name, admin, passwordHash: 'h', created: new Date().toISOString(), lastActivity: null });
const server = (u: string, s = ''): ServerRecord => ({ user: u, server: s, state: 'stopped', profile: 'p', url: null, token: 'secret', handle: {}, started: null, lastActivity: null, userOptions: {} });

export function storeConformance(t: Test, open: () => Promise<Store>): void {
  t.test('users', async (t) => {
    const s = await open();
    t.equal(await s.users.add(user('alice')), true);
    t.equal(await s.users.add(user('alice', true)), false, 'no overwrite');
    t.match(await s.users.get('alice'), { name: 'alice', admin: false });
    await s.users.update('alice', { admin: true, passwordHash: 'h2' });
    t.match(await s.users.get('alice'), { admin: true, passwordHash: 'h2' });
    t.equal(await s.users.count(), 1);
    t.same((await s.users.list()).map((u) => u.name), ['alice']);
    t.equal(await s.users.get('nobody'), null);
    await s.close();
  });

  t.test('groups: members, properties, and a deleted user leaves every group', async (t) => {
    const s = await open();
    for (const u of ['gina', 'hal', 'ivy']) await s.users.add(user(u));
    t.equal(await s.groups.add('physics', ['ivy', 'gina']), true);
    t.equal(await s.groups.add('physics', []), false, 'no overwrite');
    t.same(await s.groups.get('physics'), { name: 'physics', users: ['gina', 'ivy'], properties: {} });
    await s.groups.addUsers('physics', ['hal', 'gina']);
    await s.groups.removeUsers('physics', ['ivy', 'nobody']);
    await s.groups.setProperties('physics', { quota: 2, partition: 'gpu' });
    await s.groups.add('chemistry', ['hal']);
    t.same(await s.groups.list(), [
      { name: 'chemistry', users: ['hal'], properties: {} },
      { name: 'physics', users: ['gina', 'hal'], properties: { quota: 2, partition: 'gpu' } },
    ]);
    await s.users.remove('hal');
    t.same((await s.groups.list()).map((g) => g.users), [[], ['gina']], 'hal left both groups');
    await s.users.add(user('hal'));
    t.same((await s.groups.get('physics'))!.users, ['gina'], 'a re-created hal is in none');
    t.equal(await s.groups.remove('physics'), true);
    t.equal(await s.groups.get('physics'), null);
    t.equal(await s.groups.remove('physics'), false);
    t.same((await s.users.list()).map((u) => u.name), ['gina', 'hal', 'ivy'], 'removing a group keeps its users');
    await s.close();
  });

  t.test('server transitions are compare-and-set', async (t) => {
    const s = await open();
    await s.users.add(user('bob'));
    await s.servers.ensure(server('bob'));
    await s.servers.ensure({ ...server('bob'), state: 'running' });
    t.equal((await s.servers.get({ user: 'bob', server: '' }))!.state, 'stopped', 'ensure never overwrites');
    t.equal(await s.servers.transition({ user: 'bob', server: '' }, ['stopped'], 'pending', { url: 'http://x', handle: { pid: 1 } }), true);
    t.equal(await s.servers.transition({ user: 'bob', server: '' }, ['stopped'], 'pending'), false, 'second claim loses');
    t.match(await s.servers.get({ user: 'bob', server: '' }), { state: 'pending', url: 'http://x', handle: { pid: 1 } });
    await s.servers.transition({ user: 'bob', server: '' }, ['pending'], 'running', { started: 'now' });
    t.same((await s.servers.list({ state: 'running' })).map((r) => r.user), ['bob']);
    await s.close();
  });

  t.test('activity is monotonic; tokens, sessions and events', async (t) => {
    const s = await open();
    await s.users.add(user('carol'));
    await s.servers.ensure(server('carol'));
    await s.activity.record([{ user: 'carol', server: '', at: 2000 }, { user: 'carol', server: '', at: 1000 }]);
    t.equal((await s.servers.get({ user: 'carol', server: '' }))!.lastActivity, new Date(2000).toISOString(), 'never moves back');
    t.equal((await s.users.get('carol'))!.lastActivity, new Date(2000).toISOString());
    await s.tokens.add({ id: 't1', user: 'carol', hash: 'abc', prefix: 'ab', scopes: ['servers'], note: '', created: 'c', expiresAt: null, lastActivity: null });
    t.match(await s.tokens.findByHash('abc'), { id: 't1', scopes: ['servers'] });
    await s.sessions.add({ id: 's1', user: 'carol', created: 'c', expiresAt: 'e' });
    await s.events.append({ user: 'carol', server: '' }, { ts: '1', progress: 0, message: 'a' });
    await s.events.append({ user: 'carol', server: '' }, { ts: '2', progress: 50, message: 'b' });
    t.same((await s.events.tail({ user: 'carol', server: '' }, 1)).map((e) => e.message), ['b']);
    t.same(await s.sessions.revokeUser('carol'), ['s1']);
    t.equal(await s.users.remove('carol'), true);
    t.equal(await s.tokens.findByHash('abc'), null, 'tokens die with the user');
    t.equal(await s.servers.get({ user: 'carol', server: '' }), null, 'servers too');
    t.same(await s.events.tail({ user: 'carol', server: '' }, 5), [], 'and events');
    await s.close();
  });
}
