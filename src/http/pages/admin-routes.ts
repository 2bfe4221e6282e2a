/** @module /hub/admin and its forms. The page needs `admin-ui` (as JupyterHub's); each action needs the scope
 *  its REST API call would, on that user or server, and the page shows only what the viewer may read and do.
 *  Every POST passes the hub's Origin check (server.ts). An admin cannot demote, delete or reset the password
 *  of themselves here: that is how a centre loses its last admin, and their own password changes only with the
 *  current one (the password page). */
import type { FastifyInstance } from 'fastify';
import { can, type Principal } from '../../auth/authenticator.ts';
import { hashPassword, randomPassword } from '../../auth/password.ts';
import { badRequest, notFound } from '../../errors.ts';
import { SERVER_NAME, USER_NAME } from '../../routes/paths.ts';
import type { ServerKey, ServerRecord, User } from '../../store/store.ts';
import { AnsweredRequests, requestIdField } from '../answered-requests.ts';
import { stopWithin } from '../api/servers.ts';
import { checkUserName, findUser, requireScope, requireScopeAnywhere } from '../api/guard.ts';
import { serverModel } from '../api/models.ts';
import { deleteUser, newUser } from '../api/users.ts';
import type { HubContext, Reply, Req } from '../context.ts';
import { revokeApiTokens, setPassword } from '../own-password.ts';
import { adminPage, confirmPage, listingQuery, passwordsPage, type AdminServer, type AdminUser, type AdminView, type Listing, type ServerStatus } from './admin.ts';
import { ISOLATION_WARNING } from './layout.ts';

const PAGE_SIZE = 50;
/** Each new user costs a password hash (~50 ms of a core); a class list fits, a mistake does not take minutes. */
const MAX_NEW_USERS = 200;
const STOP_SCOPES = ['delete:servers', 'servers'];

/** A form field given once, as text (a repeated field arrives as a list). */
export function field(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`${key} must be given once, as text`);
  return v;
}

function listingOf(src: Record<string, unknown>): Listing {
  const filter = (field(src, 'name_filter') ?? '').trim().toLowerCase();
  if (filter.length > 24) throw badRequest('name_filter is longer than any user name (24 characters)');
  const state = field(src, 'state') ?? '';
  if (state !== '' && state !== 'active') throw badRequest(`state must be "active" or left out, got "${state}"`);
  const sort = field(src, 'sort') || 'name';
  if (sort !== 'name' && sort !== 'last_activity') throw badRequest(`sort must be "name" or "last_activity", got "${sort}"`);
  const rawOffset = field(src, 'offset') || '0';
  const offset = Number(rawOffset);
  if (!Number.isInteger(offset) || offset < 0) throw badRequest(`offset must be a non-negative integer, got "${rawOffset}"`);
  return { filter, activeOnly: state === 'active', byActivity: sort === 'last_activity', offset, limit: PAGE_SIZE };
}

const statusOf = (m: ReturnType<typeof serverModel>): ServerStatus =>
  m.pending === 'spawn' ? 'starting' : m.pending === 'stop' ? 'stopping' : m.ready ? 'running' : 'stopped';
const who = (k: ServerKey) => (k.server ? `${k.user}'s server "${k.server}"` : `${k.user}'s server`);

/** The viewer of an admin page: logged in and holding admin-ui. A form posted after the session ended leads,
 *  after login, back to `landing` (the action's own URL takes only POSTs). */
export function adminViewer(requireUser: (req: Req, reply: Reply) => Principal | null, landing: string) {
  return (req: Req, reply: Reply): Principal | null => {
    if (!req.principal && req.method !== 'GET') {
      reply.redirect(`/hub/login?next=${encodeURIComponent(landing)}`, 303);
      return null;
    }
    const p = requireUser(req, reply);
    if (p) requireScope(req, 'admin-ui');
    return p;
  };
}

