/** @module One mapping from a backend failure to what the client sees, like Caddy's statusError(): refused or
 *  reset → 503 (and the server is checked at once), timeout → 504, client gone → nothing to send; the server
 *  stopped or exited while the request was in flight, or the gateway is shutting down → 503 (the route's
 *  connection pool was closed on purpose, with an error of ours: route-table.ts). */
import { GATEWAY_CLOSING, SERVER_GONE } from '../src/routes/route-table.ts';

export type FailureKind = 'refused' | 'timeout' | 'client_gone' | 'stopped' | 'other';

export function classify(err: Error & { code?: string }): { kind: FailureKind; status: number; message: string } {
  switch (err.code) {
    case 'ECONNREFUSED': case 'ECONNRESET': case 'EPIPE': case 'UND_ERR_SOCKET': case 'UND_ERR_CLOSED': case 'EHOSTUNREACH':
      return { kind: 'refused', status: 503, message: 'the server is not answering: it may have stopped or crashed' };
    case 'UND_ERR_CONNECT_TIMEOUT': case 'UND_ERR_HEADERS_TIMEOUT': case 'ETIMEDOUT':
      return { kind: 'timeout', status: 504, message: 'the server took too long to answer' };
    case SERVER_GONE:
      return { kind: 'stopped', status: 503, message: 'the server stopped while this request was in flight' };
    case GATEWAY_CLOSING:
      return { kind: 'stopped', status: 503, message: 'the gateway is restarting; the server keeps running: try again in a moment' };
    case 'UND_ERR_ABORTED': case 'ERR_STREAM_PREMATURE_CLOSE':
      return { kind: 'client_gone', status: 499, message: 'the client went away' };
    default:
      return { kind: 'other', status: 502, message: `the server's answer could not be relayed (${err.code ?? err.message})` };
  }
}
