/** @module Scope checks for the REST API, with JupyterHub's messages: every denial names what was needed. */
import { can, type Principal } from '../../auth/authenticator.ts';
import type { Target } from '../../auth/scopes.ts';
import { forbidden, GatewayError, notFound } from '../../errors.ts';
import { USER_NAME } from '../../routes/paths.ts';
import type { User } from '../../store/store.ts';
import type { HubContext, Req } from '../context.ts';

export function principalOf(req: Req): Principal {
  if (!req.principal) throw new GatewayError('UNAUTHENTICATED', 403, 'Missing or invalid credentials: send "Authorization: token …" or log in');
  return req.principal;
}

/** Requires any one of `scopes` on `target`; a user target is checked with that user's groups. */
export function requireScope(req: Req, scopes: string | string[], target?: Target): Principal {
  const p = principalOf(req);
  const list = Array.isArray(scopes) ? scopes : [scopes];
  const full = target?.user !== undefined && target.groups === undefined ? { ...target, groups: req.server.groupsOf(target.user) } : target;
  if (!list.some((s) => can(p, s, full))) {
    throw forbidden(`Action is not authorized with current scopes; requires any of [${list.join(', ')}]${target?.user ? ` for user ${target.user}` : ''}`);
  }
  return p;
}

/** For lists: requires any one of `scopes` with any filter; the list then shows only what the filters reach
 *  (JupyterHub answers `list:users!group=x` with that group's users, not a 403). */
export function requireScopeAnywhere(req: Req, scopes: string | string[]): Principal {
  const p = principalOf(req);
  const list = Array.isArray(scopes) ? scopes : [scopes];
  if (!list.some((s) => p.scopes.has(s) && p.ownerScopes.has(s))) {
    throw forbidden(`Action is not authorized with current scopes; requires any of [${list.join(', ')}]`);
  }
  return p;
}

export function checkUserName(name: string): string {
  if (!USER_NAME.test(name)) {
    throw new GatewayError('BAD_USER_NAME', 400, `invalid user name "${name}": use 1-24 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return name;
}

export async function findUser(ctx: HubContext, name: string): Promise<User> {
  const u = USER_NAME.test(name) ? await ctx.store.users.get(name) : null;
  if (!u) throw notFound(`No such user: ${name}`);
  return u;
}
