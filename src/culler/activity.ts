/** @module Activity, batched: the proxy marks a route active in memory (a Map write on a coarse clock); a timer
 *  writes the batch to the store. Never one store write per request or per WebSocket message. */
import { routeId } from '../routes/route-table.ts';
import type { ActivityUpdate, ServerKey, Store } from '../store/store.ts';

export class ActivityTracker {
  readonly #store: Store;
  readonly #pending = new Map<string, number>();     // routeId → epoch ms
  readonly #latest = new Map<string, number>();      // routeId → epoch ms, survives flushes
  readonly #traffic = new Map<string, number>();     // routeId → epoch ms of the last proxied request or message
  #now = Date.now();
  readonly #clock: NodeJS.Timeout;
  readonly #flusher: NodeJS.Timeout;

  constructor(store: Store, onError: (err: unknown) => void, flushEveryMs = 5000) {
    this.#store = store;
    // A 1 s clock is precise enough for culling measured in minutes, and costs nothing per request.
    this.#clock = setInterval(() => { this.#now = Date.now(); }, 1000).unref();
    this.#flusher = setInterval(() => this.flush().catch((err) => onError(err)), flushEveryMs).unref();
  }

  /** Traffic through the proxy: an HTTP request or a WebSocket data frame. */
  touch = (id: string): void => {
    this.#pending.set(id, this.#now);
    this.#traffic.set(id, this.#now);
  };

  /** Activity that is not traffic (a busy kernel): last_activity moves, `lastTraffic` does not. */
  keepAlive(id: string): void {
    this.#pending.set(id, this.#now);
  }

  /** The last proxied request or message to a server since this gateway started (epoch ms, or 0). */
  lastTraffic(key: ServerKey): number {
    return this.#traffic.get(routeId(key)) ?? 0;
  }

  /** Latest known activity for a server, including what is not yet flushed (epoch ms, or 0). */
  latest(key: ServerKey): number {
    const id = routeId(key);
    return Math.max(this.#pending.get(id) ?? 0, this.#latest.get(id) ?? 0);
  }

  async flush(): Promise<void> {
    if (!this.#pending.size) return;
    const batch: ActivityUpdate[] = [];
    for (const [id, at] of this.#pending) {
      const slash = id.indexOf('/');
      batch.push({ user: id.slice(0, slash), server: id.slice(slash + 1), at });
      this.#latest.set(id, at);
    }
    this.#pending.clear();
    try {
      await this.#store.activity.record(batch);
    } catch (err) {
      // Keep the batch for the next flush unless newer activity arrived meanwhile.
      for (const a of batch) { const id = routeId(a); if (!this.#pending.has(id)) this.#pending.set(id, a.at); }
      throw err;
    }
  }

  /** A server removed, or its user deleted: a name created again later inherits nothing. */
  forget(key: ServerKey): void {
    const id = routeId(key);
    this.#pending.delete(id);
    this.#latest.delete(id);
    this.#traffic.delete(id);
  }

  async close(): Promise<void> {
    clearInterval(this.#clock);
    clearInterval(this.#flusher);
    await this.flush();
  }
}
