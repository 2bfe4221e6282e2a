/** The start-slot line on its own (end to end: test/e2e/api.test.ts, concurrent_spawn_limit): first come first
 *  served, places told as the line moves, a wait left from the middle, a release that counts once. */
import t from 'tap';
import { SpawnSlots } from '../../src/spawn/spawn-slots.ts';

const tick = () => new Promise((r) => setImmediate(r));

t.test('at most `limit` at once; the others wait in order and hear their place', async (t) => {
  const slots = new SpawnSlots(2);
  const heard: Record<string, number[]> = { c: [], d: [], e: [] };
  const [a, b] = [await slots.acquire(new AbortController().signal, () => t.fail('a slot was free')),
    await slots.acquire(new AbortController().signal, () => t.fail('a slot was free'))];
  const granted: string[] = [];
  const wait = (name: string, signal = new AbortController().signal) =>
    slots.acquire(signal, (ahead) => heard[name].push(ahead)).then((release) => { granted.push(name); return release; });
  const c = wait('c');
  const dAbort = new AbortController();
  const d = wait('d', dAbort.signal);
  const e = wait('e');
  t.equal(slots.waiting, 3);
  t.same(heard, { c: [0], d: [1], e: [2] }, 'each told its place on joining');

  dAbort.abort(new Error('cancelled'));
  await t.rejects(d, /cancelled/, 'a wait ends with its signal');
  t.same(heard.e, [2, 1], 'the one behind moves up');
  t.same(heard.c, [0], 'the one ahead hears nothing');

  a();
  a();                                               // released twice: counts once
  await tick();
  t.same(granted, ['c'], 'the first in line gets the freed slot, only it');
  t.same(heard.e, [2, 1, 0]);
  b();
  await tick();
  t.same(granted, ['c', 'e']);
  t.equal(slots.waiting, 0);
  (await c)();
  (await e)();
  const f = await slots.acquire(new AbortController().signal, () => t.fail('free again'));
  t.type(f, 'function', 'all slots free again');
});

t.test('an aborted signal gets no slot', async (t) => {
  const slots = new SpawnSlots(1);
  const gone = new AbortController();
  gone.abort(new Error('stopped'));
  t.throws(() => slots.acquire(gone.signal, () => {}), /stopped/);
  const release = await slots.acquire(new AbortController().signal, () => {});
  t.type(release, 'function', 'and took none');
});
