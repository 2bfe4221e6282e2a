/** @module Builds the dependency bundle (see bundle-spec.ts) with esbuild: per package one ESM file of its code
 *  (code that packages share goes to chunk files), and per package a small shim module that re-exports exactly the names Node itself gives an
 *  `import` of that package, so our code sees the same exports either way (checked before the bundle is kept).
 *  Usage: node src/vendor/build.ts [--if-stale] [--out DIR]. Written to a temporary folder, then renamed into
 *  place: a gateway starting meanwhile sees the old bundle or none, never half of one. */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { lazyBuiltins } from './lazy-builtins.ts';
import { bundleIsFresh, BUNDLED_PACKAGES, DEFAULT_BUNDLE_DIR, entryFile, installedStamp, quickStamp, ROOT, shimFile, STAMP_FILE } from './bundle-spec.ts';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export async function buildBundle(dir = DEFAULT_BUNDLE_DIR): Promise<void> {
  // Taken before bundling and compared after: an npm install meanwhile must not be stamped onto older code.
  const stamp = installedStamp(), quick = quickStamp();
  if (stamp === null) throw new Error('node_modules/.package-lock.json is missing: install with npm first');
  const { build } = await import('esbuild');
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await buildInto(tmp, build);
    if (installedStamp() !== stamp) throw new Error('node_modules changed during the build; run it again');
    writeFileSync(path.join(tmp, STAMP_FILE), JSON.stringify({ stamp, quick, built: new Date().toISOString(), packages: BUNDLED_PACKAGES }));
    swapIn(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The old bundle is renamed aside, then the new one in: a start in between finds none and uses node_modules.
 *  When another build got there first (the rename fails), its bundle is as good as ours. */
function swapIn(tmp: string, dir: string): void {
  const aside = `${dir}.old-${process.pid}`;
  try { renameSync(dir, aside); } catch { /* none yet, or another build moved it */ }
  try { renameSync(tmp, dir); } catch (err) { if (!bundleIsFresh(dir)) throw err; }
  rmSync(aside, { recursive: true, force: true });
}

async function buildInto(tmp: string, build: typeof import('esbuild').build): Promise<void> {
  // One entry per package, so that each loads only when imported (undici: with the first server, not at start);
  // code that several share goes to chunk files. The entries are .mjs files so esbuild applies Node's rules to
  // CommonJS packages (default = module.exports).
  const src = path.join(tmp, 'src');
  mkdirSync(src);
  const entries = BUNDLED_PACKAGES.map((p) => {
    const entry = path.join(src, entryFile(p));
    writeFileSync(entry, `export * as pkg from ${JSON.stringify(p)};\n`);
    return entry;
  });
  await build({
    entryPoints: entries, outdir: tmp, outExtension: { '.js': '.mjs' }, splitting: true, chunkNames: 'chunk-[hash]', bundle: true, platform: 'node', format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`, nodePaths: [path.join(ROOT, 'node_modules')], logLevel: 'warning',
    // Whitespace and syntax minified (names kept, so stacks still name functions) and ASCII only: V8 keeps a
    // source with one non-ASCII character (a comment's "’") as a two-byte string, 40 ms more to read here.
    // Licence comments go to a .LEGAL.txt file beside each output.
    minifyWhitespace: true, minifySyntax: true, charset: 'ascii', legalComments: 'external',
    plugins: [lazyBuiltins()],
    // CommonJS code inside an ES module still calls require() for Node's built-ins and reads __filename.
    banner: { js: "import { createRequire as __kicloudRequire } from 'node:module'; import { fileURLToPath as __kicloudPath } from 'node:url';\n" +
      'const require = __kicloudRequire(import.meta.url); const __filename = __kicloudPath(import.meta.url); const __dirname = __filename.slice(0, __filename.lastIndexOf("/"));' },
  });
  rmSync(src, { recursive: true });
  for (const file of readdirSync(tmp).filter((f) => f.endsWith('.mjs'))) {
    if (/[^\x00-\x7f]/.test(readFileSync(path.join(tmp, file), 'latin1'))) throw new Error(`bundle check: ${file} is not ASCII`);
  }
  for (const pkg of BUNDLED_PACKAGES) {
    const names = Object.keys(await import(pkg));
    // Node >= 23 also exports a CommonJS package's module.exports under the name "module.exports".
    const odd = names.filter((n) => n !== 'default' && n !== 'module.exports' && !IDENTIFIER.test(n));
    if (odd.length) throw new Error(`${pkg} exports names a shim cannot re-export: ${odd.join(', ')}`);
    const named = names.filter((n) => n !== 'default' && IDENTIFIER.test(n));
    writeFileSync(path.join(tmp, shimFile(pkg)), `// ${pkg}, from the bundle: the names Node gives an import of it.\n` +
      `import { pkg } from './${entryFile(pkg)}';\n` +
      (names.includes('default') ? 'export default pkg.default;\n' : '') +
      (names.includes('module.exports') ? 'const moduleExports = pkg.default;\nexport { moduleExports as "module.exports" };\n' : '') +
      (named.length ? `export const { ${named.join(', ')} } = pkg;\n` : ''));
  }
  await checkShims(tmp);
}

/** Each shim exports the same names, of the same kinds, as the package itself. */
async function checkShims(dir: string): Promise<void> {
  for (const pkg of BUNDLED_PACKAGES) {
    const real: Record<string, unknown> = await import(pkg);
    const shim: Record<string, unknown> = await import(pathToFileURL(path.join(dir, shimFile(pkg))).href);
    // Name, kind and own keys of every export: a default bound to module.exports.default instead of
    // module.exports, say, shows up as different keys.
    const kinds = (ns: Record<string, unknown>) => Object.keys(ns).sort().map((k) => {
      const v = ns[k];
      return `${k}:${typeof v}${v && (typeof v === 'object' || typeof v === 'function') ? `{${Object.keys(v).sort().join(',')}}` : ''}`;
    }).join(' ');
    if (kinds(real) !== kinds(shim)) throw new Error(`bundle check: ${pkg} exports differ\n  node_modules: ${kinds(real)}\n  bundle:       ${kinds(shim)}`);
  }
}

// Run as a script (import.meta.main is Node >= 24.2; the scripts may run this on Node 22).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'if-stale': { type: 'boolean' }, out: { type: 'string' } } });
  const dir = path.resolve(values.out ?? DEFAULT_BUNDLE_DIR);
  if (values['if-stale'] && bundleIsFresh(dir)) process.exit(0);
  const t0 = performance.now();
  await buildBundle(dir);
  process.stderr.write(`dependency bundle built in ${dir} (${Math.round(performance.now() - t0)} ms)\n`);
}
