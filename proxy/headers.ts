/** @module Header rewriting both ways. Towards a user's server: hop-by-hop headers dropped, the gateway's own
 *  session cookie and the caller's credentials removed, the server's token injected, X-Forwarded-* set; the
 *  browser's Host is kept (the server runs with allow_remote_access, and Jupyter's origin checks compare
 *  Origin with Host). Back to the browser: hop-by-hop headers dropped. */
import type { IncomingMessage } from 'node:http';
import { stripCookie } from '../src/auth/cookie-header.ts';
import { SESSION_COOKIE } from '../src/auth/session.ts';
import type { ConnectionMemo } from './connection-memo.ts';

// `expect` too: Node has already answered 100-continue, and undici refuses to send it.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings', 'expect']);

export interface ForwardContext { authorization: string; proto: string; publicHost: string }

/** Flat [name, value, …] list for undici (or a raw request head), from req.rawHeaders. */
export function backendRequestHeaders(req: IncomingMessage, ctx: ForwardContext, upgrade: boolean, memo?: ConnectionMemo): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let forwardedFor = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower === 'x-forwarded-host' || lower === 'x-forwarded-proto' || lower === 'x-forwarded-port') continue;
    if (lower === 'x-forwarded-for') { forwardedFor = forwardedFor ? `${forwardedFor}, ${raw[i + 1]}` : raw[i + 1]; continue; }
    if (HOP_BY_HOP.has(lower)) {
      if (upgrade && (lower === 'upgrade' || lower === 'connection')) out.push(name, raw[i + 1]);
      continue;
    }
    if (lower === 'cookie') {
      const kept = memo ? strippedOnce(raw[i + 1], memo) : stripCookie(raw[i + 1], SESSION_COOKIE);
      if (kept) out.push(name, kept);
      continue;
    }
    out.push(name, raw[i + 1]);
  }
  const remote = req.socket.remoteAddress ?? '';
  out.push('authorization', ctx.authorization,
    'x-forwarded-for', forwardedFor ? `${forwardedFor}, ${remote}` : remote,
    'x-forwarded-proto', ctx.proto,
    'x-forwarded-host', req.headers.host ?? ctx.publicHost);
  return out;
}

function strippedOnce(header: string, memo: ConnectionMemo): string {
  if (memo.cookieIn !== header) {
    memo.cookieIn = header;
    memo.cookieOut = stripCookie(header, SESSION_COOKIE);
  }
  return memo.cookieOut!;
}

/** Response headers from undici's raw list, hop-by-hop dropped, ready for res.writeHead(). */
export function clientResponseHeaders(raw: Buffer[] | string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    const value = raw[i + 1].toString('latin1');
    // A user's server must not set or overwrite the gateway's session cookie (same origin).
    if (lower === 'set-cookie' && value.trimStart().startsWith(`${SESSION_COOKIE}=`)) continue;
    out.push(name, value);
  }
  return out;
}
