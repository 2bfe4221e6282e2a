/** @module The hub's pages: login, logout, home, spawn form, spawn-pending, user-redirect, health; the token,
 *  password and admin pages live in files of their own. */
import type { FastifyInstance } from 'fastify';
import { can } from '../../auth/authenticator.ts';
import { verifyPassword } from '../../auth/password.ts';
import { badRequest, GatewayError } from '../../errors.ts';
import { progressPath, SERVER_NAME, serverApiPath, serverPrefix, USER_NAME } from '../../routes/paths.ts';
import type { HubContext, Reply, Req } from '../context.ts';
import { guessFailed, guessRetryAfter, guessSucceeded } from '../own-password.ts';
import { clearSessionCookie, openSession } from '../session-cookie.ts';
import { spawnAhead } from '../lazy-spawn.ts';
import { adminGroupRoutes } from './admin-groups.ts';
import { adminPageRoutes } from './admin-routes.ts';
import { homePage } from './home.ts';
import { ISOLATION_WARNING } from './layout.ts';
import { loginPage } from './login.ts';
import { passwordPageRoutes } from './password-page.ts';
import { tokenPageRoutes } from './token-page.ts';
import { pendingPage, profileForm } from './spawn.ts';
import { requireScope } from '../api/guard.ts';
import { stopWithin } from '../api/servers.ts';

/** A `next` we will redirect to: a path on this gateway, never another site (`//evil`, `/\evil`, `http:`). */
export function safeNext(next: unknown): string | undefined {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return undefined;
  if (/[\u0000-\u001f\\]/.test(next)) return undefined;
  return next;
}

