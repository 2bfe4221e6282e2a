/** What loading the gateway costs at start, checked in a fresh Node for each case:
 *  - without the dependency bundle, the modules `serve` pulls in must not load Node's bundled undici (an ESM
 *    `import` of `node:http` does, through the facade's lazy `WebSocket` getter: 70 ms of a cold start on a
 *    slow core), nor the clients of backends the default config does not use, nor undici (loaded with the
 *    first server: src/undici.ts), nor TypeBox (the config schema is compiled ahead of time);
 *  - with it (src/vendor/), every bundled package comes from the bundle: nothing of theirs from node_modules,
 *    and undici, when the first server loads it, from the bundle too; the built-ins that bundled files require
 *    at load but use only for features the gateway does not use (src/vendor/lazy-builtins.ts) stay unloaded,
 *    and still work when used;
 *  - a bundle older than node_modules, or KICLOUD_NO_BUNDLE=1, is not used;
 *  - bin/kicloud's entry registers the redirect before it imports the CLI (else the bundle goes unused). */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildBundle } from '../../src/vendor/build.ts';
import { bundleIsFresh, BUNDLED_PACKAGES, quickStamp, STAMP_FILE } from '../../src/vendor/bundle-spec.ts';
import { ROOT } from '../helpers/gateway.ts';

interface Loaded { bundle: string; builtins: string[]; urls: string[]; passedOn: number }

/** Imports the gateway's modules (not `serve` itself) in a fresh Node and reports what was loaded. */
function probe(bundleDir: string | null, env: NodeJS.ProcessEnv = {}, then = ''): Loaded {
  const src = (p: string) => JSON.stringify(path.join(ROOT, p));
  const code = `
    import { registerHooks } from 'node:module';
    const urls = [];
    // Our relative imports that reached Node's resolver (this hook, registered first, is the chain's end); those
    // of src/vendor/ resolve before use-bundle.ts registers its hook.
    let passedOn = 0;
    registerHooks({
      load(url, context, nextLoad) { urls.push(url); return nextLoad(url, context); },
      resolve(specifier, context, nextResolve) {
        if ((specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.ts') && context.parentURL?.includes('/src/') && !context.parentURL.includes('/src/vendor/')) passedOn++;
        return nextResolve(specifier, context);
      },
    });
    const before = new Set(process.moduleLoadList);
    let bundle = 'not asked';
    if (${JSON.stringify(bundleDir)} !== null) bundle = (await import(${src('src/vendor/use-bundle.ts')})).useDependencyBundle(${JSON.stringify(bundleDir)});
    await import(${src('src/main.ts')});
    await import(${src('src/cli/main.ts')});
    ${then}
    process.stdout.write(JSON.stringify({ bundle, builtins: process.moduleLoadList.filter((m) => !before.has(m)), urls, passedOn }));`;
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code],
    { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Loaded;
}

const fromNodeModules = (l: Loaded, pkgs: string[]) =>
  l.urls.filter((u) => pkgs.some((p) => u.includes(`/node_modules/${p}/`)));

t.test('without the bundle: no bundled undici of Node, no Kubernetes or Redis client', async (t) => {
  const l = probe(null);
  t.ok(l.builtins.some((m) => m.includes('internal/http')), 'the probe saw the gateway load node:http');
  t.same(l.builtins.filter((m) => m.includes('deps/undici')), [], 'Node\'s bundled undici stays unloaded');
  t.same(fromNodeModules(l, ['@kubernetes', 'ioredis']), [], 'no Kubernetes or Redis client');
  t.ok(fromNodeModules(l, ['fastify']).length > 10, 'the libraries came from node_modules, file by file');
  t.same(fromNodeModules(l, ['undici', '@sinclair/typebox']), [], 'neither undici nor TypeBox');
});

