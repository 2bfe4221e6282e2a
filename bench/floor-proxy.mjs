// floor-proxy.mjs PORT TARGET: the reference floor — undici Pool.dispatch with a raw handler for HTTP, a TCP pipe for upgrades; nothing else.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { Pool } from 'undici';

const [port, target] = [Number(process.argv[2]), new URL(process.argv[3])];
const pool = new Pool(target.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection']);
const strip = (raw) => raw.flatMap((v, i) => (i % 2 || HOP.has(String(v).toLowerCase()) ? [] : [String(v), String(raw[i + 1])]));

const server = createServer((req, res) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  pool.dispatch({ path: req.url, method: req.method, headers: strip(req.rawHeaders), body: hasBody ? req : null }, {
    onRequestStart: (c) => res.once('close', () => { if (!res.writableFinished && !c.aborted) c.abort(new Error('client went away')); }),
    onResponseStart: (c, status) => res.writeHead(status, strip(c.rawHeaders)),
    onResponseData: (c, chunk) => { if (!res.write(chunk)) { c.pause(); res.once('drain', () => c.resume()); } },
    onResponseEnd: () => res.end(),
    onResponseError: () => (res.headersSent ? res.destroy() : res.writeHead(502).end()),
  });
});
server.on('upgrade', (req, socket, head) => {
  const backend = connect(Number(target.port), target.hostname, () => {
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    backend.write(`${lines}\r\n`);
    if (head.length) backend.write(head);
    socket.pipe(backend).pipe(socket);
  });
  backend.on('error', () => socket.destroy());
  socket.on('error', () => backend.destroy());
  socket.on('close', () => backend.destroy());
  backend.on('close', () => socket.destroy());
});
server.listen(port, '127.0.0.1');
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
