/** `auth.shutdown_on_logout`, as JupyterHub's: a browser's logout stops all of its user's servers (default and
 *  named, running or starting); a token's call to /hub/logout and other users' servers are left alone. Off by
 *  default: test/security/attacks.test.ts logs out with a server running and it keeps running. */
import t from 'tap';
import { gatewayWithAliceOnEcho } from '../helpers/gateway.ts';

const { gw, token, cookie } = await gatewayWithAliceOnEcho({ auth: { shutdown_on_logout: true }, named_servers: { enabled: true, limit: 2 } });
t.teardown(() => gw.cleanup());

t.test('a browser\'s logout stops the user\'s servers, and only theirs', async (t) => {
  await gw.addUser('bob');
  for (const p of ['/hub/api/users/alice/servers/gpu', '/hub/api/users/bob/server']) t.equal((await gw.api('POST', p)).status, 201, p);
  t.equal((await gw.raw('GET', '/hub/logout', { authorization: `token ${token}` })).status, 302, 'a token calling /hub/logout');
  t.equal(Object.keys((await gw.api('GET', '/hub/api/users/alice')).body.servers).length, 2, 'stops nothing: a token is not a session');

  const out = await gw.raw('GET', '/hub/logout', { cookie });
  t.equal(out.status, 302);
  t.equal(out.headers.location, '/hub/login');
  t.same((await gw.api('GET', '/hub/api/users/alice')).body.servers, {}, 'alice\'s default and named servers are stopped');
  t.match(gw.output, /"reason":"logout","msg":"server stopped"/);
  t.equal((await gw.api('GET', '/hub/api/users/bob')).body.servers['']?.ready, true, 'bob\'s server runs on');
});
