/** @module With TLS, a plain-HTTP listener (config `tls.redirect_from`, usually port 80) that sends every request
 *  to the same path on `public_url`, as configurable-http-proxy's `--redirect-port`: a user who types the host
 *  name without `https://` lands on the login page instead of "connection refused". It serves nothing else, so
 *  no password or cookie is ever answered in clear. The target is always `public_url`, never the request's Host
 *  (which the client chooses: a redirect built on it would be an open redirect). */
import type { Server } from 'node:http';
import type { Logger } from '../log.ts';
import { createServer } from './node-http.ts';

export function redirectLocation(publicOrigin: string, requestTarget: string | undefined): string {
  // Origin-form targets only ("/path?query"); an absolute-form or asterisk target gets the landing page.
  const target = requestTarget?.startsWith('/') ? requestTarget : '/';
  return `${publicOrigin}${target}`;
}

export async function listenHttpsRedirect(addr: { host: string; port: number }, publicUrl: URL, log: Logger): Promise<Server> {
  const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    // 301 for page loads (browsers remember it); 308 for other methods, which must be repeated as they were.
    const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
    const location = redirectLocation(publicUrl.origin, req.url);
    res.writeHead(status, { location, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'max-age=3600' });
    res.end(req.method === 'HEAD' ? undefined : `This gateway is served over HTTPS: ${location}\n`);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`tls.redirect_from ${addr.host}:${addr.port}: ${err.message}`)));
    server.listen(addr.port, addr.host, () => resolve());
  });
  log.info({ from: `${addr.host}:${addr.port}`, to: publicUrl.origin }, 'redirecting plain HTTP to https');
  return server;
}
