/** @module `node:http` loaded with `require`. An ESM `import … from 'node:http'` builds a module facade that reads
 *  every export, and the lazy `http.WebSocket` getter then loads Node's bundled copy of undici: 70 ms of every
 *  cold start on a slow core (Node 24), for a client the gateway never uses (it proxies with the npm undici). */
import { createRequire } from 'node:module';

const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export const { createServer, STATUS_CODES } = http;
