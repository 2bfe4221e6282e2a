/** @module Which dependencies the gateway loads from one pre-built bundle, where that bundle lives, and how a
 *  bundle is known to match what is installed. Loading ~180 files of fastify, pino, undici, … one by one costs
 *  more than everything else in a cold start (module resolution, stat and realpath per file); a few files do
 *  not: one per package, plus chunks of code they share. Our own TypeScript is never bundled: Node runs it
 *  directly (type stripping). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DEFAULT_BUNDLE_DIR = path.join(ROOT, '.build/vendor');

/** Bare specifiers our own code imports (statically or lazily) on the `serve` path. A package missing here still
 *  works, loaded from node_modules; the start-imports test names any that a static import chain loads that way
 *  (lazy imports, like fastify's form-body plugin, it does not see). */
export const BUNDLED_PACKAGES = ['fastify', '@fastify/formbody', 'pino', 'jose', 'undici', 'yaml', 'prom-client'];

/** Bump when the bundle's layout or build options change, so old bundles count as stale. */
const FORMAT = 2;

/** Identifies the installed production dependencies: npm rewrites node_modules/.package-lock.json on every
 *  install, so a bundle built before an `npm ci` or `npm install` that changed them is not used. Dev-only entries
 *  are left out, so a bundle built with the dev dependencies installed (esbuild is one) stays valid after
 *  `npm prune --omit=dev`, as in the Docker image. */
export function installedStamp(): string | null {
  let lock: { packages?: Record<string, { dev?: boolean }> };
  // No hidden lock file (no npm install, or another package manager): nothing to compare a bundle with.
  try { lock = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/.package-lock.json'), 'utf8')); } catch { return null; }
  const hash = createHash('sha256').update(`${FORMAT}\n${BUNDLED_PACKAGES.join(',')}\n${process.versions.node.split('.')[0]}\n`);
  for (const [where, entry] of Object.entries(lock.packages ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!entry.dev) hash.update(`${where}\0${JSON.stringify(entry)}\n`);
  }
  return hash.digest('hex');
}

export const STAMP_FILE = 'stamp.json';
export const shimFile = (pkg: string): string => `${pkg.replace('/', '__')}.mjs`;
/** The package's code (with chunk files shared between packages) that its shim re-exports. */
export const entryFile = (pkg: string): string => `code-${pkg.replace('@', '').replace('/', '__')}.mjs`;

export function bundleIsFresh(dir = DEFAULT_BUNDLE_DIR): boolean {
  const installed = installedStamp();
  if (installed === null) return false;
  try { return JSON.parse(readFileSync(path.join(dir, STAMP_FILE), 'utf8')).stamp === installed; } catch { return false; }
}
