// ws-client.mjs MODE URL HEADERS_JSON CONNS SECONDS: WebSocket load for bench/proxy (rtt | tput | idle); prints one JSON line.
import WebSocket from 'ws';

const [mode, url, headersJson, connsArg, secondsArg] = process.argv.slice(2);
const headers = JSON.parse(headersJson), conns = Number(connsArg), ms = Number(secondsArg) * 1000;
const msg = Buffer.alloc(64, 'k');                                  // about one keystroke-sized Jupyter message
const MAX_MESSAGES = 5_000_000, HARD_LIMIT_MS = 180_000;            // every loop is bounded in count and time
setTimeout(() => { console.error('ws-client: hard time limit'); process.exit(3); }, HARD_LIMIT_MS).unref();

const open = () => new Promise((resolve, reject) => {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: 10_000 });
  ws.once('open', () => resolve(ws));
  ws.once('error', reject);
  ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
});
const echo = (ws) => new Promise((resolve) => { ws.once('message', resolve); ws.send(msg); });
const pct = (xs, p) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

if (mode === 'rtt') {
  const ws = await open();
  for (let i = 0; i < 200; i++) await echo(ws);                     // warm-up
  const rtts = [], end = performance.now() + ms;
  while (performance.now() < end && rtts.length < MAX_MESSAGES) {
    const t = performance.now();
    await echo(ws);
    rtts.push((performance.now() - t) * 1000);
  }
  ws.terminate();
  console.log(JSON.stringify({ n: rtts.length, p50_us: pct(rtts, 0.5), p99_us: pct(rtts, 0.99) }));
} else if (mode === 'tput') {
  const sockets = await Promise.all(Array.from({ length: conns }, open));
  let count = 0, running = true;
  const t0 = performance.now();
  await Promise.all(sockets.map(async (ws) => {
    while (running && count < MAX_MESSAGES) { await echo(ws); count++; if (performance.now() - t0 > ms) running = false; }
  }));
  const secs = (performance.now() - t0) / 1000;
  for (const ws of sockets) ws.terminate();
  console.log(JSON.stringify({ n: count, msgs_per_s: count / secs }));
} else if (mode === 'idle') {
  // Open CONNS connections 50 at a time, report, then hold them until stdin gets a line (or SECONDS pass).
  const sockets = [];
  let failed = 0, firstError = '';
  const t0 = performance.now();
  for (let i = 0; i < conns; i += 50) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(50, conns - i) }, open));
    for (const r of batch) r.status === 'fulfilled' ? sockets.push(r.value) : (failed++, firstError ||= r.reason.message);
  }
  console.log(JSON.stringify({ opened: sockets.length, failed, first_error: firstError, open_ms: performance.now() - t0 }));
  await new Promise((resolve) => { process.stdin.once('data', resolve); setTimeout(resolve, ms).unref(); });
  for (const ws of sockets) ws.terminate();
} else {
  console.error(`ws-client: unknown mode ${mode}`);
  process.exit(2);
}
process.exit(0);
