/** @module Process entry for bin/kicloud: point our imports of the bundled dependencies at the pre-built bundle
 *  (src/vendor/), then run the command. main.ts is imported only after that, so its imports see the hook. */
import './pin-tick-object-shape.ts';           // first: before any full collection (see the module)
import { useDependencyBundle } from '../vendor/use-bundle.ts';

const bundle = useDependencyBundle();
if (bundle === 'stale or missing' && process.argv[2] === 'serve') {
  process.stderr.write('kicloud: the dependency bundle (.build/vendor) is missing or older than node_modules: loading from ' +
    'node_modules (a slower start); `npm run build` rebuilds it\n');
}
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
// A `serve` that failed after binding a port (the redirect listener is bound first) must exit, not hang on it.
if (code !== 0 && process.argv[2] === 'serve') process.exit(code);
if (process.argv[2] !== 'serve') process.exitCode = code;