export async function adminPageRoutes(app: FastifyInstance, ctx: HubContext, requireUser: (req: Req, reply: Reply) => Principal | null): Promise<void> {
  const latest = (r: ServerRecord) => ctx.activity.latest({ user: r.user, server: r.server });
  const target = (user: string, server?: string) => ({ user, server, groups: ctx.groups.of(user) });
  const isActive = (s: ServerRecord) => ctx.orchestrator.isActive(s);
  const answered = new AnsweredRequests();
  const body = (req: Req) => {
    const b = req.body ?? {};
    if (typeof b !== 'object' || Array.isArray(b)) throw badRequest('the form is not a form');
    return b as Record<string, unknown>;
  };
  const viewer = adminViewer(requireUser, '/hub/admin');
  const notMe = (p: Principal, name: string, what: string) => {
    if (p.kind === 'user' && p.name === name) throw badRequest(`you cannot ${what} yourself here; ask another admin`);
  };
  /** Back to the list the admin was on. The notice names what was done; the page words it from the state it
   *  then finds (a link cannot make the page claim what did not happen). */
  const done = (reply: Reply, l: Listing, notice: string, k: { user?: string; server?: string } = {}) =>
    reply.redirect(listingQuery(l, { done: notice, ...(k.user ? { user: k.user } : {}), ...(k.server ? { server: k.server } : {}) }), 303);
  /** What the forms about one user start with: the viewer, the scope (on that user when `onUser`), the form and
   *  the list it came from, and the user, who may not be the viewer (`what` the viewer may not do to themselves). */
  const userForm = async (req: Req, reply: Reply, scope: string, onUser: boolean, what: string) => {
    const p = viewer(req, reply);
    if (!p) return null;
    const { name } = req.params as { name: string };
    requireScope(req, scope, onUser ? { user: name } : undefined);
    const b = body(req);
    const l = listingOf(b);
    notMe(p, name, what);
    await findUser(ctx, name);
    return { p, name, b, l };
  };
  const serverKey = async (req: Req, name: string): Promise<ServerKey> => {
    const server = field(body(req), 'server') ?? '';
    if (server && !SERVER_NAME.test(server)) throw badRequest(`invalid server name "${server}"`);
    await findUser(ctx, name);
    if (server && !(await ctx.store.servers.get({ user: name, server }))) throw notFound(`${name} has no server named "${server}"`);
    return { user: name, server };
  };

  async function noticeFor(p: Principal, q: Record<string, unknown>): Promise<AdminView['notice']> {
    const user = typeof q.user === 'string' && USER_NAME.test(q.user) ? q.user : '';
    const server = typeof q.server === 'string' && SERVER_NAME.test(q.server) ? q.server : '';
    const u = user ? await ctx.store.users.get(user) : null;
    const key = { user, server };
    switch (q.done) {
      case 'admin':
        return u && can(p, 'read:users', target(user)) ? { text: u.admin ? `${user} is now an admin.` : `${user} is no longer an admin.` } : undefined;
      case 'deleted':
        return user && !u ? { text: `Deleted ${user}.` } : undefined;
      case 'start': case 'stop': {
        if (!u || !can(p, 'read:servers', target(user, server))) return undefined;
        const run = ctx.orchestrator.run(key);
        const rec = await ctx.store.servers.get(key);
        if (run?.progress.last?.failed) return { text: `${who(key)} failed to start: ${run.progress.last.message}`, error: true };
        const status = rec ? statusOf(serverModel(rec, ctx.orchestrator, 0)) : 'stopped';
        return { text: `${who(key)} is ${status}.` };
      }
      case 'stop-all': {
        const left = (await ctx.store.servers.list()).filter((s) => isActive(s) && mayStop(p, s)).length;
        return left ? { text: `${left} of the servers you may stop are still running or stopping.`, error: true } : { text: 'All servers you may stop are stopped.' };
      }
      default:
        return undefined;
    }
  }
  const mayStop = (p: Principal, s: ServerRecord) => STOP_SCOPES.some((scope) => can(p, scope, target(s.user, s.server)));

  app.get('/hub/admin', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    requireScopeAnywhere(req, 'list:users');
    const q = req.query as Record<string, unknown>;
    const l = listingOf(q);
    const servers = await ctx.store.servers.list();
    const serversOf = new Map<string, ServerRecord[]>();
    for (const s of servers) serversOf.set(s.user, [...(serversOf.get(s.user) ?? []), s]);
    const readable = (s: ServerRecord) => can(p, 'read:servers', target(s.user, s.server));
    const visible = (await ctx.store.users.list()).filter((u) => can(p, 'list:users', target(u.name)) && u.name.includes(l.filter)
      && (!l.activeOnly || (serversOf.get(u.name) ?? []).some((s) => isActive(s) && readable(s))));
    if (l.byActivity) {
      // Latest first; users whose activity the viewer may not read, or who never did anything, last (by name).
      const activityOf = (u: User) => !can(p, 'read:users:activity', target(u.name)) ? 0 : Math.max(
        u.lastActivity ? Date.parse(u.lastActivity) : 0,
        ...(serversOf.get(u.name) ?? []).map((r) => Math.max(r.lastActivity ? Date.parse(r.lastActivity) : 0, latest(r))));
      const at = new Map(visible.map((u) => [u.name, activityOf(u)]));
      visible.sort((a, b) => at.get(b.name)! - at.get(a.name)! || (a.name < b.name ? -1 : 1));
    }
    const users = visible.slice(l.offset, l.offset + l.limit).map((u) => adminUser(p, u, serversOf.get(u.name) ?? []));
    reply.type('text/html').header('cache-control', 'no-store').send(adminPage({
      viewer: p.name, users, listing: l, total: visible.length, active: servers.filter((s) => isActive(s) && readable(s)).length,
      notice: await noticeFor(p, q), mayAdd: can(p, 'admin:users'),
      profiles: ctx.orchestrator.profiles(), warning: ctx.isolated ? undefined : ISOLATION_WARNING,
    }));
  });

  function adminUser(p: Principal, u: User, records: ServerRecord[]): AdminUser {
    const on = target(u.name);
    const byName = new Map(records.map((r) => [r.server, r]));
    const names = can(p, 'read:servers', on) ? ['', ...records.map((r) => r.server).filter((s) => s)] : [];
    const servers: AdminServer[] = names.map((name) => {
      const r = byName.get(name);
      const m = r ? serverModel(r, ctx.orchestrator, latest(r)) : null;
      const status = m ? statusOf(m) : 'stopped';
      const last = ctx.orchestrator.run({ user: u.name, server: name })?.progress.last;
      return {
        name, status, lastActivity: m?.last_activity ?? null,
        failure: status === 'stopped' && last?.failed ? last.message : undefined,
        // A browser session opens only its own servers (proxy/handle.ts says why); a token, with access:servers.
        canOpen: p.name === u.name || (p.via !== 'cookie' && can(p, 'access:servers', target(u.name, name))),
        canControl: can(p, 'servers', target(u.name, name)) || (status !== 'stopped' && can(p, 'delete:servers', target(u.name, name))),
      };
    });
    const activity = [u.lastActivity, ...servers.map((s) => s.lastActivity)].filter((x): x is string => !!x).sort().at(-1) ?? null;
    return {
      name: u.name, servers,
      admin: can(p, 'read:users', on) ? u.admin : undefined,
      groups: can(p, 'read:users:groups', on) ? ctx.groups.of(u.name) : undefined,
      lastActivity: can(p, 'read:users:activity', on) ? activity : undefined,
      may: { setAdmin: can(p, 'admin:users'), newPassword: can(p, 'admin:users'), delete: can(p, 'delete:users', on) },
    };
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
    const form = await userForm(req, reply, 'admin:users', false, 'change the admin flag of');
    if (!form) return;
    const { p, name, b, l } = form;
    const want = field(b, 'admin');
    if (want !== 'yes' && want !== 'no') throw badRequest('admin must be "yes" or "no"');
    await ctx.store.users.update(name, { admin: want === 'yes' });
    ctx.auth.forgetUser(name);
    ctx.log.info({ user: name, admin: want === 'yes', by: p.name }, 'admin flag changed');
    return done(reply, l, 'admin', { user: name });
  });

  app.post('/hub/admin/users/:name/password', async (req, reply) => {
    const form = await userForm(req, reply, 'admin:users', false, 'reset the password of');
    if (!form) return;
    const { p, name, b, l } = form;
    reply.type('text/html').header('cache-control', 'no-store');
    if (field(b, 'confirm') !== 'yes') {
      return confirmPage(p.name, {
        title: `New password for ${name}`, action: req.url, listing: l,
        text: `This gives ${name} a new random password, shown once on the next page, and logs them out of every browser. Their servers keep running.`,
        extra: `${requestIdField()}<label><input type="checkbox" name="revoke_tokens" value="yes" checked id="revoke-tokens"> Also revoke their API tokens (do this if someone else may have used the account: tokens survive a new password)</label>`,
      });
    }
    if (!answered.first(p.name, field(b, 'request_id'), 'the admin page')) {
      return passwordsPage(p.name, [], { back: listingQuery(l), note: `This request was already answered: ${name}'s password is the one shown then. If it was lost, ask for a new one from the admin page.` });
    }
    const password = randomPassword();
    await setPassword(ctx, name, password);                     // ends the user's sessions
    const revoked = field(b, 'revoke_tokens') === 'yes' ? await revokeApiTokens(ctx, name) : 0;
    ctx.log.info({ user: name, by: p.name, revokedTokens: revoked }, 'password reset by an admin');
    return passwordsPage(p.name, [{ name, password }], {
      back: listingQuery(l), note: `${name} was logged out of every browser${revoked ? ` and ${revoked} API token${revoked === 1 ? ' was' : 's were'} revoked` : ''}.`,
    });
  });

  app.post('/hub/admin/users/:name/delete', async (req, reply) => {
    const form = await userForm(req, reply, 'delete:users', true, 'delete');
    if (!form) return;
    const { p, name, b, l } = form;
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
    if (ctx.orchestrator.isSpawning(key)) throw badRequest(`${who(key)} is already starting`);
    // A moment's wait, so that a spawn failing at once (a bad command) is reported on the page it returns to.
    await ctx.orchestrator.start(key, { profile: profile || undefined, waitMs: 1000 });
    ctx.log.info({ user: name, server: key.server, by: p.name }, 'server started from the admin page');
    return done(reply, l, 'start', key);
  });

  app.post('/hub/admin/users/:name/stop', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    const { name } = req.params as { name: string };
    const b = body(req);
    const l = listingOf(b);
    requireScope(req, STOP_SCOPES, { user: name, server: field(b, 'server') ?? '' });
    const key = await serverKey(req, name);
    await stopWithin(ctx, key, `admin ${p.name}`);
    return done(reply, l, 'stop', key);
  });

  app.post('/hub/admin/stop-all', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    requireScopeAnywhere(req, STOP_SCOPES);
    const b = body(req);
    const l = listingOf(b);
    const targets = (await ctx.store.servers.list()).filter((s) => isActive(s) && mayStop(p, s));
    if (field(b, 'confirm') !== 'yes') {
      reply.type('text/html').header('cache-control', 'no-store');
      return confirmPage(p.name, {
        title: 'Stop all servers', action: '/hub/admin/stop-all', listing: l,
        text: `This stops ${targets.length} server${targets.length === 1 ? '' : 's'}; whatever runs in them (kernels, computations) ends. Their files stay.`,
      });
    }
    const results = await Promise.allSettled(targets.map((s) => stopWithin(ctx, { user: s.user, server: s.server }, `admin ${p.name}: stop all`)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ user: targets[i].user, server: targets[i].server, err: r.reason }] : []));
    for (const f of failed) ctx.log.error(f, 'stop all: a server could not be stopped');
    ctx.log.info({ by: p.name, servers: targets.length, failed: failed.length }, 'stop all from the admin page');
    return done(reply, l, 'stop-all');
  });
}
