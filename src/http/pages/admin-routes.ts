/** @module /hub/admin and its forms. The page needs `admin-ui` (as JupyterHub's); each action needs the scope
 *  its REST API call would, on that user or server. Every POST passes the hub's Origin check (server.ts). An
 *  admin cannot demote, delete or reset the password of themselves here: that is how a centre loses its last
 *  admin, and their own password changes only with the current one (the password page). */
import type { FastifyInstance } from 'fastify';
import { can, type Principal } from '../../auth/authenticator.ts';
import { hashPassword, randomPassword } from '../../auth/password.ts';
import { badRequest, notFound } from '../../errors.ts';
import { SERVER_NAME, USER_NAME } from '../../routes/paths.ts';
import type { ServerKey, ServerRecord, User } from '../../store/store.ts';
import { stopWithin } from '../api/servers.ts';
import { checkUserName, findUser, requireScope, requireScopeAnywhere } from '../api/guard.ts';
import { serverModel } from '../api/models.ts';
import { deleteUser, newUser } from '../api/users.ts';
import type { HubContext, Reply, Req } from '../context.ts';
import { setPassword } from '../own-password.ts';
import { adminPage, confirmPage, listingQuery, passwordsPage, type AdminServer, type Listing, type ServerStatus } from './admin.ts';
import { ISOLATION_WARNING } from './layout.ts';

const PAGE_SIZE = 50;
/** Each new user costs a password hash (~50 ms of a core); a class list fits, a mistake does not take minutes. */
const MAX_NEW_USERS = 200;

/** What the redirect after an action tells the admin (codes, not text: a link cannot put words in the page). */
const NOTICES: Record<string, (user: string, server: string, n: string) => string> = {
  starting: (u, s) => `Starting ${who(u, s)}.`,
  stopped: (u, s) => `Stopped ${who(u, s)}.`,
  stopping: (u, s) => `${who(u, s)} is still stopping.`,
  'admin-granted': (u) => `${u} is now an admin.`,
  'admin-revoked': (u) => `${u} is no longer an admin.`,
  deleted: (u) => `Deleted ${u}; their home folder was archived.`,
  'stopped-all': (_u, _s, n) => `Stopped ${n} server${n === '1' ? '' : 's'}.`,
};
const who = (user: string, server: string) => (server ? `${user}'s server "${server}"` : `${user}'s server`);

function field(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`${key} must be given once, as text`);
  return v;
}

function listingOf(src: Record<string, unknown>): Listing {
  const filter = (field(src, 'name_filter') ?? '').trim().toLowerCase();
  if (filter.length > 24) throw badRequest('name_filter is longer than any user name (24 characters)');
  const rawOffset = field(src, 'offset') || '0';
  const offset = Number(rawOffset);
  if (!Number.isInteger(offset) || offset < 0) throw badRequest(`offset must be a non-negative integer, got "${rawOffset}"`);
  return { filter, offset, limit: PAGE_SIZE };
}

const statusOf = (m: ReturnType<typeof serverModel>): ServerStatus =>
  m.pending === 'spawn' ? 'starting' : m.pending === 'stop' ? 'stopping' : m.ready ? 'running' : 'stopped';

