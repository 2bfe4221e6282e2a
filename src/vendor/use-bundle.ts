/** @module At start: when the dependency bundle matches what is installed, our own modules' imports of the
 *  bundled packages resolve to it (one file instead of ~180). Only imports made by our code are redirected:
 *  a package left in node_modules that requires, say, undici keeps getting node_modules' undici as CommonJS.
 *  Our modules' relative imports of each other resolve here too, without Node's resolver.
 *  KICLOUD_NO_BUNDLE=1 turns it off (to debug with node_modules' sources). */
import { registerHooks } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleIsFresh, BUNDLED_PACKAGES, DEFAULT_BUNDLE_DIR, ROOT, shimFile } from './bundle-spec.ts';

const RELATIVE_TS = /^\.\.?\/[^?#]*\.ts$/;

export type BundleUse = 'bundle' | 'off' | 'stale or missing';

export function useDependencyBundle(dir = DEFAULT_BUNDLE_DIR, env = process.env): BundleUse {
  if (env.KICLOUD_NO_BUNDLE === '1') return 'off';
  if (!bundleIsFresh(dir)) return 'stale or missing';
  const shims = new Map(BUNDLED_PACKAGES.map((p) => [p, pathToFileURL(path.join(dir, shimFile(p))).href]));
  const ownCode = pathToFileURL(ROOT).href + '/';
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const shim = shims.get(specifier);
      const parent = context.parentURL;
      const fromOurCode = parent !== undefined && parent.startsWith(ownCode) && !parent.includes('/node_modules/');
      // ESM imports only: a require() expects module.exports, which an ES module shim is not.
      if (shim && fromOurCode && context.conditions?.includes('import')) {
        return { url: shim, shortCircuit: true };
      }
      // Our own modules import each other by relative path with the extension: the URL is the answer. Node's
      // own resolver would stat and realpath each one, and its path code gets hot enough that V8's optimising
      // compiler runs at start: 5 MB more of Node's binary resident in an idle gateway (4.5 MiB of its RSS)
      // for a function used once. The same URL as Node's while nothing under src/ is a symlink (Node would give
      // the link's target). A missing file still fails when it is loaded (ENOENT naming it, not Node's
      // ERR_MODULE_NOT_FOUND naming the importer too).
      if (fromOurCode && RELATIVE_TS.test(specifier)) {
        return { url: new URL(specifier, parent).href, shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
  return 'bundle';
}
