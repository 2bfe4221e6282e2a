/** @module The proxied request path, top to bottom: raw path → who is asking → which server → may they →
 *  cross-site check → route → forward (HTTP) or pipe (Upgrade). No web framework on this path: it is what
 *  every keystroke pays. What to do when there is no route (spawn page, 424, login) is the hub's call. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from '../src/http/node-http.ts';
import type { Duplex } from 'node:stream';
import type { CredentialMemo, Principal } from '../src/auth/authenticator.ts';
import type { Logger } from '../src/log.ts';
import { redactUrl } from '../src/log.ts';
import { requestId } from '../src/http/request-id.ts';
import { esc } from '../src/http/pages/layout.ts';
import type { Metrics } from '../src/http/metrics.ts';
import { describeServer as describe, firstSegment, parseUserPath } from '../src/routes/paths.ts';
import type { Route, RouteTable } from '../src/routes/route-table.ts';
import type { ServerKey } from '../src/store/store.ts';
import { classify } from './error-status.ts';
import { connectionMemo, type ConnectionMemo } from './connection-memo.ts';
import { forward } from './forward.ts';
import { backendRequestHeaders, type ForwardContext } from './headers.ts';
import { OpenUpgrades, type OpenUpgrade } from './open-upgrades.ts';
import { cookieWriteRefusal, isSafeMethod } from './origin.ts';
import { pipeUpgrade, type RelayHooks } from './upgrade.ts';

export interface Target { principal: Principal; key: ServerKey; rest: string; isNavigation: boolean }

export interface ProxyDeps {
  publicOrigin: string;
  routes: RouteTable;
  auth: {
    cached(h: IncomingMessage['headers'], memo?: CredentialMemo): Principal | undefined;
    authenticate(h: IncomingMessage['headers']): Promise<Principal | null>;
    /** The principal as its session or token now stands in the store, or null. */
    recheck(p: Principal): Promise<Principal | null>;
  };
  canAccess(p: Principal, key: ServerKey): boolean;
  isNamedServer(user: string, name: string): boolean;
  touch(routeId: string): void;
  metrics: Metrics;
  log: Logger;
  connectTimeoutMs: number;
  slowRequestMs: number;
  accessLog: boolean;
  /** No running server behind the path: spawn page for a navigation, 424 otherwise. */
  onNoRoute(req: IncomingMessage, res: ServerResponse, t: Target): void;
  onNoRouteUpgrade(req: IncomingMessage, socket: Duplex, t: Target): void;
  onUnauthenticated(req: IncomingMessage, res: ServerResponse, isNavigation: boolean): void;
  onBackendDown(key: ServerKey): void;
}

/** A top-level page load: the only kind of request allowed to start a stopped server. */
export function isNavigation(req: IncomingMessage, rest: string): boolean {
  if (req.method !== 'GET' || rest.startsWith('api/') || rest.includes('/api/')) return false;
  const dest = req.headers['sec-fetch-dest'];
  if (dest !== undefined) return dest === 'document';
  return (req.headers.accept ?? '').includes('text/html');
}

