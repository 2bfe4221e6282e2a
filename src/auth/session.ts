/** @module Session cookies: an HS256 JWT (jose) carrying a session id kept in the store, so a session can be
 *  revoked (logout, user deletion, password change). Verified cookies are cached by value: a jose verify
 *  costs about as much as the whole proxy path, so each cookie is verified once. */
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';

export const SESSION_COOKIE = 'kicloud-session';

export interface SessionClaims { sid: string; user: string; expMs: number }

export class SessionCodec {
  readonly #key: Uint8Array;
  constructor(secret: Uint8Array) { this.#key = secret; }

  async sign(user: string, maxAgeS: number): Promise<{ cookie: string; claims: SessionClaims }> {
    const sid = randomBytes(18).toString('base64url');
    const expS = Math.floor(Date.now() / 1000) + maxAgeS;
    const cookie = await new SignJWT({ sid }).setProtectedHeader({ alg: 'HS256' }).setSubject(user)
      .setIssuedAt().setExpirationTime(expS).sign(this.#key);
    return { cookie, claims: { sid, user, expMs: expS * 1000 } };
  }

  /** Claims of a valid, unexpired cookie; null for anything else (forged, expired, malformed). */
  async verify(cookie: string): Promise<SessionClaims | null> {
    try {
      const { payload } = await jwtVerify(cookie, this.#key, { algorithms: ['HS256'] });
      if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return null;
      return { sid: payload.sid, user: payload.sub, expMs: payload.exp * 1000 };
    } catch {
      return null;
    }
  }
}
