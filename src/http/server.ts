/** @module The gateway's HTTP server: `/user/…` goes straight to the proxy (no framework router on the hot
 *  path); everything else is the hub, a fastify app. One auth check serves pages, the API and upgrades. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from './node-http.ts';
import { createHttpsServer, type TlsPair } from './tls.ts';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { can } from '../auth/authenticator.ts';
import { GatewayError } from '../errors.ts';
import { redactUrl } from '../log.ts';
import { requestId } from './request-id.ts';
import { createProxy, rejectUpgrade } from '../../proxy/handle.ts';
import { cookieWriteRefusal, isCrossSite, isSafeMethod } from '../../proxy/origin.ts';
import type { HubContext } from './context.ts';
import { lazySpawnHandlers } from './lazy-spawn.ts';
import { TooManyGuesses } from './own-password.ts';
import { esc, NO_FRAMING, page } from './pages/layout.ts';
import { pageRoutes } from './pages/routes.ts';
import { serversApi } from './api/servers.ts';
import { tokensApi } from './api/tokens.ts';
import { groupsApi } from './api/groups.ts';
import { JUPYTERHUB_API_VERSION, usersApi } from './api/users.ts';
import { requireScope } from './api/guard.ts';

const USER_PREFIX = '/user/';

function noSchemaCompiler(): () => never {
  return () => { throw new Error('route schemas are not supported: the hub validates bodies in its handlers'); };
}

/** `tls`: the pair to serve HTTPS with (read once at start). */
export async function buildHttpServer(ctx: HubContext, tls?: TlsPair) {
  const publicOrigin = ctx.config.publicUrl.origin;
  // HSTS on the hub's own answers (login, pages, API), where every browser session starts; not on what users'
  // servers send, which the proxy passes on as it is.
  const hsts = ctx.config.tls?.hsts_max_age ? `max-age=${ctx.config.tls.hsts_max_age}` : undefined;
  const lazy = lazySpawnHandlers(ctx);
  const proxy = createProxy({
    publicOrigin,
    routes: ctx.routes,
    auth: ctx.auth,
    canAccess: (p, key) => can(p, 'access:servers', { user: key.user, server: key.server, groups: ctx.groups.of(key.user) }),
    isNamedServer: (user, name) => ctx.orchestrator.isNamed(user, name),
    touch: ctx.activity.touch,
    metrics: ctx.metrics,
    log: ctx.log,
    connectTimeoutMs: ctx.config.proxy.connect_timeout * 1000,
    slowRequestMs: ctx.config.slow_request_ms,
    accessLog: ctx.config.access_log,
    onBackendDown: (key) => void ctx.orchestrator.noticeBackendDown(key).catch((err) => ctx.log.error({ err }, 'poll after refused connection failed')),
    ...lazy,
  });
  // What may withdraw access also judges again the WebSockets it had opened (proxy/open-upgrades.ts).
  ctx.auth.onForget((affected) => void proxy.recheckUpgrades((u) => affected(u.principal)));
  ctx.groups.onChange((changed) => void proxy.recheckUpgrades((u) => changed.has(u.key.user)));

  let hubHandler: (req: IncomingMessage, res: ServerResponse) => void = () => {};
  const serverOptions = { maxHeaderSize: 16 * 1024, requestTimeout: 0, keepAliveTimeout: 65_000 };
  const route = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url!.startsWith(USER_PREFIX)) proxy.handleRequest(req, res);
    else hubHandler(req, res);
  };
  const server = tls ? createHttpsServer(tls, serverOptions, route) : createServer(serverOptions, route);
  server.on('upgrade', (req, socket, head) => {
    // Node removes its own error listener before 'upgrade': without this a reset by the client kills the process.
    socket.on('error', () => socket.destroy());
    if (req.url!.startsWith(USER_PREFIX)) proxy.handleUpgrade(req, socket, head);
    else rejectUpgrade(socket, 404, 'no WebSocket endpoint here');
  });

  const app: FastifyInstance = Fastify({
    serverFactory: (handler) => { hubHandler = handler; return server; },
    logger: false,
    genReqId: requestId,
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    // The hub declares no route schemas (bodies are checked in the handlers), so fastify's schema compilers
    // (ajv, ajv-formats, fast-json-stringify) are never needed; loading them cost ~100 ms of every start.
    schemaController: { compilersFactory: { buildValidator: noSchemaCompiler, buildSerializer: noSchemaCompiler } },
  });
  await app.register(import('@fastify/formbody'));
  // Bodies other than forms are JSON whatever their Content-Type says (or lacks), and an empty body is {}:
  // JupyterHub reads them so, and clients (jupyterhub-idle-culler's DELETE with {"remove": true}) rely on it.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', '*'], { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (!text.trim()) return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new GatewayError('BAD_JSON', 400, 'the request body is not valid JSON'), undefined);
    }
  });
  app.decorateRequest('principal', null);
  app.decorate('groupsOf', ctx.groups.of);

  app.addHook('onRequest', async (req) => {
    // A body without a Content-Type is JSON, as JupyterHub reads it (fastify would answer 415).
    const hasBody = (req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined;
    if (!req.headers['content-type'] && hasBody) req.headers['content-type'] = 'application/json';
    req.principal = await ctx.auth.authenticate(req.headers);
    // Cookie-authenticated changes must come from our own pages; the login form must not come from another site.
    if (!isSafeMethod(req.method)) {
      const refusal = req.principal?.via === 'cookie' ? cookieWriteRefusal(req.headers, publicOrigin)
        : req.url.startsWith('/hub/login') && isCrossSite(req.headers, publicOrigin) ? 'cross-site request refused: its Origin is not this gateway' : null;
      if (refusal) throw new GatewayError('CROSS_SITE', 403, refusal);
    }
  });
  // Proxied responses do not pass here: what a user's server sends is its own.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.headers(NO_FRAMING);
    // As every JupyterHub response: jupyterhub-singleuser and clients compare it with their own version.
    reply.header('x-jupyterhub-version', JUPYTERHUB_API_VERSION);
    if (hsts) reply.header('strict-transport-security', hsts);
    return payload;
  });
  app.addHook('onResponse', async (_req, reply) => {
    ctx.metrics.hubRequests.labels(`${Math.floor(reply.statusCode / 100)}xx`).observe(reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: FastifyError | GatewayError, req, reply) => {
    const status = err instanceof GatewayError ? err.status : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    const message = err instanceof GatewayError || status < 500 ? err.message : 'internal error; the gateway log has the details';
    if (status >= 500) ctx.log.error({ err, reqId: req.id, method: req.method, url: redactUrl(req.url) }, 'request failed');
    if (err instanceof TooManyGuesses) reply.header('retry-after', String(err.retryAfterS));
    const wantsHtml = !req.url.startsWith('/hub/api') && (req.headers.accept ?? '').includes('text/html');
    if (wantsHtml) {
      reply.code(status).type('text/html').send(page(`Error ${status}`, `<div class="card"><h1>Error ${status}</h1><p class="error">${esc(message)}</p></div>`));
    } else {
      reply.code(status).type('application/json').send({ status, message });
    }
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).type('application/json').send({ status: 404, message: `no such page or endpoint: ${req.method} ${req.url.split('?')[0]}` });
  });

  app.get('/metrics', async (req, reply) => {
    requireScope(req, 'read:metrics');
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  app.get('/hub/metrics', async (req, reply) => {
    requireScope(req, 'read:metrics');
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  await app.register(async (a) => usersApi(a, ctx));
  await app.register(async (a) => serversApi(a, ctx));
  await app.register(async (a) => tokensApi(a, ctx));
  await app.register(async (a) => groupsApi(a, ctx));
  await app.register(async (a) => pageRoutes(a, ctx));
  await app.ready();
  /** The hub alone (pages and REST API), for another listener: the proxy's paths are not served there. */
  const hubOnly = (req: IncomingMessage, res: ServerResponse) => hubHandler(req, res);
  return { server, app, hubOnly };
}