export function createProxy(deps: ProxyDeps) {
  const ctx: ForwardContext = { authorization: '', proto: new URL(deps.publicOrigin).protocol.slice(0, -1), publicHost: new URL(deps.publicOrigin).host };
  const upgrades = new OpenUpgrades({
    recheck: (p) => deps.auth.recheck(p),
    allows: (p, key) => !accessDenied(p, key, deps),
    onClosed: (closed) => deps.log.info({ count: closed.length, openers: [...new Set(closed.map((u) => u.principal.name))],
      servers: [...new Set(closed.map((u) => describe(u.key)))] }, 'closed WebSockets their openers may no longer use'),
    onError: (err, u) => deps.log.error({ err, user: u.principal.name, server: describe(u.key) }, 'recheck of an open WebSocket failed; closed'),
  });

  function resolve(req: IncomingMessage, reply: (status: number, message: string, canonical?: string) => void) {
    const parsed = parseUserPath(req.url!);
    if (!parsed.ok) {
      if (parsed.canonical && req.method === 'GET') return reply(302, parsed.message, parsed.canonical);
      return reply(400, parsed.message);
    }
    return parsed;
  }

  function target(user: string, rest: string, principal: Principal): Target {
    const seg = firstSegment(rest);
    const server = seg && deps.isNamedServer(user, seg) ? seg : '';
    const restAfter = server ? rest.slice(server.length + 1) : rest;
    // isNavigation matters only when there is no route: computed there, not on every proxied request.
    return { principal, key: { user, server }, rest: restAfter, isNavigation: false };
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const parsed = resolve(req, (status, message, canonical) => sendError(req, res, status, message, canonical));
    if (!parsed) return;
    const memo = connectionMemo(req.socket);
    const principal = deps.auth.cached(req.headers, memo);
    if (principal) return proceed(req, res, parsed.user, parsed.rest, principal, memo);
    deps.auth.authenticate(req.headers).then((p) => {
      if (p) proceed(req, res, parsed.user, parsed.rest, p, memo);
      else deps.onUnauthenticated(req, res, isNavigation(req, parsed.rest));
    }, (err) => {
      deps.log.error({ err, reqId: requestId(req) }, 'authentication failed');
      sendError(req, res, 500, 'internal error while checking credentials');
    });
  }

  function proceed(req: IncomingMessage, res: ServerResponse, user: string, rest: string, principal: Principal, memo: ConnectionMemo): void {
    const t = target(user, rest, principal);
    const denied = accessDenied(principal, t.key, deps);
    if (denied) return sendError(req, res, 403, denied);
    if (principal.via === 'cookie' && !isSafeMethod(req.method)) {
      const refusal = cookieWriteRefusal(req.headers, deps.publicOrigin);
      if (refusal) return sendError(req, res, 403, refusal);
    }
    // JupyterLab's File → Log Out loads PREFIX/logout: the hub's logout, as jupyterhub-singleuser answers it (a
    // server's own logout page would leave the hub session open). Never a spawn, running server or not.
    if (t.rest === 'logout' && req.method === 'GET') {
      return void res.writeHead(302, { location: '/hub/logout', 'cache-control': 'no-store' }).end();
    }
    const route = deps.routes.get(`${t.key.user}/${t.key.server}`);
    if (!route) {
      t.isNavigation = isNavigation(req, t.rest);
      return deps.onNoRoute(req, res, t);
    }
    deps.touch(route.id);
    ctx.authorization = route.authorization;
    const headers = backendRequestHeaders(req, ctx, false, memo);
    const t0 = performance.now();
    forward(route, req, res, headers, (r) => {
      const ms = performance.now() - t0;
      deps.metrics.observeProxy(ms / 1000);
      if (r.error) {
        const failure = classify(r.error);
        deps.metrics.proxyError(failure.kind);
        if (failure.kind === 'refused') deps.onBackendDown(route.key);
        // A stop is logged once by the orchestrator, not once per request it cut short.
        if (failure.kind !== 'client_gone' && failure.kind !== 'stopped') {
          deps.log.warn({ reqId: requestId(req), user: principal.name, server: route.id, method: req.method, url: redactUrl(req.url!), ms: Math.round(ms),
            err: r.error.message, code: (r.error as { code?: string }).code }, 'proxy error');
        }
        if (!res.headersSent && failure.kind !== 'client_gone') sendError(req, res, failure.status, `${describe(t.key)}: ${failure.message}`);
        return;
      }
      if (ms > deps.slowRequestMs || deps.accessLog) {
        deps.log.info({ reqId: requestId(req), user: principal.name, server: route.id, status: r.status, ms: Math.round(ms * 10) / 10,
          method: req.method, url: redactUrl(req.url!) }, ms > deps.slowRequestMs ? 'slow proxied request' : 'proxied');
      }
    });
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const parsed = resolve(req, (status, message) => rejectUpgrade(socket, status, message));
    if (!parsed) return;
    const generation = upgrades.generation;
    // Any upgrade from a page of another origin is refused, whatever its credentials (cross-site WebSocket hijacking).
    if (req.headers.origin !== undefined && req.headers.origin !== deps.publicOrigin) {
      return rejectUpgrade(socket, 403, 'cross-site WebSocket refused: its Origin is not this gateway');
    }
    const go = (principal: Principal | null | undefined) => {
      if (!principal) return rejectUpgrade(socket, 401, 'authentication required');
      const t = target(parsed.user, parsed.rest, principal);
      const denied = accessDenied(principal, t.key, deps);
      if (denied) return rejectUpgrade(socket, 403, denied);
      const route = deps.routes.get(`${t.key.user}/${t.key.server}`);
      if (!route) return deps.onNoRouteUpgrade(req, socket, t);
      deps.touch(route.id);
      ctx.authorization = route.authorization;
      const headers = backendRequestHeaders(req, ctx, true);
      let requestHead = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) requestHead += `${headers[i]}: ${headers[i + 1]}\r\n`;
      // The attempt's closures hold the request (for its log lines); the relay's hooks come from relayHooks(),
      // outside this scope, so that an open WebSocket keeps none of it.
      const close = pipeUpgrade(route, socket, {
        connectTimeoutMs: deps.connectTimeoutMs,
        requestHead: `${requestHead}\r\n`,
        body: head,
        onOpen: () => {
          if (deps.accessLog) deps.log.info({ reqId: requestId(req), user: principal.name, server: route.id, url: redactUrl(req.url!) }, 'proxied upgrade');
          return relayHooks(route, principal, t.key, close, generation);
        },
        onFailure: (err) => {
          const failure = classify(err);
          deps.metrics.proxyError(failure.kind);
          deps.log.warn({ reqId: requestId(req), user: principal.name, server: route.id, err: err.message, code: err.code }, 'proxy error (upgrade)');
          if (failure.kind === 'refused') deps.onBackendDown(route.key);
          rejectUpgrade(socket, failure.status, `${describe(t.key)}: ${failure.message}`);
        },
      });
    };
    const cached = deps.auth.cached(req.headers);
    if (cached) go(cached);
    else deps.auth.authenticate(req.headers).then(go, () => rejectUpgrade(socket, 500, 'internal error while checking credentials'));
  }

  /** A relay's bookkeeping for its whole life: activity, the WebSocket gauge, the open-upgrades registry. */
  function relayHooks(route: Route, principal: Principal, key: ServerKey, close: () => void, generation: number): RelayHooks {
    const open: OpenUpgrade = { principal, key, close };
    deps.metrics.websockets.inc();
    upgrades.add(open, generation);
    return {
      onActivity: () => deps.touch(route.id),
      onClose: () => {
        deps.metrics.websockets.dec();
        upgrades.remove(open);
      },
    };
  }

  return { handleRequest, handleUpgrade, recheckUpgrades: upgrades.recheck };
}

