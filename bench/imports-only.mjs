// imports-only.mjs PORT: the libraries the gateway loads at start imported and nothing else (of ajv only the runtime helper the precompiled config validator uses), plus a bare /hub/health — the floor for cold start and idle RSS. undici, as the gateway does, a second after listening.
// Loaded as the gateway loads them: from the dependency bundle when it is fresh (src/vendor/), node:http through require.
import { createRequire } from 'node:module';
import { useDependencyBundle } from '../src/vendor/use-bundle.ts';

const bundle = useDependencyBundle();
const require = createRequire(import.meta.url);
const { createServer } = require('node:http');
require('ajv/dist/runtime/ucs2length.js');
await Promise.all(['fastify', '@fastify/formbody', 'pino', 'jose', 'yaml', 'prom-client', 'node:sqlite'].map((m) => import(m)));
createServer((_req, res) => res.end('ok')).listen(Number(process.argv[2]), '127.0.0.1', () => setTimeout(() => import('undici'), 1000));
process.stderr.write(`imports-only: dependencies from ${bundle === 'bundle' ? 'the bundle' : `node_modules (bundle ${bundle})`}\n`);
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
