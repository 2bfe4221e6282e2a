// imports-only.mjs PORT: the libraries the gateway loads at start imported and nothing else (of ajv only the runtime helper the precompiled config validator uses), plus a bare /hub/health — the floor for cold start and idle RSS.
import { createRequire } from 'node:module';
// node:http through require, as the gateway loads it (src/http/node-http.ts: its ESM facade loads Node's bundled undici).
const { createServer } = createRequire(import.meta.url)('node:http');
await Promise.all(['fastify', 'pino', 'jose', 'undici', 'yaml', 'ajv/dist/runtime/ucs2length.js', '@sinclair/typebox', 'prom-client', 'node:sqlite'].map((m) => import(m)));
createServer((_req, res) => res.end('ok')).listen(Number(process.argv[2]), '127.0.0.1');
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
