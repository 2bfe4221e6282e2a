/** @module Changes to groups, shared by the REST API and the admin page: names and members checked as
 *  JupyterHub checks them, the store changed, the in-memory index reloaded (scope checks follow membership at
 *  once) and the change logged. Callers check scopes first. */
import { badRequest, conflict, GatewayError, notFound } from '../errors.ts';
import { USER_NAME } from '../routes/paths.ts';
import type { Group } from '../store/store.ts';
import type { HubContext } from './context.ts';

/** Names end up in URLs and in scope filters (`!group=NAME`): no '/', '!' or ',', no edge spaces. */
export const GROUP_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9 ._@+-]{0,253}[A-Za-z0-9._@+-])?$/;

export function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || !GROUP_NAME.test(name)) {
    throw new GatewayError('BAD_GROUP_NAME', 400, `invalid group name ${JSON.stringify(name)}: use 1-255 letters, digits, spaces and '._@+-', starting with a letter, digit or '_'`);
  }
  return name;
}

export async function findGroup(ctx: HubContext, name: string): Promise<Group> {
  const g = GROUP_NAME.test(name) ? await ctx.store.groups.get(name) : null;
  if (!g) throw notFound(`No such group: ${name}`);
  return g;
}

/** A list of existing users, lower-cased and counted once (JupyterHub: "No such user" is a 400). */
export async function existingUsers(ctx: HubContext, users: unknown, missing = 'users must be given'): Promise<string[]> {
  if (users === undefined) throw badRequest(missing);
  if (!Array.isArray(users) || users.some((u) => typeof u !== 'string')) throw badRequest('users must be a list of user names');
  const names = [...new Set((users as string[]).map((u) => u.trim().toLowerCase()))];
  for (const u of names) if (!USER_NAME.test(u) || !(await ctx.store.users.get(u))) throw badRequest(`No such user: ${u}`);
  return names;
}

/** Runs a store change that names `users`; a user deleted since they were checked fails it, and is then
 *  reported as the 400 a check would give, not as a 500. */
async function withUsers<T>(ctx: HubContext, users: string[], change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    await existingUsers(ctx, users);
    throw err;
  }
}

/** After a change: the index reloaded (that read also gives the group as it now is), and the change logged. */
async function changed(ctx: HubContext, name: string, by: string, what: string): Promise<Group> {
  const group = (await ctx.groups.reload()).find((g) => g.name === name);
  if (!group) throw notFound(`No such group: ${name}`);
  ctx.log.info({ group: name, by }, what);
  return group;
}

/** Creates each group with the same members: 409 if any exists, checked before the members are. */
export async function createGroups(ctx: HubContext, names: string[], users: unknown, by: string): Promise<Group[]> {
  for (const name of names) if (await ctx.store.groups.get(name)) throw conflict(`Group ${name} already exists`);
  const members = users === undefined ? [] : await existingUsers(ctx, users);
  const created = [];
  for (const name of names) {
    if (!(await withUsers(ctx, members, () => ctx.store.groups.add(name, members)))) throw conflict(`Group ${name} already exists`);
    created.push(await changed(ctx, name, by, 'group created'));
  }
  return created;
}

export async function changeMembers(ctx: HubContext, name: string, change: 'addUsers' | 'removeUsers', users: unknown, by: string): Promise<Group> {
  await findGroup(ctx, name);
  const names = await existingUsers(ctx, users, change === 'addUsers' ? 'Must specify users to add' : 'Must specify users to delete');
  await withUsers(ctx, names, () => ctx.store.groups[change](name, names));
  return changed(ctx, name, by, change === 'addUsers' ? 'group members added' : 'group members removed');
}

export async function setGroupProperties(ctx: HubContext, name: string, properties: Record<string, unknown>, by: string): Promise<Group> {
  await findGroup(ctx, name);
  await ctx.store.groups.setProperties(name, properties);
  return changed(ctx, name, by, 'group properties set');
}

export async function deleteGroup(ctx: HubContext, name: string, by: string): Promise<void> {
  await findGroup(ctx, name);
  await ctx.store.groups.remove(name);
  await ctx.groups.reload();
  ctx.log.info({ group: name, by }, 'group deleted');
}
