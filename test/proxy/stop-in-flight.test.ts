/** A request still in flight when its server is stopped (by its user, an admin or the culler), or when the gateway
 *  itself stops: the client gets a 503 that says which, not a 502 "could not be relayed"; a stop is logged once,
 *  not as a proxy error per request it cut short; the metric counts it under its own kind. */
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
  t.match(r.body.message, /alice's server: the server stopped while this request was in flight/);
  await sleep(200);
  const log = gw.output.slice(before);
  t.match(log, /"msg":"server stopped"/, 'the stop is logged');
  t.notMatch(log, /proxy error/, 'and not as a proxy error');
  const m = await gw.api('GET', '/metrics');
  t.match(m.text, /kicloud_proxy_errors_total\{kind="stopped"\} 1/);
});

t.test('the gateway stopped (SIGTERM) while a request waits: 503 saying so; the user server keeps running', async (t) => {
  await gw.api('POST', '/hub/api/users/alice/server');
  await gw.waitReady('alice');
  const hanging = gw.api('GET', '/user/alice/hang', { token });
  await sleep(300);
  await gw.stopGateway();
  const r = await hanging;
  t.equal(r.status, 503);
  t.match(r.body.message, /the gateway is restarting; the server keeps running/);
  await gw.launch();
  t.equal((await gw.api('GET', '/user/alice/echo', { token })).status, 200, 'adopted after the restart');
});