/** Why `principal` may not use the server, or null. A browser session reaches only its own servers: pages a
 *  user's server serves share the gateway's origin, so an admin's session there would act for the admin
 *  (JupyterHub's admin_access is off by default for the same reason). Others need access:servers on a token. */
function accessDenied(principal: Principal, key: ServerKey, deps: Pick<ProxyDeps, 'canAccess'>): string | null {
  if (!deps.canAccess(principal, key)) return `${principal.name} may not access ${describe(key)}`;
  if (principal.via === 'cookie' && principal.name !== key.user) {
    return `${principal.name} may not open ${describe(key)} in a browser session; use an API token with access:servers`;
  }
  return null;
}

/** JupyterHub's JSON error shape for API callers, a small page for browsers. */
export function sendError(req: IncomingMessage, res: ServerResponse, status: number, message: string, location?: string, extra?: Record<string, unknown>): void {
  if (res.headersSent) return void res.destroy();
  if (location) return void res.writeHead(status, { location, 'cache-control': 'no-store' }).end();
  const wantsHtml = (req.headers.accept ?? '').includes('text/html') && !(req.url ?? '').includes('/api/');
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  let body: string;
  if (wantsHtml) {
    headers['content-type'] = 'text/html; charset=utf-8';
    body = `<!doctype html><meta charset="utf-8"><title>${status} ${STATUS_CODES[status] ?? ''}</title>` +
      `<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}</style>` +
      `<h1>${status} ${STATUS_CODES[status] ?? ''}</h1><p>${esc(message)}</p><p><a href="/hub/home">Home</a></p>`;
  } else {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ status, message, ...extra });
  }
  res.writeHead(status, headers).end(body);
}

/** A real HTTP answer on an upgrade socket, as ws's abortHandshake() writes. */
export function rejectUpgrade(socket: Duplex, status: number, message: string, extra?: Record<string, unknown>): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ status, message, ...extra });
  socket.once('finish', () => socket.destroy());   // the server side is half-open: do not wait for the client
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
