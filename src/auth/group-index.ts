/** @module Who is in which group, in memory: scope checks are synchronous (one of them runs on the proxy's path
 *  for every request), and a `!group=NAME` filter grants what it names to that group's members and their
 *  servers. Reloaded from the store after every change made through this gateway; groups are few, so a reload
 *  reads them all. (Replicas sharing a store will need the store to announce changes: the Redis backend.) */
import type { Group, Store } from '../store/store.ts';

const NONE: readonly string[] = Object.freeze([]);

export class GroupIndex {
  readonly #store: Store;
  #byUser = new Map<string, readonly string[]>();
  readonly #listeners: ((changed: ReadonlySet<string>) => void)[] = [];

  constructor(store: Store) { this.#store = store; }

  /** The groups `user` belongs to, sorted. */
  of = (user: string): readonly string[] => this.#byUser.get(user) ?? NONE;

  /** Called after a reload with the users whose groups changed: a `!group=` filter may now grant or withdraw
   *  access to them and their servers. */
  onChange(listener: (changed: ReadonlySet<string>) => void): void { this.#listeners.push(listener); }

  async reload(): Promise<Group[]> {
    const groups = await this.#store.groups.list();
    const byUser = new Map<string, string[]>();
    for (const g of groups) for (const u of g.users) byUser.set(u, [...(byUser.get(u) ?? []), g.name]);
    const before = this.#byUser;
    this.#byUser = new Map([...byUser].map(([u, list]) => [u, Object.freeze(list.sort())]));
    const changed = new Set<string>();
    for (const u of new Set([...before.keys(), ...this.#byUser.keys()])) if (String(before.get(u)) !== String(this.#byUser.get(u))) changed.add(u);
    if (changed.size) for (const listener of this.#listeners) listener(changed);
    return groups;
  }
}
