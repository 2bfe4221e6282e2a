/** @module An esbuild plugin for the dependency bundle: a few of Node's built-in modules that a bundled file
 *  requires when it loads, but uses only for features the gateway never asks for, are required on first use
 *  instead. Measured here (after node:http and node:crypto): node:http2 13–20 ms, node:https 4–7 ms, node:dns
 *  1–6 ms of every start. Any use still works: the first property read loads the real module. */
import type { Plugin } from 'esbuild';

/** Which file requires which built-ins it does not need at load, and why they are not needed. Paths are relative
 *  to node_modules; an entry that no longer matches a file fails the build, so a library update is noticed. */
export const LOAD_ON_FIRST_USE: ReadonlyArray<{ file: string; builtins: string[]; why: string }> = [
  { file: 'fastify/lib/server.js', builtins: ['node:http2', 'node:https', 'node:dns'],
    why: 'fastify builds its own HTTP/2 or HTTPS server and resolves the listen address only when it creates the server; the gateway passes its own (serverFactory) and listens itself' },
  { file: 'prom-client/lib/pushgateway.js', builtins: ['https'],
    why: 'only the Pushgateway client uses it; the gateway is scraped at /metrics. (Its node:zlib is destructured at load, so deferring it would gain nothing.)' },
];

const NAMESPACE = 'kicloud-lazy-builtin';

export function lazyBuiltins(): Plugin {
  return {
    name: 'kicloud-lazy-builtins',
    setup(build) {
      const seen = new Set<string>();
      const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const names = [...new Set(LOAD_ON_FIRST_USE.flatMap((e) => e.builtins))];
      build.onResolve({ filter: new RegExp(`^(${names.map(escape).join('|')})$`) }, (args) => {
        const rule = LOAD_ON_FIRST_USE.find((e) => args.importer.endsWith(`/node_modules/${e.file}`) && e.builtins.includes(args.path));
        if (!rule || args.kind !== 'require-call') return undefined;            // everyone else gets the module itself
        seen.add(`${rule.file} ${args.path}`);
        return { path: args.path, namespace: NAMESPACE };
      });
      // A stand-in whose first property access (or `in`, or assignment) requires the real module and forwards
      // to it from then on. The files above only read properties of these modules, and only when used (a file
      // that destructured one at load would load it at once: the start-imports test checks that they stay
      // unloaded).
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        loader: 'js',
        contents: `let real; const load = () => (real ??= require(${JSON.stringify(args.path)}));\n` +
          'module.exports = new Proxy({}, { get: (_, k) => load()[k], has: (_, k) => k in load(), set: (_, k, v) => { load()[k] = v; return true; } });\n',
      }));
      build.onEnd((result) => {
        if (result.errors.length) return;
        const missing = LOAD_ON_FIRST_USE.flatMap((e) => e.builtins.map((b) => `${e.file} ${b}`)).filter((k) => !seen.has(k));
        if (missing.length) {
          return { errors: [{ text: `lazy built-ins: no longer required as listed (a library changed? update LOAD_ON_FIRST_USE): ${missing.join(', ')}` }] };
        }
        return undefined;
      });
    },
  };
}
