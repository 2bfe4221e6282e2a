/** @module Who is in which group, in memory: scope checks are synchronous (one of them runs on the proxy's path
 *  for every request), and a `!group=NAME` filter grants what it names to that group's members and their
 *  servers. Reloaded from the store after every change made through this gateway; groups are few, so a reload
 *  reads them all. (Replicas sharing a store will need the store to announce changes: the Redis backend.) */
import type { Group, Store } from '../store/store.ts';

const NONE: readonly string[] = Object.freeze([]);

export class GroupIndex {
  readonly #store: Store;
  #byUser = new Map<string, readonly string[]>();

  constructor(store: Store) { this.#store = store; }

  /** The groups `user` belongs to, sorted. */
  of = (user: string): readonly string[] => this.#byUser.get(user) ?? NONE;

  async reload(): Promise<Group[]> {
    const groups = await this.#store.groups.list();
    const byUser = new Map<string, string[]>();
    for (const g of groups) for (const u of g.users) byUser.set(u, [...(byUser.get(u) ?? []), g.name]);
    this.#byUser = new Map([...byUser].map(([u, list]) => [u, Object.freeze(list.sort())]));
    return groups;
  }
}
