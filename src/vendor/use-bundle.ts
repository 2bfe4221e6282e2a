/** @module At start: when the dependency bundle matches what is installed, our own modules' imports of the
 *  bundled packages resolve to it (one file instead of ~180). Only imports made by our code are redirected:
 *  a package left in node_modules that requires, say, undici keeps getting node_modules' undici as CommonJS.
 *  KICLOUD_NO_BUNDLE=1 turns it off (to debug with node_modules' sources). */
import { registerHooks } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleIsFresh, BUNDLED_PACKAGES, DEFAULT_BUNDLE_DIR, ROOT, shimFile } from './bundle-spec.ts';

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
      // ESM imports only: a require() expects module.exports, which an ES module shim is not.
      if (shim && parent && parent.startsWith(ownCode) && !parent.includes('/node_modules/') && context.conditions?.includes('import')) {
        return { url: shim, shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
  return 'bundle';
}
