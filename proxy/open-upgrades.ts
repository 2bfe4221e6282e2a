/** @module The relayed upgrades (WebSockets) open now, each with who opened it for which server. Credentials are
 *  checked once, at the upgrade, by the proxy and by the user's server; without this, a session ended by logout,
 *  a revoked token, a demoted admin or a server's owner leaving a group would keep every terminal and kernel
 *  connection it had opened, for as long as the tab stays open (JupyterHub and CHP keep them). A change that may
 *  withdraw access calls `recheck`; the upgrades it may affect are judged again and the ones that fail closed.
 *  A session or token that expires is judged when it does: one timer, set for the earliest expiry. */
import type { Principal } from '../src/auth/authenticator.ts';
import type { ServerKey } from '../src/store/store.ts';

export interface OpenUpgrade {
  /** Who opened it; replaced by what a recheck finds, so a later check starts from current scopes. */
  principal: Principal;
  readonly key: ServerKey;
  /** Ends the relay, both sockets. */
  readonly close: () => void;
}

/** The principal as it now stands if it may still use the upgrade's server, else null. */
export type Judge = (u: OpenUpgrade) => Promise<Principal | null>;

/** setTimeout's longest delay (~24.8 days); a later expiry wakes the sweep early, which then sets it again. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class OpenUpgrades {
  readonly #open = new Set<OpenUpgrade>();
  readonly #judge: Judge;
  readonly #onClosed: (closed: OpenUpgrade[]) => void;
  #generation = 0;
  #sweepAt = Infinity;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(judge: Judge, onClosed: (closed: OpenUpgrade[]) => void) {
    this.#judge = judge;
    this.#onClosed = onClosed;
  }

  /** Counts rechecks. Take it before authenticating an upgrade and pass it to `add`: a recheck that ran in
   *  between could not see the upgrade, so it is judged as it opens. */
  get generation(): number { return this.#generation; }
  get size(): number { return this.#open.size; }

  add(u: OpenUpgrade, generationSeen: number): void {
    this.#open.add(u);
    if (generationSeen !== this.#generation) void this.#judgeAll([u]);
    else this.#sweepBy(u.principal.expiresMs);
  }

  remove(u: OpenUpgrade): void { this.#open.delete(u); }

  /** Judges again every open upgrade `affected` picks; resolves when those that failed are closed. */
  recheck = (affected: (u: OpenUpgrade) => boolean): Promise<void> => {
    this.#generation++;
    const picked: OpenUpgrade[] = [];
    for (const u of this.#open) if (affected(u)) picked.push(u);
    return picked.length ? this.#judgeAll(picked) : Promise.resolve();
  };

  async #judgeAll(list: OpenUpgrade[]): Promise<void> {
    const verdicts = await Promise.all(list.map((u) => this.#judge(u).catch(() => null)));
    const closed: OpenUpgrade[] = [];
    list.forEach((u, i) => {
      const p = verdicts[i];
      if (p) {
        u.principal = p;
        this.#sweepBy(p.expiresMs);
      } else if (this.#open.has(u)) {
        this.#open.delete(u);
        u.close();
        closed.push(u);
      }
    });
    if (closed.length) this.#onClosed(closed);
  }

  #sweepBy(expiresMs: number | undefined): void {
    if (expiresMs === undefined || expiresMs >= this.#sweepAt) return;
    clearTimeout(this.#sweepTimer);
    this.#sweepAt = expiresMs;
    this.#sweepTimer = setTimeout(this.#sweep, Math.min(Math.max(0, expiresMs - Date.now()), MAX_DELAY_MS));
    this.#sweepTimer.unref();
  }

  /** Judges the upgrades whose credential has expired and sets the timer for the next expiry. */
  #sweep = (): void => {
    this.#sweepAt = Infinity;
    const now = Date.now();
    const expired: OpenUpgrade[] = [];
    let next = Infinity;
    for (const u of this.#open) {
      const at = u.principal.expiresMs ?? Infinity;
      if (at <= now) expired.push(u);
      else next = Math.min(next, at);
    }
    if (next !== Infinity) this.#sweepBy(next);
    if (expired.length) void this.#judgeAll(expired);
  };
}
