/** @module /hub/api/groups…: JupyterHub 3's groups API (apihandlers/groups.py). A group's members are what
 *  `!group=NAME` scope filters grant: e.g. a class's teaching assistants hold `access:servers!group=class1`. */
import type { FastifyInstance } from 'fastify';
import { can } from '../../auth/authenticator.ts';
import { badRequest, conflict, GatewayError, notFound } from '../../errors.ts';
import { USER_NAME } from '../../routes/paths.ts';
import type { Group } from '../../store/store.ts';
import type { HubContext, Req } from '../context.ts';
import { principalOf, requireScope, requireScopeAnywhere } from './guard.ts';
import { groupModel } from './models.ts';
import { paginate } from './pagination.ts';

/** Names end up in URLs and in scope filters (`!group=NAME`): no '/', '!' or ',', no edge spaces. */
export const GROUP_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9 ._@+-]{0,253}[A-Za-z0-9._@+-])?$/;

function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || !GROUP_NAME.test(name)) {
    throw new GatewayError('BAD_GROUP_NAME', 400, `invalid group name ${JSON.stringify(name)}: use 1-255 letters, digits, spaces and '._@+-', starting with a letter, digit or '_'`);
  }
  return name;
}

export async function groupsApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const on = (name: string) => ({ groups: [name] });
  const find = async (name: string): Promise<Group> => {
    const g = GROUP_NAME.test(name) ? await ctx.store.groups.get(name) : null;
    if (!g) throw notFound(`No such group: ${name}`);
    return g;
  };
  /** The `users` of a body: a list of existing users (JupyterHub: "No such user" is a 400). */
  const existingUsers = async (users: unknown, missing = 'users must be given'): Promise<string[]> => {
    if (users === undefined) throw badRequest(missing);
    if (!Array.isArray(users) || users.some((u) => typeof u !== 'string')) throw badRequest('users must be a list of user names');
    const names = [...new Set((users as string[]).map((u) => u.trim().toLowerCase()))];
    for (const u of names) if (!USER_NAME.test(u) || !(await ctx.store.users.get(u))) throw badRequest(`No such user: ${u}`);
    return names;
  };
  /** Runs a store change that names `users`; a user deleted since they were checked fails it, and is then
   *  reported as the 400 a check would give, not as a 500. */
  const withUsers = async <T>(users: string[], change: () => Promise<T>): Promise<T> => {
    try {
      return await change();
    } catch (err) {
      await existingUsers(users);
      throw err;
    }
  };
  const bodyOf = (req: Req) => {
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('body must be a JSON object');
    return body as Record<string, unknown>;
  };
  /** After a change: the index reloaded (that read also gives the group's new model), and the change logged. */
  const changed = async (req: Req, name: string, what: string) => {
    const group = (await ctx.groups.reload()).find((g) => g.name === name);
    if (!group) throw notFound(`No such group: ${name}`);
    ctx.log.info({ group: name, by: principalOf(req).name }, what);
    return groupModel(group, principalOf(req));
  };
  /** Creates each group with the same members: 409 if any exists, checked before the members are. */
  const create = async (req: Req, names: string[], users: unknown) => {
    for (const name of names) requireScope(req, 'admin:groups', on(name));
    for (const name of names) if (await ctx.store.groups.get(name)) throw conflict(`Group ${name} already exists`);
    const members = users === undefined ? [] : await existingUsers(users);
    const created = [];
    for (const name of names) {
      if (!(await withUsers(members, () => ctx.store.groups.add(name, members)))) throw conflict(`Group ${name} already exists`);
      created.push(await changed(req, name, 'group created'));
    }
    return created;
  };

  app.get('/hub/api/groups', async (req, reply) => {
    const p = requireScopeAnywhere(req, 'list:groups');
    const visible = (await ctx.store.groups.list()).filter((g) => can(p, 'list:groups', on(g.name)));
    return paginate(ctx, req, reply, visible, (g) => groupModel(g, p));
  });

  app.post('/hub/api/groups', async (req, reply) => {
    const body = bodyOf(req);
    if (!Array.isArray(body.groups) || !body.groups.length) throw badRequest('Must specify at least one group to create');
    const created = await create(req, [...new Set(body.groups.map(checkGroupName))], body.users);
    reply.code(201);
    return created;
  });

  app.get('/hub/api/groups/:name', async (req) => {
    const { name } = req.params as { name: string };
    requireScope(req, ['read:groups', 'read:groups:name'], on(name));
    return groupModel(await find(name), principalOf(req));
  });

  app.post('/hub/api/groups/:name', async (req, reply) => {
    const name = checkGroupName((req.params as { name: string }).name);
    requireScope(req, 'admin:groups', on(name));               // before the body is looked at: 403 first
    const [created] = await create(req, [name], bodyOf(req).users);
    reply.code(201);
    return created;
  });

  app.delete('/hub/api/groups/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    requireScope(req, 'delete:groups', on(name));
    await find(name);
    await ctx.store.groups.remove(name);
    await ctx.groups.reload();
    ctx.log.info({ group: name, by: principalOf(req).name }, 'group deleted');
    reply.code(204);
  });

  const memberships = [
    ['post', 'addUsers', 'Must specify users to add', 'group members added'],
    ['delete', 'removeUsers', 'Must specify users to delete', 'group members removed'],
  ] as const;
  for (const [method, change, missing, what] of memberships) {
    app[method]('/hub/api/groups/:name/users', async (req) => {
      const { name } = req.params as { name: string };
      requireScope(req, 'groups', on(name));
      await find(name);
      const users = await existingUsers(bodyOf(req).users, missing);
      await withUsers(users, () => ctx.store.groups[change](name, users));
      return changed(req, name, what);
    });
  }

  app.put('/hub/api/groups/:name/properties', async (req) => {
    const { name } = req.params as { name: string };
    requireScope(req, 'groups', on(name));
    await find(name);
    const body = req.body;
    // An empty body reaches here as {} (bodies default to {}, as JupyterHub reads them): refuse it, do not clear.
    const empty = (req.headers['content-length'] ?? '0') === '0' && req.headers['transfer-encoding'] === undefined;
    if (empty || !body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Must specify properties');
    await ctx.store.groups.setProperties(name, body as Record<string, unknown>);
    return changed(req, name, 'group properties set');
  });
}
