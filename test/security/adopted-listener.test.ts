/** A token goes only to its server, after adoption too (READINGS #11.7). The gateway restarted and adopted
 *  alice's server; that server then dies, and another account binds the freed port before the gateway's 1 s
 *  poll of adopted servers notices the exit. A request in that second reaches the listener (the gateway
 *  connects, then checks who owns it) but must not send it a byte: the answer is 503, the server is polled at
 *  once and marked stopped. Runs as root: the attacker is uid 65534 under setpriv. */
import t from 'tap';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayWithAliceOnEcho, isRoot } from '../helpers/gateway.ts';

// Waits for a line on stdin, then binds the port (retrying while the dead server's socket is released) and
// reports every connection and every byte it receives until its time is up.
const ATTACKER = `
import socket, sys, time
port = int(sys.argv[1]); sys.stdin.readline()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for _ in range(200):
    try: s.bind(('127.0.0.1', port)); break
    except OSError: time.sleep(0.005)
s.listen(16); print('listening', flush=True); s.settimeout(3)
try:
    while True:
        c, _ = s.accept(); c.settimeout(1); print('CONNECTED', flush=True)
        try:
            data = c.recv(65536)
            if data: print('GOT', data.decode('latin1').replace('\\r\\n', ' | '), flush=True)
        except Exception: pass
        c.close()
except socket.timeout: pass`;

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

      const attacker = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', ATTACKER, String(port)],
        { stdio: ['pipe', 'pipe', 'pipe'] });
      let heard = '';
      attacker.stdout.on('data', (d) => { heard += d; });
      attacker.stderr.on('data', (d) => { heard += d; });
      const exited = new Promise((r) => attacker.once('exit', r));
      await sleep(150);                                     // python is up and waiting on stdin

      process.kill(-pid, 'SIGKILL');
      attacker.stdin.end('go\n');
      for (let i = 0; i < 100 && !heard.includes('listening'); i++) await sleep(5);
      t.match(heard, /listening/, `attempt ${attempt}: the attacker bound alice's port`);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await gw.api('GET', '/user/alice/echo', { token });
        statuses.push(r.status);
        if (r.status === 503) t.match(r.body.message, /not answering/, 'the 503 says why');
        if (r.status === 424) break;
        await sleep(20);
      }
      attacker.kill('SIGKILL');
      await exited;
      t.notMatch(heard, /GOT/, `attempt ${attempt}: the attacker received not a byte`);
      t.notOk(statuses.includes(200), `never proxied to the attacker: ${statuses}`);
      t.equal(statuses.at(-1), 424, 'then the server is known to be stopped');
      exercised = heard.includes('CONNECTED');
      if (exercised) {
        t.equal(statuses[0], 503, 'the request that reached the attacker\'s listener got 503');
        t.ok(statuses.length <= 3, `stopped right after that 503 (an immediate poll): ${statuses}`);
        t.same((await gw.api('GET', '/hub/api/users/alice')).body.servers, {}, 'marked stopped');
      }
    }
    t.ok(exercised, 'a request reached the attacker\'s listener while the route was still there');
  });
}
