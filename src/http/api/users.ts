/** @module /hub/api/, /hub/api/user, /hub/api/users[/NAME], /hub/api/users/NAME/activity: JupyterHub 3's shapes,
 *  paging (`offset`, `limit`, `Accept: application/jupyterhub-pagination+json`) and `state=` filter. */
import type { FastifyInstance } from 'fastify';
import { can } from '../../auth/authenticator.ts';
import { listScopes } from '../../auth/scopes.ts';
import { hashPassword } from '../../auth/password.ts';
import { badRequest, conflict, GatewayError } from '../../errors.ts';
import type { ServerRecord, User } from '../../store/store.ts';
import type { HubContext, Req } from '../context.ts';
import { changeOwnPassword, checkNewPassword, revokeApiTokens, setPassword } from '../own-password.ts';
import { checkUserName, findUser, principalOf, requireScope, requireScopeAnywhere } from './guard.ts';
import { userModel } from './models.ts';
import { paginate } from './pagination.ts';

export const JUPYTERHUB_API_VERSION = '3.1.1';
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/;

export async function usersApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const latest = (r: ServerRecord) => ctx.activity.latest({ user: r.user, server: r.server });
  // `?include_stopped_servers` asks for stopped servers too; as JupyterHub 3 reads it, any value but 0 or false.
  const withStopped = (req: Req) => {
    const v = (req.query as Record<string, unknown>).include_stopped_servers;
    return v !== undefined && !['0', 'false'].includes(String(v).toLowerCase());
  };
  const model = async (req: Req, u: User) =>
    userModel(u, await ctx.store.servers.list({ user: u.name }), principalOf(req), ctx.orchestrator, latest, ctx.groups.of(u.name), withStopped(req));

  // Both spellings: JUPYTERHUB_API_URL ends in /hub/api, and jupyterhub-singleuser fetches it as it is at start
  // (no token), exiting after five failures.
  const version = async () => ({ version: JUPYTERHUB_API_VERSION, kicloud_version: ctx.version });
  app.get('/hub/api/', version);
  app.get('/hub/api', version);

  app.get('/hub/api/info', async (req) => {
    requireScope(req, 'read:hub');
    return {
      version: JUPYTERHUB_API_VERSION, kicloud_version: ctx.version, python: null, sys_executable: null,
      authenticator: { class: 'kicloud.BuiltinAuthenticator', version: ctx.version },
      spawner: { class: `kicloud.${[...new Set(ctx.config.profiles.map((pr) => pr.spawner))].join('+')}`, version: ctx.version },
    };
  });

  app.get('/hub/api/user', async (req) => {
    const p = principalOf(req);
    const scopes = listScopes(p.scopes);
    if (p.kind === 'service') return { kind: 'service', name: p.name, admin: true, roles: ['admin'], scopes };
    const u = await findUser(ctx, p.name);
    return { ...(await model(req, u)), scopes, session_id: p.sessionId ?? null };
  });

  app.get('/hub/api/users', async (req, reply) => {
    const p = requireScopeAnywhere(req, 'list:users');
    const q = req.query as { state?: string };
    if (q.state !== undefined && !['ready', 'active', 'inactive'].includes(q.state)) {
      throw badRequest(`state must be one of ready, active, inactive; got "${q.state}"`);
    }
    const target = (u: User) => ({ user: u.name, groups: ctx.groups.of(u.name) });
    let users = (await ctx.store.users.list()).filter((u) => can(p, 'list:users', target(u)));
    const servers = await ctx.store.servers.list();
    const byUser = new Map<string, ServerRecord[]>();
    for (const s of servers) byUser.set(s.user, [...(byUser.get(s.user) ?? []), s]);
    if (q.state) {
      const isActive = (u: User) => (byUser.get(u.name) ?? []).some((s) => s.state !== 'stopped');
      const isReady = (u: User) => (byUser.get(u.name) ?? []).some((s) => s.state === 'running');
      users = users.filter((u) => (q.state === 'ready' ? isReady(u) : q.state === 'active' ? isActive(u) : !isActive(u)));
    }
    return paginate(ctx, req, reply, users, (u) => userModel(u, byUser.get(u.name) ?? [], p, ctx.orchestrator, latest, ctx.groups.of(u.name), withStopped(req)),
    );
  });

  app.post('/hub/api/users', async (req, reply) => {
    requireScope(req, 'admin:users');
    const body = (req.body ?? {}) as { usernames?: unknown; admin?: unknown };
    if (!Array.isArray(body.usernames) || body.usernames.some((n) => typeof n !== 'string')) throw badRequest('body must be {"usernames": ["name", …], "admin": false}');
    const names = (body.usernames as string[]).map(checkUserName);
    const created: User[] = [];
    for (const name of names) {
      const u = newUser(name, body.admin === true, null);
      if (await ctx.store.users.add(u)) created.push(u);
    }
    if (!created.length) throw conflict(`All ${names.length} users already exist`);
    reply.code(201);
    return Promise.all(created.map((u) => model(req, u)));
  });

  app.get('/hub/api/users/:name', async (req) => {
    const { name } = req.params as { name: string };
    requireScope(req, ['read:users', 'read:users:name'], { user: name });
    return model(req, await findUser(ctx, name));
  });

  app.post('/hub/api/users/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    requireScope(req, 'admin:users');
    checkUserName(name);
    const body = (req.body ?? {}) as { admin?: unknown; password?: unknown };
    const hash = body.password === undefined ? null : await hashPassword(checkNewPassword(body.password));
    const u = newUser(name, body.admin === true, hash);
    if (!(await ctx.store.users.add(u))) throw conflict(`User ${name} already exists`);
    reply.code(201);
    return model(req, u);
  });

  app.patch('/hub/api/users/:name', async (req) => {
    const { name } = req.params as { name: string };
    const body = (req.body ?? {}) as { admin?: unknown; password?: unknown; current_password?: unknown; revoke_tokens?: unknown; name?: unknown };
    if (body.name !== undefined && body.name !== name) throw badRequest('renaming users is not supported: their account and home are named after them');
    const p = principalOf(req);
    // A password changes only by an admin, or by the user in their own browser session with the current
    // password: a token (even the user's, even a server's) must not be able to take over the account.
    const ownInSession = body.password !== undefined && p.via === 'cookie' && p.name === name;
    if (!ownInSession || body.admin !== undefined) requireScope(req, 'admin:users');
    await findUser(ctx, name);
    if (body.admin !== undefined && typeof body.admin !== 'boolean') throw badRequest('admin must be true or false');
    if (body.password !== undefined) checkNewPassword(body.password);     // before any change is made
    // The current password is checked before anything else changes: a wrong one must leave the user as it was.
    if (ownInSession) await changeOwnPassword(ctx, name, body.current_password, body.password, req.ip, { revokeTokens: body.revoke_tokens === true });
    else if (body.password !== undefined) await setPassword(ctx, name, body.password);
    if (body.admin !== undefined) await ctx.store.users.update(name, { admin: body.admin as boolean });
    ctx.auth.forgetUser(name);
    return model(req, await findUser(ctx, name));
  });

  app.delete('/hub/api/users/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    const p = requireScope(req, 'delete:users', { user: name });
    if (p.name === name && p.kind === 'user') throw badRequest('you cannot delete yourself');
    await findUser(ctx, name);
    await deleteUser(ctx, name, p.name);
    reply.code(204);
  });

  // jupyterhub-singleuser reports activity here every JUPYTERHUB_ACTIVITY_INTERVAL. As JupyterHub 3: at least
  // one of last_activity (the user's) and servers ({name: {last_activity}}, each an existing server); a time
  // more than 59 minutes ahead is refused. Times ahead by less count as now: a report cannot buy future idle time.
  app.post('/hub/api/users/:name/activity', async (req, reply) => {
    const { name } = req.params as { name: string };
    requireScope(req, 'users:activity', { user: name });
    await findUser(ctx, name);
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object');
    const { last_activity: userLast, servers: given } = body as { last_activity?: unknown; servers?: unknown };
    const servers = given ?? {};                      // null as absent, as JupyterHub reads it
    if (!userLast && (typeof servers !== 'object' || !Object.keys(servers).length)) {
      throw badRequest('the body must contain at least one of last_activity or servers');
    }
    const shape = 'servers must be an object of the form {server_name: {last_activity: timestamp}}';
    if (typeof servers !== 'object' || Array.isArray(servers)) throw badRequest(shape);
    const now = Date.now();
    const timestamp = (v: unknown, what: string) => {
      // ISO 8601 date and time only (Date.parse alone takes "1" for a date in 2001), as Python writes them
      // (`T` or a space; +00:00 or +0000); no zone means UTC.
      const m = typeof v === 'string' ? ISO_TIME.exec(v) : null;
      const zone = m?.[3] ? m[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2') : 'Z';
      const at = m ? Date.parse(`${m[1]}T${m[2]}${zone}`) : NaN;
      if (!Number.isFinite(at)) throw badRequest(`${what} must be an ISO 8601 timestamp, got ${JSON.stringify(v)}`);
      if (at - now > 59 * 60_000) throw badRequest(`${what} is more than an hour in the future: ${v}`);
      return Math.min(at, now);
    };
    const batch = [];
    for (const [server, v] of Object.entries(servers)) {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest(shape);
      if (!(await ctx.store.servers.get({ user: name, server }))) throw badRequest(`no such server "${server}" for user ${name}`);
      batch.push({ user: name, server, at: timestamp((v as { last_activity?: unknown }).last_activity, `servers.${server}.last_activity`) });
    }
    const user = userLast ? timestamp(userLast, 'last_activity') : undefined;
    await ctx.store.activity.record(batch);
    if (user !== undefined) await ctx.store.activity.recordUser(name, user);
    reply.code(200);
    return {};
  });
}

