/** @module Login rate limiting: at most `attempts` failures per key within `windowMs`; a success clears the key.
 *  Keys are `user|address` and `address`, so one address cannot sweep many names and one name cannot be
 *  guessed from many addresses faster than the limit. In memory: a restart resets it, which is acceptable. */
export class RateLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #attempts: number;
  readonly #windowMs: number;

  constructor(attempts: number, windowMs: number) {
    this.#attempts = attempts;
    this.#windowMs = windowMs;
  }

  /** Seconds until the key may try again, or 0 if it may try now. */
  retryAfter(key: string, now = Date.now()): number {
    const list = this.#recent(key, now);
    if (list.length < this.#attempts) return 0;
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
