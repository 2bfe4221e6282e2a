/** @module Cross-site request refusal. A cookie-authenticated request that changes state, or any WebSocket
 *  upgrade, must come from the gateway's own origin. Browsers send Origin with every POST, PUT, PATCH and DELETE
 *  and with every WebSocket upgrade, and Sec-Fetch-Site on everything since 2023: a state change that carries the
 *  session cookie but neither header came from no page of ours (an old browser, a plugin), and is refused; a
 *  script uses an API token, which no browser sends by itself. */
import type { IncomingHttpHeaders } from 'node:http';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isSafeMethod = (method: string | undefined) => SAFE_METHODS.has(method ?? 'GET');

/** From a page of another site, by Origin or else Sec-Fetch-Site (the login form: it carries no cookie yet, and a
 *  script may log in without either header). */
export function isCrossSite(headers: IncomingHttpHeaders, publicOrigin: string): boolean {
  const origin = headers.origin;
  if (origin !== undefined) return origin !== publicOrigin;
  const site = headers['sec-fetch-site'];
  return site === 'cross-site' || site === 'same-site';
}

/** Why a state change authenticated by the session cookie is refused, or null when it comes from the gateway's own
 *  pages: an Origin equal to the gateway's, or no Origin and Sec-Fetch-Site: same-origin. */
export function cookieWriteRefusal(headers: IncomingHttpHeaders, publicOrigin: string): string | null {
  if (isCrossSite(headers, publicOrigin)) return 'cross-site request refused: its Origin is not this gateway';
  if (headers.origin !== undefined || headers['sec-fetch-site'] === 'same-origin') return null;
  return 'a change made with the session cookie must come from this gateway\'s pages (no Origin header): scripts use an API token';
}
