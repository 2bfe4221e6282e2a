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

export interface UpgradeJudge {
  /** The principal as its credential now stands (store, not caches), or null. */
  recheck(p: Principal): Promise<Principal | null>;
  /** Whether that principal may open the server. */
  allows(p: Principal, key: ServerKey): boolean;
  onClosed(closed: OpenUpgrade[]): void;
  /** A recheck that failed: its upgrades are closed (the client reconnects and is judged afresh). */
  onError(err: unknown, u: OpenUpgrade): void;
}

/** setTimeout's longest delay (~24.8 days); a later expiry wakes the sweep early, which then sets it again. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class OpenUpgrades {
  readonly #open = new Set<OpenUpgrade>();
  readonly #judge: UpgradeJudge;
  #generation = 0;
  #sweepAt = Infinity;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(judge: UpgradeJudge) { this.#judge = judge; }

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

  /** Never rejects. Upgrades opened with one credential share its principal object (the auth cache hands out
   *  one per credential), so a tab's several WebSockets cost one store read, and keep sharing the fresh one. */
  async #judgeAll(list: OpenUpgrade[]): Promise<void> {
    // Read before any await: an overlapping judgement may replace an upgrade's principal meanwhile.
    const asked = list.map((u) => u.principal);
    const fresh = new Map<Principal, Promise<Principal | null>>();
    for (const p of asked) if (!fresh.has(p)) fresh.set(p, this.#judge.recheck(p));
    const closed: OpenUpgrade[] = [];
    for (const [i, u] of list.entries()) {
      let p: Principal | null;
      try {
        p = await fresh.get(asked[i])!;
      } catch (err) {
        this.#judge.onError(err, u);
        p = null;
      }
      if (p && this.#judge.allows(p, u.key)) {
        u.principal = p;
        this.#sweepBy(p.expiresMs);
      } else if (this.#open.has(u)) {
        this.#open.delete(u);
        u.close();
        closed.push(u);
      }
    }
    if (closed.length) this.#judge.onClosed(closed);
  }

  #sweepBy(expiresMs: number | undefined): void {
    if (expiresMs === undefined || !(expiresMs < this.#sweepAt)) return;     // NaN never arms the timer
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
      else if (at < next) next = at;
    }
    if (next !== Infinity) this.#sweepBy(next);
    if (expired.length) void this.#judgeAll(expired);
  };
}
