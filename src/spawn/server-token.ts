/** @module A user server's own API token (JUPYTERHUB_API_TOKEN): minted at each start, revoked at its stop,
 *  narrow (report activity, be reached). The hub manages it, so user-facing pages show it read-only and a
 *  "revoke all my tokens" leaves it alone. */
import { mintToken } from '../auth/tokens.ts';
import type { ServerKey, Token } from '../store/store.ts';

const scopesFor = (k: ServerKey) => [`users:activity!user=${k.user}`, `access:servers!server=${k.user}/${k.server}`];

export function mintServerToken(k: ServerKey) {
  return mintToken(k.user, scopesFor(k), { note: `server ${k.user}/${k.server}` });
}

export function isServerToken(t: Token): boolean {
  const m = /^server ([^/]+)\/(.*)$/.exec(t.note);
  if (!m || m[1] !== t.user) return false;
  const want = scopesFor({ user: m[1], server: m[2] });
  return t.scopes.length === want.length && t.scopes.every((s, i) => s === want[i]);
}
