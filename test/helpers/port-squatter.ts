/** @module A local attacker for READINGS #11.7 tests: as uid 65534 (nobody), binds a loopback port and reports
 *  each connection it gets (`CONNECTED`) and each byte received (`GOT …`) until `idleSecs` pass without one. With
 *  `waitForGo`, it binds only after a line on stdin (started ahead, so it binds within a millisecond), retrying
 *  for up to 1 s while the port is still held. Needs root (setpriv). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const SCRIPT = `
import socket, sys, time
port, wait, idle = int(sys.argv[1]), sys.argv[2] == 'wait', float(sys.argv[3])
if wait: sys.stdin.readline()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for attempt in range(200):
    try: s.bind(('127.0.0.1', port)); break
    except OSError:
        if attempt == 199: raise
        time.sleep(0.005)
s.listen(16); print('listening', flush=True); s.settimeout(idle)
try:
    while True:
        c, _ = s.accept(); c.settimeout(1); print('CONNECTED', flush=True)
        try:
            data = c.recv(65536)
            if data: print('GOT', data.decode('latin1').replace('\\r\\n', ' | '), flush=True)
        except Exception: pass
        c.close()
except socket.timeout: pass`;

export interface PortSquatter {
  proc: ChildProcessWithoutNullStreams;
  /** Everything it printed so far. */
  heard(): string;
  /** Binds now (with `waitForGo`). */
  go(): void;
  exited: Promise<unknown>;
}

export function squatPort(port: number, opts: { waitForGo?: boolean; idleSecs?: number } = {}): PortSquatter {
  const proc = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', SCRIPT,
    String(port), opts.waitForGo ? 'wait' : 'now', String(opts.idleSecs ?? 3)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let heard = '';
  proc.stdout.on('data', (d) => { heard += d; });
  proc.stderr.on('data', (d) => { heard += d; });
  return { proc, heard: () => heard, go: () => proc.stdin.end('go\n'), exited: new Promise((r) => proc.once('exit', r)) };
}
