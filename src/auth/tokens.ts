/** @module API tokens: random secrets, stored only as a SHA-256 hash (they carry 256 bits of entropy, so a
 *  fast hash is safe: JupyterHub does the same for its high-entropy tokens). */
import { hash, randomBytes, randomUUID } from 'node:crypto';
import type { Token } from '../store/store.ts';

// crypto.hash: the one-shot form, half the cost of createHash().update().digest() (it runs on every request
// that carries a token, for the auth cache's key); the same hex digest, so stored hashes stay valid.
export const hashToken = (secret: string) => hash('sha256', secret);

export function mintToken(user: string, scopes: string[], opts: { note?: string; expiresInS?: number | null } = {}):
  { secret: string; token: Token } {
  const secret = randomBytes(24).toString('hex');
  const now = new Date();
  return {
    secret,
    token: {
      id: `a${randomUUID().replaceAll('-', '').slice(0, 15)}`,
      user, hash: hashToken(secret), prefix: secret.slice(0, 4), scopes, note: opts.note ?? '',
      created: now.toISOString(),
      expiresAt: opts.expiresInS ? new Date(now.getTime() + opts.expiresInS * 1000).toISOString() : null,
      lastActivity: null,
    },
  };
}

/** `Authorization: token X` or `Bearer X` (scheme case-insensitive), as JupyterHub accepts. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