export function newUser(name: string, admin: boolean, passwordHash: string | null): User {
  return { name, admin, passwordHash, created: new Date().toISOString(), lastActivity: null };
}

/** Ends the user's sessions and API tokens (so nothing of theirs starts a server meanwhile), stops their servers, removes
 *  their account and home, then the user with their tokens and group memberships. The account goes before the
 *  user: if removing it fails, the user is still there to retry. */
export async function deleteUser(ctx: HubContext, name: string, by: string): Promise<void> {
  await ctx.store.sessions.revokeUser(name);
  await revokeApiTokens(ctx, name);
  ctx.auth.forgetUser(name);
  for (const s of await ctx.store.servers.list({ user: name })) {
    await ctx.orchestrator.stop({ user: name, server: s.server }, 'user deleted');
    ctx.activity.forget({ user: name, server: s.server });
  }
  try {
    await ctx.orchestrator.forgetUser(name);
  } catch (err) {
    // The user is kept (sessions, tokens and servers are already gone), so the deletion can be asked for again.
    throw new GatewayError('USER_NOT_REMOVED', 500, `${name}'s servers are stopped but the account could not be removed, so the user is kept: ${(err as Error).message}`, undefined, { cause: err });
  }
  await ctx.store.users.remove(name);
  await ctx.groups.reload();                       // a name re-created later is in no group
  ctx.auth.forgetUser(name);
  ctx.log.info({ user: name, by }, 'user deleted');
}
