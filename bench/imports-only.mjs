// imports-only.mjs PORT: the gateway's libraries imported and nothing else, plus a bare /hub/health — the floor for cold start and idle RSS.
import { createServer } from 'node:http';
await Promise.all(['fastify', 'pino', 'jose', 'undici', 'yaml', 'ajv', '@sinclair/typebox', 'prom-client', 'node:sqlite'].map((m) => import(m)));
createServer((_req, res) => res.end('ok')).listen(Number(process.argv[2]), '127.0.0.1');
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
