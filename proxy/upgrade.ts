/** @module WebSocket (any Upgrade) relay: after the handshake, a plain TCP pipe with backpressure; only frame
 *  headers are read, to record activity. No per-message objects, so an idle connection costs two sockets. */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Route } from '../src/routes/route-table.ts';
import { FrameScanner } from './ws-activity.ts';

/** How long a half-closed relay may move nothing before both sockets are destroyed. */
export const HALF_CLOSE_GRACE_MS = 5000;

/** What a relay reports while it runs. */
export interface RelayHooks {
  onActivity(): void;
  onClose(): void;
}

/** One upgrade being opened: what to send, and whom to tell how it went. Dropped once relaying begins, so that an
 *  idle WebSocket keeps neither the client's request nor anything the handshake needed (a few hundred bytes to a
 *  few kilobytes each, for as long as the tab stays open). */
export interface UpgradeAttempt {
  connectTimeoutMs: number;
  /** The request line and headers for the backend, blank line included. */
  requestHead: string;
  /** What the client sent after its request head (the upgrade's `head`). */
  body: Buffer;
  /** Relaying begins: the hooks for the relay's life. */
  onOpen(): RelayHooks;
  /** Backend unreachable or not the server's own listener, before anything was relayed. */
  onFailure(err: Error & { code?: string }): void;
}

/** Returns what ends the relay (or the attempt) from outside: both sockets closed, `onClose` once relaying. */
export function pipeUpgrade(route: Route, client: Duplex, upgrade: UpgradeAttempt): () => void {
  const { hostname, port } = new URL(route.url);
  const backend: Socket = connect({ host: hostname, port: Number(port) });
  let attempt: UpgradeAttempt | null = upgrade;
  const fail = (err: Error & { code?: string }) => {
    clearTimeout(connectTimer);
    backend.destroy();
    const failed = attempt;
    attempt = null;
    if (failed) failed.onFailure(err);
    else client.destroy();
  };
  // A plain timer, not the socket's own timeout: once set, even a cleared socket timeout is refreshed on every
  // read and write for the connection's whole life.
  let connectTimer: ReturnType<typeof setTimeout> | undefined =
    setTimeout(() => fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), upgrade.connectTimeoutMs);
  backend.once('error', fail);
  client.once('error', () => backend.destroy());
  backend.once('connect', async () => {
    clearTimeout(connectTimer);
    connectTimer = undefined;
    // A check that cannot be made counts as a foreign listener: the token is never sent on a guess.
    if (route.isOwnListener && !(await route.isOwnListener().catch(() => false))) {
      return fail(Object.assign(new Error('listener is not owned by the server account'), { code: 'ECONNREFUSED' }));
    }
    if (client.destroyed || !attempt) return backend.destroy();
    const { requestHead, body } = attempt;
    const hooks = attempt.onOpen();
    attempt = null;
    backend.write(requestHead);
    if (body.length) backend.write(body);
    relay(client, backend, hooks);
  });
  return () => {
    clearTimeout(connectTimer);
    attempt = null;
    client.destroy();
    backend.destroy();
  };
}

function relay(client: Duplex, backend: Socket, hooks: RelayHooks): void {
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
