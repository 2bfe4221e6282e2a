/** @module What the proxy does when a path has no running server behind it. Only the owner's top-level page
 *  load starts a server (the pending page is served in place, at the URL asked for, so it costs no redirect);
 *  every other request gets 424 JSON naming the spawn URL, as JupyterHub ≥ 2 answers: an open JupyterLab
 *  tab polls api/ forever, and if that restarted servers, none would stay culled. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { can } from '../auth/authenticator.ts';
import { GatewayError } from '../errors.ts';
import { rejectUpgrade, sendError, type Target } from '../../proxy/handle.ts';
import type { HubContext } from './context.ts';
import { NO_FRAMING } from './pages/layout.ts';
import { pendingPage, profileForm } from './pages/spawn.ts';
import { describeServer, firstSegment, parseUserPath, progressPath, serverApiPath } from '../routes/paths.ts';

const spawnUrl = (t: Target) => `/hub/spawn/${t.key.user}${t.key.server ? `/${t.key.server}` : ''}`;

export function lazySpawnHandlers(ctx: HubContext) {
  function notRunning(t: Target) {
    const starting = ctx.orchestrator.isSpawning(t.key);
    return {
      message: `${describeServer(t.key)} is ${starting ? 'starting' : 'not running'}; load ${spawnUrl(t)} or a page of it in a browser to start it`,
      extra: { spawn_url: spawnUrl(t), pending: starting ? 'spawn' : null },
    };
  }

  function onNoRoute(req: IncomingMessage, res: ServerResponse, t: Target): void {
    if (!t.isNavigation || t.principal.name !== t.key.user || t.principal.kind !== 'user' || !can(t.principal, 'servers', t.key)) {
      const { message, extra } = notRunning(t);
      return sendError(req, res, 424, message, undefined, extra);
    }
    const html = (body: string, status = 200) => void res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...NO_FRAMING }).end(body);
    const progressUrl = progressPath(t.key);
    const showPending = () => html(pendingPage({ user: t.principal.name, forUser: t.key.user, progressUrl, cancelUrl: serverApiPath(t.key), then: req.url! }));
    if (ctx.orchestrator.isSpawning(t.key)) return showPending();
    if (ctx.orchestrator.profiles().length > 1) {
      const action = `${spawnUrl(t)}?next=${encodeURIComponent(req.url!)}`;
      return html(profileForm({ user: t.principal.name, forUser: t.key.user, action, profiles: ctx.orchestrator.profiles() }));
    }
    ctx.orchestrator.start(t.key).then(showPending, (err: Error) => {
      const status = err instanceof GatewayError ? err.status : 500;
      if (!(err instanceof GatewayError)) ctx.log.error({ err }, 'lazy spawn failed');
      // A stop still under way, or a race with another replica: the page shows why and offers a reload.
      sendError(req, res, status, err instanceof GatewayError ? err.message : 'internal error while starting the server');
    });
  }

  function onNoRouteUpgrade(_req: IncomingMessage, socket: Duplex, t: Target): void {
    const { message, extra } = notRunning(t);
    rejectUpgrade(socket, 424, message, extra);
  }

  function onUnauthenticated(req: IncomingMessage, res: ServerResponse, isNavigation: boolean): void {
    if (isNavigation) {
      return void res.writeHead(302, { location: `/hub/login?next=${encodeURIComponent(req.url!)}`, 'cache-control': 'no-store' }).end();
    }
    sendError(req, res, 401, 'authentication required: log in, or send "Authorization: token …"');
  }

  return { onNoRoute, onNoRouteUpgrade, onUnauthenticated };
}

/** At login, when the browser is about to load its own stopped server (the default landing, or a `next` of
 *  theirs): starts it before the redirect, so the spawn begins one round trip earlier. The page load that
 *  follows finds it under way and shows its progress. Awaited only until the spawn is registered, so that page
 *  load joins it whatever the store's latency. Not when a profile must be chosen, nor for an api/ URL (those
 *  get 424, not a spawn). A failure here is left for that page load to meet and show. */
export async function spawnAhead(ctx: HubContext, user: string, landing: string): Promise<void> {
  const parsed = landing.startsWith('/user/') ? parseUserPath(landing) : null;
  if (!parsed?.ok || parsed.user !== user || parsed.rest.startsWith('api/') || parsed.rest.includes('/api/')) return;
  const seg = firstSegment(parsed.rest);
  const key = { user, server: seg && ctx.orchestrator.isNamed(user, seg) ? seg : '' };
  if (ctx.routes.get(`${key.user}/${key.server}`) || ctx.orchestrator.isSpawning(key) || ctx.orchestrator.profiles().length > 1) return;
  await ctx.orchestrator.start(key).catch((err: Error) => ctx.log.info({ user, err: err.message }, 'spawn at login not started; the page load will try'));
}
