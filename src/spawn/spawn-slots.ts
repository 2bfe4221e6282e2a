/** @module At most `limit` spawns start at once; the others wait in line, first come first served, each told its
 *  place whenever it changes. JupyterHub answers the spawn over its `concurrent_spawn_limit` with 429 and a
 *  Retry-After, so a class of 60 opening the URL at 9:00 meets errors and retries in a loop; here they see their
 *  place on the pending page and can cancel. A wait ends with its spawn's abort signal (Cancel, a stop, shutdown). */

interface Waiter {
  grant: () => void;
  tell: (ahead: number) => void;
}

export class SpawnSlots {
  readonly #limit: number;
  #busy = 0;
  readonly #line: Waiter[] = [];

  constructor(limit: number) { this.#limit = limit; }

  /** Spawns waiting for a slot. */
  get waiting(): number { return this.#line.length; }

  /** Resolves with the slot's release once this caller may start (at once when a slot is free). While it waits,
   *  `tell` hears how many wait ahead of it: first on joining, then each time the line moves. Rejects with the
   *  signal's reason if the signal aborts first; the caller then holds no slot. */
  acquire(signal: AbortSignal, tell: (ahead: number) => void): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#busy < this.#limit && this.#line.length === 0) return Promise.resolve(this.#take());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#line.indexOf(waiter);
        if (i < 0) return;
        this.#line.splice(i, 1);
        this.#tellFrom(i);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        grant: () => { signal.removeEventListener('abort', onAbort); resolve(this.#take()); },
        tell,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#line.push(waiter);
      tell(this.#line.length - 1);
    });
  }

  #take(): () => void {
    this.#busy++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#busy--;
      const next = this.#line.shift();
      if (!next) return;
      next.grant();
      this.#tellFrom(0);
    };
  }

  /** Everyone from position `i` on has moved up one. */
  #tellFrom(i: number): void {
    for (let j = i; j < this.#line.length; j++) this.#line[j].tell(j);
  }
}
