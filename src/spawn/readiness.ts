/** @module Wait until a launched server answers its ready_path, with a short backoff. Fails fast when the
 *  process dies (with its log tail) and refuses to send the token to a listener another account owns. */
import { connect } from 'node:net';
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerHandle, Spawner } from '../../spawners/spawner.ts';
import { SpawnError, SpawnTimeout } from '../errors.ts';

/** Poll delays: the first, growth factor, cap. Capped low: every ms between the server listening and us noticing
 *  is a ms the user waits, and a poll before the server listens costs little (the local spawner answers poll()
 *  from memory for its own children; then a refused connect). bench/spawn polls a server started by hand with
 *  the same delays. */
export const READY_BACKOFF = { firstMs: 10, factor: 1.5, maxMs: 25 } as const;

export interface ReadyOptions { readyPath: string; token: string; timeoutMs: number; signal: AbortSignal; onWaiting?: () => void }

export async function waitUntilReady(spawner: Spawner, handle: ServerHandle, o: ReadyOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const sep = o.readyPath.includes('?') ? '&' : '?';
  const url = `${handle.url}${o.readyPath}${sep}no_track_activity=1`;
  let delay: number = READY_BACKOFF.firstMs, announced = false, lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (o.signal.aborted) throw new SpawnError('the spawn was cancelled');
    const status = await spawner.poll(handle);
    if (!status.running) {
      throw new SpawnError(`the server exited before it was ready (${status.reason})`, { logTail: await spawner.logTail(handle) });
    }
    // Who owns the listener is asked only once something is there: that check reads the kernel's socket tables
    // (about 3 ms of system CPU here, whatever the number of sockets), and a spawn polls about a hundred times,
    // on a machine that is busy starting the server. A refused connect costs microseconds. A connect left
    // hanging (a squatter's full backlog) is asked about too, so that case fails at once, not at the timeout.
    const reach = await tryConnect(handle.url, Math.max(1, Math.min(1000, deadline - Date.now())), o.signal);
    const owner = reach === 'refused' ? 'none' : await spawner.listenerOwner(handle);
    if (owner === 'other') {
      throw new SpawnError(`another account is listening on the server's address ${handle.url}; the token was not sent`);
    }
    if (owner === 'server') {
      try {
        const res = await request(url, {
          headers: { authorization: `token ${o.token}` }, signal: AbortSignal.any([o.signal, AbortSignal.timeout(2000)]),
        });
        await res.body.dump();
        if (res.statusCode === 200) return;
        lastError = `${o.readyPath} answered ${res.statusCode}`;
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    if (!announced) { announced = true; o.onWaiting?.(); }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    delay = Math.min(delay * READY_BACKOFF.factor, READY_BACKOFF.maxMs);
  }
  throw new SpawnTimeout(`the server did not answer ${o.readyPath} within ${Math.round(o.timeoutMs / 1000)} s (${lastError})`,
    { logTail: await spawner.logTail(handle) });
}

/** A TCP connect to the URL's address, closed unused: accepted, refused (or unreachable), or left hanging. */
function tryConnect(url: string, timeoutMs: number, signal: AbortSignal): Promise<'accepts' | 'refused' | 'hangs'> {
  const { protocol, hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: port ? Number(port) : protocol === 'https:' ? 443 : 80 });
    let settled = false;
    const settle = (r: 'accepts' | 'refused' | 'hangs') => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(r);
    };
    const onAbort = () => settle('refused');                 // the loop then sees the abort and stops
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => settle('accepts'));
    socket.once('error', () => settle('refused'));
    socket.setTimeout(timeoutMs, () => settle('hangs'));
  });
}