export async function adminPageRoutes(app: FastifyInstance, ctx: HubContext, requireUser: (req: Req, reply: Reply) => Principal | null): Promise<void> {
  const latest = (r: ServerRecord) => ctx.activity.latest({ user: r.user, server: r.server });
  const body = (req: Req) => {
    const b = req.body ?? {};
    if (typeof b !== 'object' || Array.isArray(b)) throw badRequest('the form is not a form');
    return b as Record<string, unknown>;
  };
  /** The viewer, on the admin page: logged in (else to the login page) and holding admin-ui. */
  const viewer = (req: Req, reply: Reply) => {
    const p = requireUser(req, reply);
    if (p) requireScope(req, 'admin-ui');
    return p;
  };
  const notMe = (p: Principal, name: string, what: string) => {
    if (p.kind === 'user' && p.name === name) throw badRequest(`you cannot ${what} yourself here; ask another admin`);
  };
  const done = (reply: Reply, l: Listing, notice: string, o: { user?: string; server?: string; n?: number } = {}) =>
    reply.redirect(listingQuery(l, {
      done: notice, ...(o.user ? { user: o.user } : {}), ...(o.server ? { server: o.server } : {}), ...(o.n !== undefined ? { n: String(o.n) } : {}),
    }), 303);
  const serverKey = async (req: Req, name: string): Promise<ServerKey> => {
    const server = field(body(req), 'server') ?? '';
    if (server && !SERVER_NAME.test(server)) throw badRequest(`invalid server name "${server}"`);
    await findUser(ctx, name);
    if (server && !(await ctx.store.servers.get({ user: name, server }))) throw notFound(`${name} has no server named "${server}"`);
    return { user: name, server };
  };

  app.get('/hub/admin', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    requireScopeAnywhere(req, 'list:users');
    const q = req.query as Record<string, unknown>;
    const l = listingOf(q);
    const visible = (await ctx.store.users.list())
      .filter((u) => can(p, 'list:users', { user: u.name, groups: ctx.groups.of(u.name) }) && u.name.includes(l.filter));
    const servers = await ctx.store.servers.list();
    const shown = visible.slice(l.offset, l.offset + l.limit);
    const users = shown.map((u) => adminUser(p, u, servers.filter((s) => s.user === u.name)));
    const active = servers.filter((s) => s.state !== 'stopped' || ctx.orchestrator.isSpawning(s)).length;
    const notice = typeof q.done === 'string' && NOTICES[q.done]
      ? NOTICES[q.done](String(q.user ?? '').replace(/[^a-z0-9._-]/g, ''), String(q.server ?? '').replace(/[^a-z0-9._-]/g, ''), String(Number(q.n) || 0))
      : undefined;
    reply.type('text/html').header('cache-control', 'no-store').send(adminPage({
      viewer: p.name, users, listing: l, total: visible.length, active, notice,
      profiles: ctx.orchestrator.profiles(), warning: ctx.isolated ? undefined : ISOLATION_WARNING,
    }));
  });

  function adminUser(p: Principal, u: User, records: ServerRecord[]) {
    const groups = ctx.groups.of(u.name);
    const target = { user: u.name, groups };
    const showServers = can(p, 'read:servers', target);
    const byName = new Map(records.map((r) => [r.server, r]));
    const names = showServers ? ['', ...records.map((r) => r.server).filter((s) => s)] : [];
    const servers: AdminServer[] = names.map((name) => {
      const r = byName.get(name);
      const m = r ? serverModel(r, ctx.orchestrator, latest(r)) : null;
      return {
        name, status: m ? statusOf(m) : 'stopped', lastActivity: m?.last_activity ?? null,
        // A browser session opens only its own servers (proxy/handle.ts says why); a token, with access:servers.
        canOpen: p.name === u.name || (p.via !== 'cookie' && can(p, 'access:servers', { ...target, server: name })),
      };
    });
    const last = [u.lastActivity, ...servers.map((s) => s.lastActivity)].filter((x): x is string => !!x).sort().at(-1) ?? null;
    return { name: u.name, admin: u.admin, groups, lastActivity: last, servers };
  }

  app.post('/hub/admin/users', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    requireScope(req, 'admin:users');
    const b = body(req);
    const l = listingOf(b);
    const names = [...new Set((field(b, 'usernames') ?? '').split(/[\s,]+/).map((n) => n.trim().toLowerCase()).filter((n) => n))];
    if (!names.length) throw badRequest('give at least one user name');
    if (names.length > MAX_NEW_USERS) throw badRequest(`at most ${MAX_NEW_USERS} users at a time; ${names.length} were given`);
    const bad = names.filter((n) => !USER_NAME.test(n));
    if (bad.length) checkUserName(bad[0]);                      // nothing is created while any name is wrong
    const admin = field(b, 'admin') === 'yes';
    const made: { name: string; password: string }[] = [];
    const existing: string[] = [];
    for (const name of names) {
      if (await ctx.store.users.get(name)) { existing.push(name); continue; }
      const password = randomPassword();
      if (await ctx.store.users.add(newUser(name, admin, await hashPassword(password)))) made.push({ name, password });
      else existing.push(name);
    }
    ctx.log.info({ by: p.name, users: made.map((m) => m.name), admin }, 'users added from the admin page');
    reply.type('text/html').header('cache-control', 'no-store').code(made.length ? 201 : 200);
    return passwordsPage(p.name, made, { existing, back: listingQuery(l) });
  });

  app.post('/hub/admin/users/:name/admin', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    const { name } = req.params as { name: string };
    requireScope(req, 'admin:users');
    const b = body(req);
    const l = listingOf(b);
    const want = field(b, 'admin');
    if (want !== 'yes' && want !== 'no') throw badRequest('admin must be "yes" or "no"');
    notMe(p, name, 'change the admin flag of');
    await findUser(ctx, name);
    await ctx.store.users.update(name, { admin: want === 'yes' });
    ctx.auth.forgetUser(name);
    ctx.log.info({ user: name, admin: want === 'yes', by: p.name }, 'admin flag changed');
    return done(reply, l, want === 'yes' ? 'admin-granted' : 'admin-revoked', { user: name });
  });

  app.post('/hub/admin/users/:name/password', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    const { name } = req.params as { name: string };
    requireScope(req, 'admin:users');
    const l = listingOf(body(req));
    notMe(p, name, 'reset the password of');
    await findUser(ctx, name);
    const password = randomPassword();
    await setPassword(ctx, name, password);                     // ends the user's sessions
    ctx.log.info({ user: name, by: p.name }, 'password reset by an admin');
    reply.type('text/html').header('cache-control', 'no-store');
    return passwordsPage(p.name, [{ name, password }], { back: listingQuery(l) });
  });

  app.post('/hub/admin/users/:name/delete', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    const { name } = req.params as { name: string };
    requireScope(req, 'delete:users', { user: name });
    const b = body(req);
    const l = listingOf(b);
    notMe(p, name, 'delete');
    await findUser(ctx, name);
    if (field(b, 'confirm') !== 'yes') {
      reply.type('text/html').header('cache-control', 'no-store');
      return confirmPage(p.name, {
        title: `Delete ${name}`, action: req.url, listing: l,
        text: `This stops ${name}'s servers, ends their sessions and tokens, and removes their account. Their home folder is moved to an archive only root can read (the README says where). The user cannot be restored from here.`,
      });
    }
    await deleteUser(ctx, name, p.name);
    return done(reply, l, 'deleted', { user: name });
  });

  app.post('/hub/admin/users/:name/start', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    const { name } = req.params as { name: string };
    const b = body(req);
    const l = listingOf(b);
    requireScope(req, 'servers', { user: name, server: field(b, 'server') ?? '' });
    const key = await serverKey(req, name);
    const profile = field(b, 'profile');
    await ctx.orchestrator.start(key, { profile: profile || undefined });
    ctx.log.info({ user: name, server: key.server, by: p.name }, 'server started from the admin page');
    return done(reply, l, 'starting', { user: name, server: key.server });
  });

  app.post('/hub/admin/users/:name/stop', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    const { name } = req.params as { name: string };
    const b = body(req);
    const l = listingOf(b);
    requireScope(req, ['delete:servers', 'servers'], { user: name, server: field(b, 'server') ?? '' });
    const key = await serverKey(req, name);
    const { finished } = await stopWithin(ctx, key, `admin ${p.name}`);
    return done(reply, l, finished ? 'stopped' : 'stopping', { user: name, server: key.server });
  });

  app.post('/hub/admin/stop-all', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    requireScopeAnywhere(req, ['delete:servers', 'servers']);
    const b = body(req);
    const l = listingOf(b);
    const mayStop = (s: ServerRecord) => ['delete:servers', 'servers'].some((scope) =>
      can(p, scope, { user: s.user, server: s.server, groups: ctx.groups.of(s.user) }));
    const targets = (await ctx.store.servers.list()).filter((s) => (s.state !== 'stopped' || ctx.orchestrator.isSpawning(s)) && mayStop(s));
    if (field(b, 'confirm') !== 'yes') {
      reply.type('text/html').header('cache-control', 'no-store');
      return confirmPage(p.name, {
        title: 'Stop all servers', action: '/hub/admin/stop-all', listing: l,
        text: `This stops ${targets.length} server${targets.length === 1 ? '' : 's'}; whatever runs in them (kernels, computations) ends. Their files stay.`,
      });
    }
    await Promise.all(targets.map((s) => stopWithin(ctx, { user: s.user, server: s.server }, `admin ${p.name}: stop all`)));
    ctx.log.info({ by: p.name, servers: targets.length }, 'all servers stopped from the admin page');
    return done(reply, l, 'stopped-all', { n: targets.length });
  });
}
