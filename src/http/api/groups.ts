/** @module /hub/api/groups…: JupyterHub 3's groups API (apihandlers/groups.py). A group's members are what
 *  `!group=NAME` scope filters grant: e.g. a class's teaching assistants hold `access:servers!group=class1`. */
import type { FastifyInstance } from 'fastify';
import { can } from '../../auth/authenticator.ts';
import { badRequest } from '../../errors.ts';
import type { HubContext, Req } from '../context.ts';
import { changeMembers, checkGroupName, createGroups, deleteGroup, findGroup, setGroupProperties } from '../group-changes.ts';
import { principalOf, requireScope, requireScopeAnywhere } from './guard.ts';
import { groupModel } from './models.ts';
import { paginate } from './pagination.ts';

export async function groupsApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const on = (name: string) => ({ groups: [name] });
  const bodyOf = (req: Req) => {
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('body must be a JSON object');
    return body as Record<string, unknown>;
  };
  const create = async (req: Req, names: string[], users: unknown) => {
    for (const name of names) requireScope(req, 'admin:groups', on(name));
    const p = principalOf(req);
    return (await createGroups(ctx, names, users, p.name)).map((g) => groupModel(g, p));
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
    return groupModel(await findGroup(ctx, name), principalOf(req));
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
    await deleteGroup(ctx, name, principalOf(req).name);
    reply.code(204);
  });

  for (const [method, change] of [['post', 'addUsers'], ['delete', 'removeUsers']] as const) {
    app[method]('/hub/api/groups/:name/users', async (req) => {
      const { name } = req.params as { name: string };
      requireScope(req, 'groups', on(name));
      const p = principalOf(req);
      return groupModel(await changeMembers(ctx, name, change, bodyOf(req).users, p.name), p);
    });
  }

  app.put('/hub/api/groups/:name/properties', async (req) => {
    const { name } = req.params as { name: string };
    requireScope(req, 'groups', on(name));
    await findGroup(ctx, name);
    const body = req.body;
    // An empty body reaches here as {} (bodies default to {}, as JupyterHub reads them): refuse it, do not clear.
    const empty = (req.headers['content-length'] ?? '0') === '0' && req.headers['transfer-encoding'] === undefined;
    if (empty || !body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Must specify properties');
    const p = principalOf(req);
    return groupModel(await setGroupProperties(ctx, name, body as Record<string, unknown>, p.name), p);
  });
}
