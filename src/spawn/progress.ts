/** @module One spawn's progress as JupyterHub's event stream shape: `{progress, message}`, then a final
 *  `{progress: 100, ready: true, url}` or `{progress: 100, failed: true, message}`. Late subscribers get the
 *  events so far, then follow. */
import type { SpawnEvent } from '../store/store.ts';

export class SpawnProgress {
  readonly events: SpawnEvent[] = [];
  readonly #listeners = new Set<(e: SpawnEvent) => void>();
  #done = false;

  get done(): boolean { return this.#done; }
  get last(): SpawnEvent | undefined { return this.events[this.events.length - 1]; }

  /** `replace`: the event supersedes the last one, which late subscribers then no longer see (a place in the
   *  line that moved: 500 waiting spawns must not each keep 500 of them). Followers get it as a new event. */
  emit(e: Omit<SpawnEvent, 'ts'>, o: { replace?: boolean } = {}): SpawnEvent {
    if (this.#done) return this.last!;
    const event = { ts: new Date().toISOString(), ...e };
    if (o.replace && this.events.length) this.events[this.events.length - 1] = event;
    else this.events.push(event);
    if (event.ready || event.failed) this.#done = true;
    for (const fn of this.#listeners) fn(event);
    if (this.#done) this.#listeners.clear();
    return event;
  }

  /** Every event from the first, ending after the final one. */
  async *follow(signal?: AbortSignal): AsyncGenerator<SpawnEvent> {
    let i = 0;
    const queue: SpawnEvent[] = [];
    let wake: (() => void) | null = null;
    const fn = (e: SpawnEvent) => { queue.push(e); wake?.(); };
    const replay = this.events.slice();
    if (!this.#done) this.#listeners.add(fn);
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      for (; i < replay.length; i++) yield replay[i];
      if (replay.some((e) => e.ready || e.failed)) return;
      while (!signal?.aborted) {
        if (!queue.length) await new Promise<void>((r) => { wake = r; });
        wake = null;
        while (queue.length) {
          const e = queue.shift()!;
          yield e;
          if (e.ready || e.failed) return;
        }
      }
    } finally {
      this.#listeners.delete(fn);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
