/** @module /hub/admin/groups, as JupyterHub's admin "Groups" view: every group the viewer may list, with its
 *  members; create a group, add and remove members, delete a group (asked first). Each action needs the scope its
 *  REST call would on that group (`admin:groups`, `groups`, `delete:groups`); notices are worded from the state
 *  the page finds, as on the users page. */
import type { FastifyInstance } from 'fastify';
import { can, type Principal } from '../../auth/authenticator.ts';
import { badRequest } from '../../errors.ts';
import type { Group } from '../../store/store.ts';
import { requireScope, requireScopeAnywhere } from '../api/guard.ts';
import type { HubContext, Reply, Req } from '../context.ts';
import { changeMembers, checkGroupName, createGroups, deleteGroup, findGroup, GROUP_NAME } from '../group-changes.ts';
import { adminViewer, field } from './admin-routes.ts';
import { esc, page } from './layout.ts';

interface GroupRow { group: Group; mayEdit: boolean; mayDelete: boolean; showMembers: boolean }

const groupAction = (name: string, what: string) => `/hub/admin/groups/${encodeURIComponent(name)}/${what}`;
const names = (text: string | undefined) => (text ?? '').split(/[\s,]+/).map((n) => n.trim()).filter((n) => n);

function groupCard(r: GroupRow): string {
  const g = r.group;
  const members = !r.showMembers ? '<p><small>members hidden: needs read:groups</small></p>'
    : g.users.length ? `<ul class="servers">${g.users.map((u) => `<li>${esc(u)}${r.mayEdit
      ? ` <form method="post" action="${esc(groupAction(g.name, 'remove'))}" class="inline"><input type="hidden" name="user" value="${esc(u)}"><button type="submit">Remove</button></form>` : ''}</li>`).join('')}</ul>`
    : '<p>No members.</p>';
  const add = r.mayEdit ? `<form method="post" action="${esc(groupAction(g.name, 'add'))}" class="row">
<label for="add-${esc(g.name)}">Add members</label><input type="text" id="add-${esc(g.name)}" name="users" required autocapitalize="none" placeholder="user names">
<button type="submit">Add</button></form>` : '';
  const del = r.mayDelete ? `<form method="post" action="${esc(groupAction(g.name, 'delete'))}" class="inline"><button type="submit">Delete group…</button></form>` : '';
  return `<div class="card" id="group-${esc(g.name)}" data-group="${esc(g.name)}"><h2>${esc(g.name)}</h2>${members}${add}${del}</div>`;
}

function groupsPage(viewer: string, rows: GroupRow[], o: { mayCreate: boolean; notice?: string }): string {
  const create = o.mayCreate ? `<div class="card"><h2>New group</h2><form method="post" action="/hub/admin/groups">
<label for="group-name">Name (letters, digits, spaces and '._@+-')</label><input type="text" id="group-name" name="name" required maxlength="255">
<label for="group-users">Members (user names, separated by spaces; optional)</label><input type="text" id="group-users" name="users" autocapitalize="none">
<button type="submit" id="create-group">Create group</button></form></div>` : '';
  return page('Groups', `<p><a href="/hub/admin">Users</a> · <strong>Groups</strong></p>
${o.notice ? `<p class="ok" role="status" id="admin-notice">${esc(o.notice)}</p>` : ''}
<p>A scope limited by <code>!group=NAME</code> reaches that group's members and their servers.</p>
${rows.length ? rows.map(groupCard).join('\n') : '<div class="card"><p>No groups yet.</p></div>'}${create}`, { user: viewer, admin: true, wide: true });
}

export async function adminGroupRoutes(app: FastifyInstance, ctx: HubContext, requireUser: (req: Req, reply: Reply) => Principal | null): Promise<void> {
  const on = (name: string) => ({ groups: [name] });
  const formField = (req: Req, key: string) => field((req.body ?? {}) as Record<string, unknown>, key);
  const viewer = adminViewer(requireUser, '/hub/admin/groups');
  const back = (reply: Reply, done: string, group: string) =>
    reply.redirect(`/hub/admin/groups?${new URLSearchParams({ done, group })}#group-${encodeURIComponent(group)}`, 303);

  app.get('/hub/admin/groups', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    requireScopeAnywhere(req, 'list:groups');
    const all = await ctx.store.groups.list();
    const rows = all.filter((g) => can(p, 'list:groups', on(g.name))).map((g) => ({
      group: g, mayEdit: can(p, 'groups', on(g.name)), mayDelete: can(p, 'delete:groups', on(g.name)), showMembers: can(p, 'read:groups', on(g.name)),
    }));
    const q = req.query as Record<string, unknown>;
    const name = typeof q.group === 'string' && GROUP_NAME.test(q.group) ? q.group : '';
    const found = rows.find((r) => r.group.name === name);
    const notice = !name ? undefined
      : q.done === 'deleted' ? (all.some((g) => g.name === name) ? undefined : `Deleted group ${name}.`)
      : q.done === 'changed' && found ? `${name} has ${found.group.users.length} member${found.group.users.length === 1 ? '' : 's'}.`
      : undefined;
    reply.type('text/html').header('cache-control', 'no-store').send(groupsPage(p.name, rows, { mayCreate: can(p, 'admin:groups'), notice }));
  });

  app.post('/hub/admin/groups', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    const name = checkGroupName((formField(req, 'name') ?? '').trim());
    requireScope(req, 'admin:groups', on(name));
    await createGroups(ctx, [name], names(formField(req, 'users')), p.name);
    return back(reply, 'changed', name);
  });

  for (const [what, change] of [['add', 'addUsers'], ['remove', 'removeUsers']] as const) {
    app.post(`/hub/admin/groups/:name/${what}`, async (req, reply) => {
      const p = viewer(req, reply);
      if (!p) return;
      const { name } = req.params as { name: string };
      requireScope(req, 'groups', on(name));
      const users = names(formField(req, what === 'add' ? 'users' : 'user'));
      if (!users.length) throw badRequest('give at least one user name');
      await changeMembers(ctx, name, change, users, p.name);
      return back(reply, 'changed', name);
    });
  }

  app.post('/hub/admin/groups/:name/delete', async (req, reply) => {
    const p = viewer(req, reply);
    if (!p) return;
    const { name } = req.params as { name: string };
    requireScope(req, 'delete:groups', on(name));
    const g = await findGroup(ctx, name);
    if (formField(req, 'confirm') !== 'yes') {
      reply.type('text/html').header('cache-control', 'no-store');
      return page(`Delete group ${name}`, `<div class="card"><h1>Delete group ${esc(name)}</h1>
<p>Its ${g.users.length} member${g.users.length === 1 ? '' : 's'} stay; what scopes with <code>!group=${esc(name)}</code> granted through it ends.</p>
<form method="post" action="${esc(groupAction(name, 'delete'))}"><input type="hidden" name="confirm" value="yes">
<button type="submit" id="confirm">Delete group ${esc(name)}</button> <a href="/hub/admin/groups">Cancel</a></form></div>`, { user: p.name, admin: true });
    }
    await deleteGroup(ctx, name, p.name);
    return back(reply, 'deleted', name);
  });
}
