/** @module Forms whose answer shows a secret once (a new token, a new password) carry a request id, answered
 *  once: reloading the answer page posts the form again, and must not mint a second secret that replaces the
 *  one on screen. */
import { randomBytes } from 'node:crypto';
import { badRequest } from '../errors.ts';

/** The hidden field each rendering of such a form carries, fresh every time. */
export const requestIdField = () => `<input type="hidden" name="request_id" value="${randomBytes(16).toString('hex')}">`;

/** Request ids already answered, per user. Kept ten minutes, at most 10 000. */
export class AnsweredRequests {
  readonly #seen = new Map<string, number>();

  /** False when this user's request id was answered before (within the window); a missing or malformed id is
   *  a 400 naming `where` to reload. */
  first(user: string, requestId: unknown, where: string, now = Date.now()): boolean {
    if (typeof requestId !== 'string' || !/^[0-9a-f]{32}$/.test(requestId)) throw badRequest(`the form is incomplete: reload ${where}`);
    const key = `${user}:${requestId}`;
    for (const [k, until] of this.#seen) { if (until > now && this.#seen.size < 10_000) break; this.#seen.delete(k); }
    if ((this.#seen.get(key) ?? 0) > now) return false;
    this.#seen.set(key, now + 600_000);
    return true;
  }
}
