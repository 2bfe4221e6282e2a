// backend.mjs PORT [BASE_URL]: the 1 KiB benchmark backend: any path → 1024 bytes, api/status → 200 JSON, WebSocket echo.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const body = Buffer.alloc(1024, 'x');
const status = Buffer.from('{"started":"bench","last_activity":null,"connections":0,"kernels":0}');

const server = createServer((req, res) => {
  const isStatus = req.url.includes('/api/status');
  res.writeHead(200, { 'content-type': isStatus ? 'application/json' : 'text/plain', 'content-length': isStatus ? status.length : body.length });
  res.end(isStatus ? status : body);
});
server.keepAliveTimeout = 60_000;
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
server.listen(port, '127.0.0.1');
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
