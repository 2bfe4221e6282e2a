/** @module Login rate limiting: at most `attempts` failures per key within `windowMs`; a success clears the key.
 *  The hub limits `user|address` tightly and `address` alone ten times looser, so one address cannot sweep many
 *  names, yet a centre's users behind one NAT do not lock each other out. In memory: a restart resets it. */
export class RateLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Seconds until the key may try again after `attempts` failures, or 0 if it may try now. */
  retryAfter(key: string, attempts: number, now = Date.now()): number {
    const list = this.#recent(key, now);
    if (list.length < attempts) return 0;
    return Math.ceil((list[0] + this.#windowMs - now) / 1000);
  }

  fail(key: string, now = Date.now()): void {
    const list = this.#recent(key, now);
    list.push(now);
    this.#failures.set(key, list);
    if (this.#failures.size > 100_000) this.#sweep(now);
  }

  clear(key: string): void { this.#failures.delete(key); }

  #recent(key: string, now: number): number[] {
    return (this.#failures.get(key) ?? []).filter((t) => t > now - this.#windowMs);
  }

  #sweep(now: number): void {
    for (const [k, list] of this.#failures) if (!list.some((t) => t > now - this.#windowMs)) this.#failures.delete(k);
  }
}
