/** bench/routes: does route lookup cost grow with the number of running servers? In one process, a RouteTable
 *  with N routes (each with its undici Pool, as the gateway holds them; no backend behind them, no connection
 *  is made) and the lookup every proxied request does: parse the raw path's /user/NAME/ prefix, then the
 *  table's get(). Prints ns per lookup and heap per route for each N. Nothing listens, nothing is spawned. */
import { parseArgs } from 'node:util';
import { parseUserPath } from '../src/routes/paths.ts';
import { RouteTable, routeId } from '../src/routes/route-table.ts';

const { values: opt } = parseArgs({ options: { sizes: { type: 'string' }, lookups: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (opt.help) {
  console.log('bench/routes [--sizes 1,100,10000] [--lookups 2000000]     (see bench/README.md)');
  process.exit(0);
}
const SIZES = (opt.sizes ?? '1,100,1000,10000').split(',').map(Number);
const LOOKUPS = Number(opt.lookups ?? 2_000_000);
const ROUNDS = 5;
if (!SIZES.every((n) => Number.isInteger(n) && n > 0 && n <= 100_000)) throw new Error('--sizes: whole numbers from 1 to 100000');
if (!Number.isInteger(LOOKUPS) || LOOKUPS < 1000 || LOOKUPS > 50_000_000) throw new Error('--lookups: 1000 to 50000000');

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => { gc?.(); return process.memoryUsage().heapUsed; };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Request paths spread over the table's users, like many browsers at once (the URLs are made beforehand). */
function paths(n: number): string[] {
  return Array.from({ length: 1024 }, (_, i) => `/user/u${(i * 7919) % n}/api/kernels/4f1c?_=${i}`);
}

function lookupNs(table: RouteTable, urls: string[]): number {
  let found = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < LOOKUPS; i++) {
    const p = parseUserPath(urls[i & 1023]!);
    if (p.ok && table.get(`${p.user}/`) !== undefined) found++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / LOOKUPS;
  if (found !== LOOKUPS) throw new Error(`only ${found} of ${LOOKUPS} lookups found their route`);
  return ns;
}

console.log(`== Route lookup: parse /user/NAME/ + RouteTable.get, median of ${ROUNDS} × ${LOOKUPS} lookups ==`);
console.log('routes      ns/lookup   ×(1 route)   heap/route');
let base = 0;
await new RouteTable({ connectTimeoutMs: 5000, headersTimeoutMs: 60_000 }).prepare();   // undici loaded outside the heap figures
for (const n of SIZES) {
  const before = heap();
  const table = new RouteTable({ connectTimeoutMs: 5000, headersTimeoutMs: 60_000 });
  await table.prepare();
  for (let i = 0; i < n; i++) table.add({ user: `u${i}`, server: '' }, `/user/u${i}/`, `http://127.0.0.1:${10000 + (i % 50000)}`, `t${i}`.padEnd(48, 'x'));
  const perRoute = (heap() - before) / n;
  if (table.get(routeId({ user: 'u0', server: '' })) === undefined) throw new Error('route table lost u0');
  const urls = paths(n);
  lookupNs(table, urls);                                                           // warm-up: let the JIT settle
  const ns = median(Array.from({ length: ROUNDS }, () => lookupNs(table, urls)));
  base ||= ns;
  console.log(`${String(n).padStart(6)}  ${ns.toFixed(1).padStart(12)}  ${(ns / base).toFixed(2).padStart(11)}×  ${gc ? `${(perRoute / 1024).toFixed(1)} KiB` : 'n/a (run with --expose-gc)'}`);
  await table.close();
}