t.test('with a fresh bundle, the bundled packages come from it and nothing of theirs from node_modules', async (t) => {
  const dir = path.join(mkdtempSync('/tmp/kicloud-bundle-'), 'vendor');
  t.teardown(() => rmSync(path.dirname(dir), { recursive: true, force: true }));
  await buildBundle(dir);

  const l = probe(dir);
  t.equal(l.bundle, 'bundle');
  t.ok(l.urls.some((u) => u.endsWith('/vendor/code-fastify.mjs')), 'fastify\'s code loaded from the bundle');
  t.same(l.urls.filter((u) => /\/(vendor|node_modules)\/.*undici/.test(u)), [], 'undici not loaded at all: it comes with the first server');
  t.same(fromNodeModules(l, BUNDLED_PACKAGES), [], 'no bundled package loaded from node_modules');
  // Whatever else start loads from node_modules shows up here: add it to BUNDLED_PACKAGES, or say why not.
  t.same(l.urls.filter((u) => u.includes('/node_modules/')).map((u) => u.slice(u.indexOf('/node_modules/'))),
    ['/node_modules/ajv/dist/runtime/ucs2length.js'], 'only the config validator\'s required helper (CommonJS, by require) besides');
  t.same(l.builtins.filter((m) => m.includes('deps/undici')), [], 'Node\'s bundled undici stays unloaded');
  t.same(l.builtins.filter((m) => /^NativeModule (http2|https|dns)$/.test(m)), [], 'node:http2, node:https and node:dns stay unloaded');
  // The hook resolves our own relative imports itself: the same files, each once, as Node's resolver finds.
  // (src/vendor/ aside: this probe imports use-bundle.ts itself, the one without the bundle does not.)
  const own = (x: Loaded) => x.urls.filter((u) => u.startsWith(pathToFileURL(path.join(ROOT, 'src')).href + '/') && !u.includes('/src/vendor/')).sort();
  t.ok(own(l).length > 50, `our modules were loaded (${own(l).length})`);
  const plain = probe(null);
  t.same(own(l), own(plain), 'our modules load from the URLs Node\'s own resolver gives them');
  t.ok(plain.passedOn > 50, `without the hook, Node resolved our relative imports (${plain.passedOn})`);
  t.equal(l.passedOn, 0, 'with it, none of them reached Node\'s resolver');

  // fastify's own HTTP/2 server, which the gateway never asks for, goes through the deferred node:http2 and the
  // listen address lookup through node:dns: both load on that first use and work.
  const used = probe(dir, {}, `
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ http2: true });
    app.get('/', async () => 'ok');
    await app.listen({ port: 0, host: 'localhost' });
    const http2 = await import('node:http2');
    const client = http2.connect('http://localhost:' + app.server.address().port);
    const body = await new Promise((resolve, reject) => {
      const req = client.request({ ':path': '/' });
      let data = ''; req.setEncoding('utf8'); req.on('data', (c) => { data += c; }); req.on('end', () => resolve(data)); req.on('error', reject);
    });
    client.close(); await app.close();
    if (app.server.constructor.name !== 'Http2Server' || body !== 'ok') throw new Error('HTTP/2 through the deferred module failed: ' + body);`);
  t.ok(used.builtins.includes('NativeModule http2') && used.builtins.includes('NativeModule dns'), 'used, they load, and an HTTP/2 request through fastify works');

  const first = probe(dir, {}, `await (await import(${JSON.stringify(path.join(ROOT, 'src/undici.ts'))})).loadUndici();`);
  t.ok(first.urls.some((u) => u.endsWith('/vendor/code-undici.mjs')), 'undici, loaded for the first server, comes from the bundle');
  t.same(fromNodeModules(first, BUNDLED_PACKAGES), [], 'and nothing of it from node_modules');

  t.equal(probe(dir, { KICLOUD_NO_BUNDLE: '1' }).bundle, 'off', 'KICLOUD_NO_BUNDLE=1 turns it off');

  const stampFile = path.join(dir, STAMP_FILE);
  const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
  t.equal(stamp.quick, quickStamp(), 'the build recorded the lock file\'s identity as it is: starts take the quick path');
  writeFileSync(stampFile, JSON.stringify({ ...stamp, quick: 'the lock file was touched since' }));
  t.equal(probe(dir).bundle, 'bundle', 'a lock file touched but unchanged: the full comparison still finds the bundle fresh');
  writeFileSync(stampFile, JSON.stringify({ ...stamp, stamp: 'built against another node_modules', quick: 'another lock file' }));
  const stale = probe(dir);
  t.equal(stale.bundle, 'stale or missing', 'a bundle built for other node_modules is not used');
  t.same(stale.urls.filter((u) => u.includes(dir)), [], 'nothing loaded from it');
  rmSync(dir, { recursive: true });
  t.equal(probe(dir).bundle, 'stale or missing', 'nor a missing one');
});

t.test('the CLI entry points the imports at the bundle before loading the CLI', async (t) => {
  if (!bundleIsFresh()) await buildBundle();      // ./scripts/test has built it; a bare `npx tap` may not have
  const recorder = 'data:text/javascript,' + encodeURIComponent(`import { registerHooks } from 'node:module';
    registerHooks({ load(url, context, nextLoad) { if (url.includes('/node_modules/') || url.includes('/.build/vendor/')) process.stderr.write('LOADED ' + url + '\\n'); return nextLoad(url, context); } });`);
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--import', recorder, path.join(ROOT, 'src/cli/entry.ts'), 'config', '--help'],
    { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.equal(r.status, 0, r.stderr);
  const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
  t.ok(loaded.some((u) => u.endsWith('/.build/vendor/yaml.mjs')), 'the config loader\'s yaml came from the bundle');
  t.same(loaded.filter((u) => u.includes('/node_modules/yaml/')), [], 'and not from node_modules');
});
