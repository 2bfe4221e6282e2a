/** @module What /proc says about a process and a listening socket: start time (so a recycled pid is not
 *  mistaken for our server) and the uid owning a loopback listener (so a token goes only to its server). */
import { readdir, readFile } from 'node:fs/promises';

/** Start time in clock ticks since boot (field 22 of /proc/PID/stat), or null if gone or a zombie. */
export async function processStartTime(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return null;
    return Number(rest[19]);
  } catch {
    return null;
  }
}

/** uid of the socket listening on 127.0.0.1:port or [::1]:port (or a wildcard address), or null. One indexOf
 *  per file finds the LISTEN line (remote address all zeros, state 0A), so the cost stays small on hosts with
 *  many thousands of sockets. */
export async function listenerUid(port: number): Promise<number | null> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const [file, remote] of [['/proc/net/tcp', '00000000:0000'], ['/proc/net/tcp6', '00000000000000000000000000000000:0000']]) {
    let text: string;
    try { text = await readFile(file, 'latin1'); } catch { continue; }
    const needle = `:${hexPort} ${remote} 0A `;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      const lineStart = text.lastIndexOf('\n', at) + 1;
      const lineEnd = text.indexOf('\n', at);
      const f = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).trim().split(/\s+/);
      if (isLoopbackOrAny(f[1].split(':')[0])) return Number(f[7]);
    }
  }
  return null;
}

function isLoopbackOrAny(hex: string): boolean {
  if (hex.length === 8) return hex === '0100007F' || hex === '00000000';
  return hex === '00000000000000000000000001000000' || hex === '00000000000000000000000000000000' ||
    hex === '0000000000000000FFFF00000100007F';
}

/** Pids of the processes that are not zombies and run with `uid` as their real or effective uid (what userdel's
 *  busy check and pkill look at; the owner of /proc/PID is root for a non-dumpable process, so it cannot tell).
 *  A zombie runs nothing and holds no file; it goes when its parent (or, orphaned, PID 1) reaps it, and where
 *  PID 1 does not reap orphans promptly (this machine's does not) it can stay a long time. */
export async function liveProcessesOf(uid: number): Promise<number[]> {
  const live: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = await readFile(`/proc/${name}/status`, 'utf8');
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      const [real, effective] = (/^Uid:\s+(\d+)\s+(\d+)/m.exec(status) ?? []).slice(1).map(Number);
      if ((real === uid || effective === uid) && state !== 'Z' && state !== 'X') live.push(Number(name));
    } catch { /* gone meanwhile */ }
  }
  return live;
}
