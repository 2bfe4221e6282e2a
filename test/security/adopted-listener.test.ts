/** A token goes only to its server, after adoption too (READINGS #11.7). The gateway restarted and adopted
 *  alice's server; that server then dies, and another account binds the freed port before the gateway's 1 s
 *  poll of adopted servers notices the exit. A request in that second reaches the listener (the gateway
 *  connects, then checks who owns it) but must not send it a byte: the answer is 503, the server is polled at
 *  once and marked stopped. Runs as root: the attacker is uid 65534 under setpriv. */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayWithAliceOnEcho, isRoot } from '../helpers/gateway.ts';
import { squatPort } from '../helpers/port-squatter.ts';

if (!isRoot) {
  t.fail('needs root: the attacker runs as another account than the server');
} else {
  const { gw, token } = await gatewayWithAliceOnEcho({});
  t.teardown(() => gw.cleanup());

  t.test('an adopted server dies and another account takes its port: 503, no token, marked stopped', async (t) => {
    // The poll of adopted servers can win the race (then the route is gone before the attacker listens): try again.
    let exercised = false;
    for (let attempt = 1; attempt <= 4 && !exercised; attempt++) {
      if (attempt > 1) {
        const again = await gw.api('POST', '/hub/api/users/alice/server');
        t.equal(again.status, 201, `attempt ${attempt}: restarted`);
      }
      await gw.kill9();
      await gw.launch();
      t.match(gw.output, /server adopted/, 'adopted after the restart');
      const first = await gw.api('GET', '/user/alice/echo', { token });
      t.equal(first.status, 200, 'proxied to the adopted server (its listener checked just now)');
      const user = await gw.api('GET', '/hub/api/users/alice');
      const { pid, port } = user.body.servers[''].state as { pid: number; port: number };

      const attacker = squatPort(port, { waitForGo: true });
      await sleep(150);                                     // python is up and waiting on stdin

      process.kill(-pid, 'SIGKILL');
      attacker.go();
      for (let i = 0; i < 100 && !attacker.heard().includes('listening'); i++) await sleep(5);
      t.match(attacker.heard(), /listening/, `attempt ${attempt}: the attacker bound alice's port`);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await gw.api('GET', '/user/alice/echo', { token });
        statuses.push(r.status);
        if (r.status === 503) t.match(r.body.message, /not answering/, 'the 503 says why');
        if (r.status === 424) break;
        await sleep(20);
      }
      attacker.proc.kill('SIGKILL');
      await attacker.exited;
      t.notMatch(attacker.heard(), /GOT/, `attempt ${attempt}: the attacker received not a byte`);
      t.notOk(statuses.includes(200), `never proxied to the attacker: ${statuses}`);
      t.equal(statuses.at(-1), 424, 'then the server is known to be stopped');
      exercised = attacker.heard().includes('CONNECTED');
      if (exercised) {
        t.equal(statuses[0], 503, 'the request that reached the attacker\'s listener got 503');
        t.ok(statuses.length <= 3, `stopped right after that 503 (an immediate poll): ${statuses}`);
        t.same((await gw.api('GET', '/hub/api/users/alice')).body.servers, {}, 'marked stopped');
      }
    }
    t.ok(exercised, 'a request reached the attacker\'s listener while the route was still there');
  });
}
