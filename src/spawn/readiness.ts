/** @module Wait until a launched server answers its ready_path, with a short backoff. Fails fast when the
 *  process dies (with its log tail) and refuses to send the token to a listener another account owns. */
import { connect } from 'node:net';
import type { request as undiciRequest } from 'undici';
import type { ServerHandle, Spawner } from '../../spawners/spawner.ts';
import { SpawnError, SpawnTimeout } from '../errors.ts';
import { loadUndici } from '../undici.ts';

/** Poll delays: the first, growth factor, cap. A poll is cheap (poll() from memory for the local spawner's own
 *  children, then a refused connect) but each wake-up is not: about 1 ms of CPU per poll on a virtual machine
 *  here, 40 ms a second per starting server at a 25 ms cap, on a machine that is busy starting those servers.
 *  The cap can be higher because a server's output wakes the loop at once (ProbeClock): Jupyter prints "is
 *  running at" as it starts answering. bench/spawn waits for a server started by hand with the same clock. */
export const READY_BACKOFF = { firstMs: 10, factor: 1.5, maxMs: 100 } as const;

/** When to probe next: after the backoff's next delay, or sooner when the server writes output (a hint that its
 *  state changed), though never sooner than firstMs after the previous wait began, so a server that prints
 *  without pause is not probed without pause. Output counts only while nothing accepts connections
 *  (`outputWakes`): once a server listens, a probe it answers with an error may be logged, and that log line
 *  must not call the next probe. Hints that arrive while a probe runs count for the next wait. */
export class ProbeClock {
  #delay: number = READY_BACKOFF.firstMs;
  #hinted = false;
  #onHint: (() => void) | null = null;
  /** Whether the server's output wakes the wait; the caller turns it off once something listens. */
  outputWakes = true;
  readonly #unsubscribe: () => void;

  constructor(subscribe?: (onOutput: () => void) => () => void) {
    this.#unsubscribe = subscribe?.(() => { if (this.outputWakes) this.hint(); }) ?? (() => {});
  }

  /** Ends the current wait (within firstMs of its start), or the next one. */
  hint(): void {
    if (this.#onHint) this.#onHint();
    else this.#hinted = true;
  }

  /** Waits for the next probe; at most `capMs`. */
  next(capMs: number): Promise<void> {
    const full = Math.max(0, Math.min(this.#delay, capMs));
    const soonest = Math.min(full, READY_BACKOFF.firstMs);
    this.#delay = Math.min(this.#delay * READY_BACKOFF.factor, READY_BACKOFF.maxMs);
    const began = performance.now();
    return new Promise<void>((resolve) => {
      const finish = () => { clearTimeout(timer); this.#onHint = null; resolve(); };
      const wakeEarly = () => { clearTimeout(timer); timer = setTimeout(finish, Math.max(0, soonest - (performance.now() - began))); };
      let timer = setTimeout(finish, full);
      if (this.#hinted) {
        this.#hinted = false;
        wakeEarly();
      } else {
        this.#onHint = () => { this.#onHint = null; wakeEarly(); };
      }
    });
  }

  close(): void { this.#unsubscribe(); }
}

export interface ReadyOptions { readyPath: string; token: string; timeoutMs: number; signal: AbortSignal; onWaiting?: () => void }

export async function waitUntilReady(spawner: Spawner, handle: ServerHandle, o: ReadyOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const sep = o.readyPath.includes('?') ? '&' : '?';
  const url = `${handle.url}${o.readyPath}${sep}no_track_activity=1`;
  const clock = new ProbeClock(spawner.watchOutput && ((onOutput) => spawner.watchOutput!(handle, onOutput)));
  const onAbort = () => clock.hint();                       // a cancelled spawn stops within firstMs
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const { request } = await loadUndici();
    return await probeUntilReady(spawner, handle, o, url, deadline, clock, request);
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    clock.close();
  }
}

async function probeUntilReady(spawner: Spawner, handle: ServerHandle, o: ReadyOptions, url: string, deadline: number, clock: ProbeClock,
  request: typeof undiciRequest): Promise<void> {
  let announced = false, lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (o.signal.aborted) throw new SpawnError('the spawn was cancelled');
    const status = await spawner.poll(handle);
    if (!status.running) {
      throw new SpawnError(`the server exited before it was ready (${status.reason})`, { logTail: await spawner.logTail(handle) });
    }
    // Who owns the listener is asked only once something is there: that check reads the kernel's socket tables
    // (about 3 ms of system CPU here, whatever the number of sockets), and a spawn polls dozens of times, on a
    // machine that is busy starting the server. A refused connect costs microseconds. A connect left
    // hanging (a squatter's full backlog) is asked about too, so that case fails at once, not at the timeout.
    const reach = await tryConnect(handle.url, Math.max(1, Math.min(1000, deadline - Date.now())), o.signal);
    clock.outputWakes = reach === 'refused';
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
    await clock.next(Math.max(0, deadline - Date.now()));
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
