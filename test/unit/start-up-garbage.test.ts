/** The collection after the start (src/start-up-garbage.ts): it shrinks a young generation that garbage has
 *  grown, which a regular collection does not, and leaves no gc() behind for contexts made later. */
import t from 'tap';
import { getHeapSpaceStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { collectStartUpGarbage } from '../../src/start-up-garbage.ts';

const youngBytes = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

/** Short-lived objects, some of which survive a while, as a start makes them: V8 grows the young generation. */
function allocateLikeAStart(): number {
  let kept: object[] = [], sum = 0;
  for (let i = 0; i < 400_000; i++) {
    const o = { i, s: `item ${i}`, a: [i, i + 1, i + 2] };
    kept.push(o);
    if (kept.length > 20_000) { sum += kept.length; kept = []; }
  }
  return sum + kept.length;
}

t.test('the young generation is shrunk back after a start grew it', async (t) => {
  allocateLikeAStart();
  const grown = youngBytes();
  await collectStartUpGarbage();
  const after = youngBytes();
  t.ok(after < grown, `young generation ${grown >> 10} KiB → ${after >> 10} KiB`);
});

t.test('no gc() is left for contexts made later, nor on the global object', async (t) => {
  await collectStartUpGarbage();
  t.equal(runInNewContext('typeof gc'), 'undefined');
  t.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});
