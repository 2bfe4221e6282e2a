/** JupyterHub 3 scopes: hierarchy, filters, unknown scopes, subset checks (a token never exceeds its owner). */
import t from 'tap';
import { expandScopes, hasScope, isSubset, listScopes } from '../../src/auth/scopes.ts';
import { ownerScopes } from '../../src/auth/authenticator.ts';

t.test('hierarchy', async (t) => {
  const s = expandScopes(['admin:users']);
  for (const implied of ['users', 'read:users', 'list:users', 'users:activity', 'read:users:activity', 'read:users:name', 'admin:auth_state']) {
    t.ok(hasScope(s, implied, { user: 'x' }), implied);
  }
  t.notOk(hasScope(s, 'admin:servers'), 'siblings not implied');
  const servers = expandScopes(['servers']);
  t.ok(hasScope(servers, 'delete:servers') && hasScope(servers, 'read:servers'));
  t.notOk(hasScope(servers, 'access:servers'), 'servers does not grant access');
  t.ok(hasScope(expandScopes(['tokens']), 'read:tokens'));
});

t.test('filters', async (t) => {
  const s = expandScopes(['access:servers!user=alice', 'read:users!server=bob/gpu', 'servers!group=physics']);
  t.ok(hasScope(s, 'access:servers', { user: 'alice', server: '' }));
  t.ok(hasScope(s, 'access:servers', { user: 'alice', server: 'gpu' }));
  t.notOk(hasScope(s, 'access:servers', { user: 'bob', server: '' }));
  t.notOk(hasScope(s, 'access:servers'), 'no target: only unfiltered grants count');
  t.ok(hasScope(s, 'read:users:name', { user: 'bob', server: 'gpu' }), 'filter carried down the hierarchy');
  t.notOk(hasScope(s, 'read:users', { user: 'bob', server: '' }));
  t.ok(hasScope(s, 'servers', { user: 'carol', groups: ['physics'] }));
  t.notOk(hasScope(s, 'servers', { user: 'carol', groups: ['chemistry'] }));
});

t.test('unknown scopes and filters are errors', async (t) => {
  t.throws(() => expandScopes(['read:everything']), { name: 'ScopeError', message: 'unknown scope "read:everything"' });
  t.throws(() => expandScopes(['servers!planet=mars']), { name: 'ScopeError' });
  t.throws(() => expandScopes(['servers!user']), { name: 'ScopeError' });
  t.doesNotThrow(() => expandScopes(['read:hub', 'read:metrics', 'list:groups', 'delete:groups', 'read:roles:users', 'admin-ui', 'proxy', 'shutdown']));
});

t.test('owners and subsets', async (t) => {
  const alice = ownerScopes({ name: 'alice', admin: false });
  t.ok(hasScope(alice, 'access:servers', { user: 'alice', server: 'x' }));
  t.notOk(hasScope(alice, 'access:servers', { user: 'bob', server: '' }));
  t.equal(isSubset(expandScopes(['access:servers!server=alice/x']), alice), null, 'narrower is fine');
  t.equal(isSubset(expandScopes(['self'], { name: 'alice', admin: false }), alice), null);
  t.equal(isSubset(expandScopes(['access:servers']), alice), 'access:servers', 'wider is named');
  t.equal(isSubset(expandScopes(['read:users!user=bob']), alice), 'read:users!user=bob');
  const admin = ownerScopes({ name: 'root', admin: true });
  t.ok(hasScope(admin, 'admin:users') && hasScope(admin, 'access:servers', { user: 'bob', server: '' }) && hasScope(admin, 'read:metrics'));
  t.ok(listScopes(alice).includes('access:servers!user=alice'));
});
