/** @module WebSocket (any Upgrade) relay: after the handshake, a plain TCP pipe with backpressure; only frame
 *  headers are read, to record activity. No per-message objects, so an idle connection costs two sockets. */
import { connect, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Route } from '../src/routes/route-table.ts';
import { FrameScanner } from './ws-activity.ts';

/** How long a half-closed relay may move nothing before both sockets are destroyed. */
export const HALF_CLOSE_GRACE_MS = 5000;

export interface UpgradeHooks {
  connectTimeoutMs: number;
  onActivity(): void;
  onOpen(): void;
  onClose(): void;
  /** Backend unreachable or not the server's own listener, before anything was relayed. */
  onFailure(err: Error & { code?: string }): void;
}

/** Returns what ends the relay (or the attempt) from outside: both sockets closed, `onClose` once relaying. */
export function pipeUpgrade(route: Route, req: IncomingMessage, client: Duplex, head: Buffer, headers: string[], hooks: UpgradeHooks): () => void {
  const url = new URL(route.url);
  const backend: Socket = connect({ host: url.hostname, port: Number(url.port) });
  let relaying = false;
  const fail = (err: Error & { code?: string }) => {
    clearTimeout(connectTimer);
    backend.destroy();
    if (!relaying) hooks.onFailure(err);
    else client.destroy();
  };
  // A plain timer, not the socket's own timeout: once set, even a cleared socket timeout is refreshed on every
  // read and write for the connection's whole life.
  const connectTimer = setTimeout(() => fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), hooks.connectTimeoutMs);
  backend.once('error', fail);
  client.once('error', () => backend.destroy());
  backend.once('connect', async () => {
    clearTimeout(connectTimer);
    // A check that cannot be made counts as a foreign listener: the token is never sent on a guess.
    if (route.isOwnListener && !(await route.isOwnListener().catch(() => false))) {
      return fail(Object.assign(new Error('listener is not owned by the server account'), { code: 'ECONNREFUSED' }));
    }
    if (client.destroyed) return backend.destroy();
    relaying = true;
    hooks.onOpen();
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
    backend.write(`${lines}\r\n`);
    if (head.length) backend.write(head);
    relay(client, backend, hooks);
  });
  return () => {
    clearTimeout(connectTimer);
    client.destroy();
    backend.destroy();
  };
}

function relay(client: Duplex, backend: Socket, hooks: UpgradeHooks): void {
  const fromClient = new FrameScanner();
  const fromBackend = new FrameScanner();
  let handshakeDone = false, isWebSocket = false, pendingHead = '';
  // How a relay ends. Either side's 'close' ends it for the hooks, and the other side is ended gently
  // (destroySoon: what is still buffered for it goes out first). Once half-closed (a side ended, or gone with
  // bytes still on their way to the other), a relay that moves nothing for HALF_CLOSE_GRACE_MS is cut: a peer
  // that keeps its half open would otherwise hold both sockets for ever (configurable-http-proxy#434).
  let halfClosed = false, closed = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const cut = () => { client.destroy(); backend.destroy(); };
  const linger = () => { clearTimeout(idle); idle = setTimeout(cut, HALF_CLOSE_GRACE_MS).unref(); };

  // One 'data' listener per direction both scans and forwards: pipe() plus a second listener was measurably
  // slower (bench/proxy WebSocket msgs/s 0.89× the floor's against 0.93-1.0×), as every emit then walks a
  // copied listener array and pipe's own bookkeeping.
  forward(client, backend, (chunk) => {
    if (halfClosed) linger();
    if (isWebSocket && fromClient.scan(chunk)) hooks.onActivity();
  });
  forward(backend, client, (chunk) => {
    if (halfClosed) linger();
    if (!handshakeDone) {
      // The backend's answer to the handshake: only a 101 turns the rest into WebSocket frames.
      const text = pendingHead + chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) { pendingHead = text.slice(-16 * 1024); return; }
      handshakeDone = true;
      isWebSocket = / 101 /.test(text.slice(0, text.indexOf('\r\n')));
      if (isWebSocket) hooks.onActivity();
      const bodyStart = end + 4 - pendingHead.length;
      if (isWebSocket && bodyStart < chunk.length) fromBackend.scan(chunk.subarray(bodyStart));
    } else if (isWebSocket && fromBackend.scan(chunk)) hooks.onActivity();
  });

  const ended = () => { if (!halfClosed) { halfClosed = true; linger(); } };
  const gone = (other: Duplex) => () => {
    if (!closed) { closed = true; hooks.onClose(); }
    if (other.destroyed) return void clearTimeout(idle);
    ended();
    (other as Socket).destroySoon();
  };
  client.once('end', ended);
  backend.once('end', ended);
  client.once('close', gone(backend));
  backend.once('close', gone(client));
}

/** Moves bytes from one socket to the other with backpressure, as pipe() does, showing each chunk to `look`
 *  first; the end of one side half-closes the other. */
function forward(from: Duplex, to: Duplex, look: (chunk: Buffer) => void): void {
  const resume = () => from.resume();
  from.on('data', (chunk: Buffer) => {
    look(chunk);
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', resume);
    }
  });
  from.once('end', () => to.end());
}
