/** @module What a keep-alive connection's requests have in common: the credential and Cookie headers a
 *  client repeats on every request, with what the proxy derived from them last time (the auth cache's key,
 *  the Cookie header stripped of the session). Kept per socket, dropped with it. */
import type { CredentialMemo } from '../src/auth/authenticator.ts';

export interface ConnectionMemo extends CredentialMemo {
  /** The Cookie header last stripped on this connection, and what was left of it. */
  cookieIn?: string;
  cookieOut?: string;
}

const memos = new WeakMap<object, ConnectionMemo>();

export function connectionMemo(socket: object): ConnectionMemo {
  let memo = memos.get(socket);
  if (!memo) memos.set(socket, (memo = {}));
  return memo;
}
