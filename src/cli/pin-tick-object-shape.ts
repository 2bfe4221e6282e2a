/** @module Keeps one `process.nextTick` entry alive for the life of the process, so that every later one is built
 *  by V8's fast path. Imported first by the process entry, before anything else has run.
 *
 *  Why: `nextTick` builds each queue entry as an object literal with computed (symbol) keys, and V8 (Node 24)
 *  keeps the shapes ("maps") that literal passes through only while some entry is alive. A full garbage
 *  collection while the queue is empty frees them; the next entry gets new ones, and after a few such
 *  collections the literal's inline caches give up (megamorphic) and every later entry is built in the runtime.
 *  A gateway collects fully several times while it starts, so every proxied request paid for that: six to eight
 *  `nextTick`s per request (streams, the HTTP server), about 3 µs of CPU per request on this kind of machine,
 *  where the floor proxy, which starts with fewer collections, did not. One entry kept alive keeps the shapes,
 *  and the caches stay monomorphic (test/unit/pin-tick-object-shape.test.ts shows both states).
 *
 *  The entry is caught by an async hook: it cannot be rebuilt (its context-frame key is a symbol private to
 *  Node's task queue), and the other public way to see one, executionAsyncResource(), makes Node send every
 *  native callback (each socket read) through a JavaScript trampoline from then on. Enabling any hook installs
 *  V8 promise hooks, and that turns off for good one of V8's fast paths for promises and async functions (its
 *  "promise hook protector"), also after the hook is disabled: measured here, an async call with three awaits
 *  took 193 instead of 173 ns. The proxied path uses no promises per request or message; the hub uses a few per
 *  request, well under a microsecond in all. */
import { createHook } from 'node:async_hooks';

let kept: object | undefined;

const hook = createHook({
  init(_asyncId, type, _triggerAsyncId, resource) {
    if (type === 'TickObject') kept ??= resource;
  },
});
hook.enable();
process.nextTick(() => {});
hook.disable();

/** The entry kept (for the test); undefined if Node stopped reporting them to async hooks. */
export const pinnedTickObject = (): object | undefined => kept;
