/** src/cli/pin-tick-object-shape.ts, checked in a fresh Node each time: after full collections with the nextTick
 *  queue empty (as while the gateway starts), the inline caches of the literal that `process.nextTick` builds its
 *  entries with are megamorphic without the pin and stay monomorphic with it. Read from V8's own debug print of
 *  the function's feedback (`--allow-natives-syntax`). If the case without the pin stops going megamorphic, a
 *  newer V8 keeps those shapes itself and the pin can go. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/gateway.ts';

const PIN = pathToFileURL(path.join(ROOT, 'src/cli/pin-tick-object-shape.ts')).href;

/** The states of nextTick's literal-definition caches after 12 full collections with the queue empty. */
function literalCacheStates(pin: boolean): { states: string[]; pinned: string } {
  const code = `
    let pinned = 'not imported';
    if (${pin}) pinned = typeof (await import(${JSON.stringify(PIN)})).pinnedTickObject();
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 50; j++) process.nextTick(() => {});
      await new Promise((resolve) => setImmediate(resolve));
      globalThis.gc();
    }
    process.stderr.write('pinned: ' + pinned + '\\n');
    new Function('f', '%DebugPrint(f)')(process.nextTick);`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--disable-warning=ExperimentalWarning',
    '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
  if (r.status !== 0) throw new Error(`probe failed (${r.status}): ${r.stderr}`);
  const states = [...r.stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]);
  return { states, pinned: /pinned: (.*)/.exec(r.stderr)?.[1] ?? '' };
}

t.test('without the pin, the collections leave nextTick building its entries in the runtime', async (t) => {
  const { states } = literalCacheStates(false);
  t.ok(states.length >= 3, `V8's print still lists the literal's caches (found ${states.length}); if not, this probe needs updating`);
  t.ok(states.includes('MEGAMORPHIC'), `megamorphic without the pin (${states.join(', ')}); if this fails, V8 keeps the shapes itself now and the pin can go`);
});

t.test('with the pin, every cache of that literal stays monomorphic', async (t) => {
  const { states, pinned } = literalCacheStates(true);
  t.equal(pinned, 'object', 'a tick entry is kept');
  t.ok(states.length >= 3, `the literal's caches are listed (found ${states.length})`);
  t.same(states.filter((s) => s !== 'MONOMORPHIC'), [], `all monomorphic: ${states.join(', ')}`);
});

t.test('the process entry imports the pin before anything else', async (t) => {
  const entry = readFileSync(path.join(ROOT, 'src/cli/entry.ts'), 'utf8');
  const firstImport = /^import .*$/m.exec(entry)?.[0] ?? '';
  t.match(firstImport, /'\.\/pin-tick-object-shape\.ts'/, `first import of src/cli/entry.ts: ${firstImport}`);
});
