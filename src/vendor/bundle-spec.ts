/** @module Which dependencies the gateway loads from one pre-built bundle, where that bundle lives, and how a
 *  bundle is known to match what is installed. Loading ~180 files of fastify, pino, undici, … one by one costs
 *  more than everything else in a cold start (module resolution, stat and realpath per file); a few files do
 *  not: one per package, plus chunks of code they share. Our own TypeScript is never bundled: Node runs it
 *  directly (type stripping). */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DEFAULT_BUNDLE_DIR = path.join(ROOT, '.build/vendor');

/** Bare specifiers our own code imports (statically or lazily) on the `serve` path. A package missing here still
 *  works, loaded from node_modules; the start-imports test names any that a static import chain loads that way
 *  (lazy imports, like fastify's form-body plugin, it does not see). */
export const BUNDLED_PACKAGES = ['fastify', '@fastify/formbody', 'pino', 'jose', 'undici', 'yaml', 'prom-client'];

/** Bump when the bundle's layout or build options change, so old bundles count as stale. */
const FORMAT = 2;
const SPEC = `${FORMAT}\n${BUNDLED_PACKAGES.join(',')}\n${process.versions.node.split('.')[0]}`;
const LOCK_FILE = path.join(ROOT, 'node_modules/.package-lock.json');

/** Identifies the installed production dependencies: npm rewrites node_modules/.package-lock.json on every
 *  install, so a bundle built before an `npm ci` or `npm install` that changed them is not used. Dev-only entries
 *  are left out, so a bundle built with the dev dependencies installed (esbuild is one) stays valid after
 *  `npm prune --omit=dev`, as in the Docker image. */
export function installedStamp(): string | null {
  let lock: { packages?: Record<string, { dev?: boolean }> };
  // No hidden lock file (no npm install, or another package manager): nothing to compare a bundle with.
  try { lock = JSON.parse(readFileSync(LOCK_FILE, 'utf8')); } catch { return null; }
  const hash = createHash('sha256').update(`${SPEC}\n`);
  for (const [where, entry] of Object.entries(lock.packages ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!entry.dev) hash.update(`${where}\0${JSON.stringify(entry)}\n`);
  }
  return hash.digest('hex');
}

export const STAMP_FILE = 'stamp.json';
export const shimFile = (pkg: string): string => `${pkg.replace('/', '__')}.mjs`;
/** The package's code (with chunk files shared between packages) that its shim re-exports. */
export const entryFile = (pkg: string): string => `code-${pkg.replace('@', '').replace('/', '__')}.mjs`;

/** The lock file as the file system sees it (npm rewrites it on every install), with the bundle's spec: when it
 *  matches what the build recorded, the lock file cannot have changed, and reading and hashing its 140 kB
 *  (10 ms of every start here) is skipped. Anything else, a touch included, falls back to the full comparison. */
export function quickStamp(): string | null {
  try {
    const s = statSync(LOCK_FILE, { bigint: true });
    return `${SPEC}\n${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch { return null; }
}

export function bundleIsFresh(dir = DEFAULT_BUNDLE_DIR): boolean {
  let recorded: { stamp?: unknown; quick?: unknown };
  try { recorded = JSON.parse(readFileSync(path.join(dir, STAMP_FILE), 'utf8')); } catch { return false; }
  const quick = quickStamp();
  if (quick !== null && recorded.quick === quick) return true;
  const installed = installedStamp();
  return installed !== null && recorded.stamp === installed;
}