export async function pageRoutes(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const loginRedirect = (req: Req) => `/hub/login?next=${encodeURIComponent(req.url)}`;
  const requireUser = (req: Req, reply: Reply) => {
    if (req.principal) return req.principal;
    reply.redirect(loginRedirect(req), 302);
    return null;
  };

  await tokenPageRoutes(app, ctx, requireUser);
  await adminPageRoutes(app, ctx, requireUser);
  await adminGroupRoutes(app, ctx, requireUser);
  await passwordPageRoutes(app, ctx, requireUser);

  app.get('/', async (req, reply) => reply.redirect(req.principal ? '/hub/home' : '/hub/login', 302));
  app.get('/hub', async (_req, reply) => reply.redirect('/hub/', 302));
  app.get('/hub/', async (req, reply) => reply.redirect(req.principal ? '/hub/home' : '/hub/login', 302));
  app.get('/hub/health', async () => ({ status: 'ok' }));

  app.get('/hub/login', async (req, reply) => {
    const next = safeNext((req.query as { next?: string }).next);
    if (req.principal?.via === 'cookie') return reply.redirect(next ?? serverPrefix(req.principal.name, ''), 302);
    reply.type('text/html').send(loginPage({ next }));
  });

  app.post('/hub/login', async (req, reply) => {
    const body = (req.body ?? {}) as { username?: unknown; password?: unknown; next?: unknown };
    const next = safeNext((req.query as { next?: string }).next ?? body.next);
    const username = typeof body.username === 'string' ? body.username.trim().toLowerCase() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const ip = req.ip;
    const retry = guessRetryAfter(ctx, username, ip);
    if (retry > 0) {
      reply.code(429).header('retry-after', String(retry)).type('text/html');
      return loginPage({ next, username, error: `Too many failed logins. Try again in ${retry} s.` });
    }
    const user = USER_NAME.test(username) ? await ctx.store.users.get(username) : null;
    const ok = await verifyPassword(password, user?.passwordHash ?? null);
    if (!user || !ok) {
      guessFailed(ctx, username, ip);
      ctx.log.info({ user: username, ip }, 'login failed');
      reply.code(403).type('text/html');
      return loginPage({ next, username, error: 'Invalid user name or password.' });
    }
    guessSucceeded(ctx, username, ip);
    await openSession(ctx, reply, user.name);
    ctx.log.info({ user: user.name }, 'login');
    const landing = next ?? serverPrefix(user.name, '');
    // Only a browser's form submission (a top-level page load, which will follow the redirect): a script that
    // logs in for a cookie must not start a server.
    const dest = req.headers['sec-fetch-dest'];
    if (dest !== undefined ? dest === 'document' : (req.headers.accept ?? '').includes('text/html')) await spawnAhead(ctx, user.name, landing);
    return reply.redirect(landing, 302);
  });

  app.get('/hub/logout', async (req, reply) => {
    const p = req.principal;
    // JupyterHub's shutdown_on_logout: the hardware goes back when its user leaves, not an hour later.
    if (ctx.config.auth.shutdown_on_logout && p?.via === 'cookie' && p.kind === 'user') {
      const live = (await ctx.store.servers.list({ user: p.name })).filter((s) => ctx.orchestrator.isActive(s));
      await Promise.all(live.map((s) => stopWithin(ctx, { user: s.user, server: s.server }, 'logout')));
    }
    if (req.principal?.sessionId) {
      await ctx.store.sessions.revoke(req.principal.sessionId);
      ctx.auth.forgetSession(req.principal.sessionId);
    }
    clearSessionCookie(ctx, reply);
    return reply.redirect('/hub/login', 302);
  });

  app.get('/hub/home', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    const warning = p.admin && !ctx.isolated ? ISOLATION_WARNING : undefined;
    const servers = await ctx.store.servers.list({ user: p.name });
    reply.type('text/html').header('cache-control', 'no-store')
      .send(homePage({ user: p.name, admin: can(p, 'admin-ui'), servers, named: ctx.config.named_servers, warning }));
  });

  // /hub/spawn[/NAME[/SERVER]]: the profile form (several profiles) or a start; then the pending page.
  const spawnKey = (req: Req) => {
    const { name, server = '' } = req.params as { name?: string; server?: string };
    const user = name ?? req.principal!.name;
    if (!USER_NAME.test(user)) throw badRequest(`invalid user name "${user}"`);
    if (server && !SERVER_NAME.test(server)) throw badRequest(`invalid server name "${server}"`);
    return { user, server };
  };
  const spawnGet = async (req: Req, reply: Reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    const key = spawnKey(req);
    requireScope(req, 'servers', { user: key.user, server: key.server });
    const next = safeNext((req.query as { next?: string }).next);
    if (key.server) await ctx.orchestrator.checkNamed(key);   // no form for a server that cannot be made
    if (ctx.orchestrator.profiles().length > 1 && !ctx.orchestrator.isSpawning(key)) {
      const action = `/hub/spawn/${key.user}${key.server ? `/${key.server}` : ''}${next ? `?next=${encodeURIComponent(next)}` : ''}`;
      return reply.type('text/html').send(profileForm({ user: p.name, forUser: key.user, action, profiles: ctx.orchestrator.profiles() }));
    }
    return startAndShow(reply, key, undefined, next);
  };
  const spawnPost = async (req: Req, reply: Reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    const key = spawnKey(req);
    requireScope(req, 'servers', { user: key.user, server: key.server });
    const profile = (req.body as { profile?: unknown } | undefined)?.profile;
    if (profile !== undefined && typeof profile !== 'string') throw badRequest('profile must be a profile name');
    return startAndShow(reply, key, profile, safeNext((req.query as { next?: string }).next));
  };
  const startAndShow = async (reply: Reply, key: { user: string; server: string }, profile: string | undefined, next: string | undefined) => {
    if (key.server) await ctx.orchestrator.ensureNamed(key);
    if (!ctx.routes.get(`${key.user}/${key.server}`)) await ctx.orchestrator.start(key, { profile });
    return reply.redirect(next ?? serverPrefix(key.user, key.server), 302);
  };
  for (const path of ['/hub/spawn', '/hub/spawn/:name', '/hub/spawn/:name/:server']) {
    app.get(path, spawnGet);
    app.post(path, spawnPost);
  }

  app.get('/hub/spawn-pending/:name', pending);
  app.get('/hub/spawn-pending/:name/:server', pending);
  async function pending(req: Req, reply: Reply) {
    const p = requireUser(req, reply);
    if (!p) return;
    const key = spawnKey(req);
    requireScope(req, ['read:servers', 'servers'], { user: key.user, server: key.server });
    const prefix = serverPrefix(key.user, key.server);
    if (ctx.routes.get(`${key.user}/${key.server}`)) return reply.redirect(prefix, 302);
    if (!ctx.orchestrator.run(key)) throw new GatewayError('NOT_RUNNING', 400, `${key.user}'s server is not starting; open ${prefix} to start it`);
    const progressUrl = progressPath(key);
    const mayCancel = can(p, 'servers', key) || can(p, 'delete:servers', key);
    reply.type('text/html').send(pendingPage({ user: p.name, forUser: key.user, progressUrl, cancelUrl: mayCancel ? serverApiPath(key) : undefined, then: prefix }));
  }

  // /hub/user-redirect/PATH → /user/ME/PATH: links that work for whoever opens them.
  app.get('/hub/user-redirect/*', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    const rest = req.url.slice('/hub/user-redirect/'.length);
    return reply.redirect(`${serverPrefix(p.name, '')}${rest.replace(/^\/+/, '')}`, 302);
  });
  // JupyterHub sends browsers of stopped servers to /hub/user/NAME/…; ours spawn in place at /user/NAME/….
  app.get('/hub/user/*', async (req, reply) => reply.redirect(`/user/${req.url.slice('/hub/user/'.length).replace(/^\/+/, '')}`, 302));
}
