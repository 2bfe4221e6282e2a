/** @module Request ids for log lines. A front proxy's `X-Request-Id` is kept, so one request can be followed
 *  across tiers; otherwise the gateway makes one. Made only when something is logged: the proxied hot path
 *  logs nothing by default and must not pay for an id nobody reads. */
import type { IncomingMessage } from 'node:http';

// Letters, digits and the punctuation of common id formats (UUIDs, nginx's $request_id, AWS trace ids).
const VALID = /^[\w.:=+/@-]{1,128}$/;
const ID = Symbol('kicloud.requestId');
const boot = Date.now().toString(36);
let counter = 0;

type WithId = IncomingMessage & { [ID]?: string };

/** The request's id: its valid `X-Request-Id`, else `<boot>-<n>`; the same value on every call. */
export function requestId(req: IncomingMessage): string {
  const r = req as WithId;
  if (r[ID] !== undefined) return r[ID];
  const given = req.headers['x-request-id'];
  r[ID] = typeof given === 'string' && VALID.test(given) ? given : `${boot}-${(++counter).toString(36)}`;
  return r[ID];
}
