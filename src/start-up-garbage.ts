/** @module One memory-reducing collection once the start is over. Reading the config, opening the store,
 *  adopting servers and loading undici allocate a few MB that die at once, and V8 grows its young generation
 *  to hold them. An idle gateway allocates so little afterwards that V8 sees no reason to collect for hours,
 *  so those pages stay resident: 8 MB of the idle RSS measured here (about 91 → 83 MiB). A regular collection,
 *  young or full, frees the objects but keeps the grown space; the "last-resort" flavour (what V8 does on an
 *  embedder's low-memory notification) also shrinks the young generation back. It stops the gateway once, for
 *  about 60 ms on this kind of machine, a second after it starts listening; under load the young generation
 *  grows again as it needs. */
type Collect = (options: { type: 'major'; flavor: 'last-resort' }) => void;

export async function collectStartUpGarbage(): Promise<void> {
  // Loaded here, not at start: node:v8 is not otherwise loaded, and a cold start pays for each module.
  const [{ setFlagsFromString }, { runInNewContext }] = await Promise.all([import('node:v8'), import('node:vm')]);
  // V8 gives a context its gc() only while --expose-gc is set. The flag is set for the moment it takes to make
  // one context, not on the command line: there it cost 34 ms of every cold start here (paired runs, 390 vs
  // 356 ms; this way: 352 vs 358). Cleared at once so that the flags are again those the gateway started with.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as Collect;
  setFlagsFromString('--no-expose-gc');
  gc({ type: 'major', flavor: 'last-resort' });
}
