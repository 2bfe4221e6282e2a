/** A request still in flight when its server is stopped (by its user, an admin or the culler): the client gets a
 *  503 that says so, not a 502 "could not be relayed"; the stop is logged once, not as a proxy error per request
 *  it cut short; the metric counts it under its own kind. */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayWithAliceOnEcho } from '../helpers/gateway.ts';

const { gw, token } = await gatewayWithAliceOnEcho({ proxy: { connect_timeout: 2, response_timeout: 30 } });
t.teardown(() => gw.cleanup());

t.test('stopped while a request waits for its answer', async (t) => {
  const before = gw.output.length;
  const hanging = gw.api('GET', '/user/alice/hang', { token });
  await sleep(300);                                    // the request has reached the backend, which never answers
  const stop = await gw.api('DELETE', '/hub/api/users/alice/server');
  t.ok([202, 204].includes(stop.status), `stop answered ${stop.status}`);
  const r = await hanging;
  t.equal(r.status, 503, 'not a 502, nor a 504 after response_timeout');
  t.match(r.body.message, /alice's server: the server was stopped while this request was in flight/);
  await sleep(200);
  const log = gw.output.slice(before);
  t.match(log, /"msg":"server stopped"/, 'the stop is logged');
  t.notMatch(log, /proxy error/, 'and not as a proxy error');
  const m = await gw.api('GET', '/metrics');
  t.match(m.text, /kicloud_proxy_errors_total\{kind="stopped"\} 1/);
});
