/** @module Cross-site request refusal. A cookie-authenticated request that changes state, or any WebSocket
 *  upgrade, must come from the gateway's own origin: browsers send Origin on those, and Sec-Fetch-Site on
 *  everything modern. Requests with neither header are not from a browser (no ambient cookie risk). */
import type { IncomingHttpHeaders } from 'node:http';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isSafeMethod = (method: string | undefined) => SAFE_METHODS.has(method ?? 'GET');

export function isCrossSite(headers: IncomingHttpHeaders, publicOrigin: string): boolean {
  const origin = headers.origin;
  if (origin !== undefined) return origin !== publicOrigin;
  const site = headers['sec-fetch-site'];
  return site === 'cross-site' || site === 'same-site';
}
