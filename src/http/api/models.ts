/** @module JupyterHub 3's JSON models (docs/source/_static/rest-api.yml): user, server, token, group. Clients written
 *  for JupyterHub read these fields; keep names and types as they are there. */
import type { Principal } from '../../auth/authenticator.ts';
import { can } from '../../auth/authenticator.ts';
import type { Group, ServerRecord, Token, User } from '../../store/store.ts';
import type { Orchestrator } from '../../spawn/orchestrator.ts';
import { progressPath, serverPrefix } from '../../routes/paths.ts';

export function serverModel(rec: ServerRecord, o: Orchestrator, lastActivityMs: number, withState = false) {
  const key = { user: rec.user, server: rec.server };
  const spawning = o.isSpawning(key);
  const stopping = o.isStopping(key) || rec.state === 'stopping';
  const prefix = serverPrefix(rec.user, rec.server);
  const stored = rec.lastActivity ? Date.parse(rec.lastActivity) : 0;
  const last = Math.max(stored, lastActivityMs);
  return {
    name: rec.server,
    ready: rec.state === 'running' && !stopping,
    pending: spawning || rec.state === 'pending' ? 'spawn' : stopping ? 'stop' : null,
    stopped: rec.state === 'stopped',
    url: prefix,
    user_options: rec.userOptions,
    progress_url: progressPath(rec),
    started: rec.started,
    last_activity: last ? new Date(last).toISOString() : null,
    profile: rec.profile,
    ...(withState ? { state: rec.handle } : {}),
  };
}

export function userModel(u: User, servers: ServerRecord[], viewer: Principal, o: Orchestrator, latest: (r: ServerRecord) => number,
  groups: readonly string[], includeStopped = false) {
  const target = { user: u.name, groups };
  const showServers = can(viewer, 'read:servers', target);
  const withState = can(viewer, 'admin:server_state', target);
  const active = servers.filter((s) => o.isActive(s));
  const listed = includeStopped ? servers : active;        // JupyterHub 3's ?include_stopped_servers
  const def = active.find((s) => s.server === '');
  const userLast = [u.lastActivity ? Date.parse(u.lastActivity) : 0, ...servers.map(latest)].reduce((a, b) => Math.max(a, b), 0);
  return {
    kind: 'user',
    name: u.name,
    admin: u.admin,
    roles: u.admin ? ['admin', 'user'] : ['user'],
    groups: can(viewer, 'read:users:groups', target) ? [...groups] : [],
    server: def && def.state === 'running' ? serverPrefix(u.name, '') : null,
    pending: def ? serverModel(def, o, 0).pending : null,
    created: u.created,
    last_activity: userLast ? new Date(userLast).toISOString() : null,
    ...(showServers ? { servers: Object.fromEntries(listed.map((s) => [s.server, serverModel(s, o, latest(s), withState)])) } : {}),
  };
}

export function tokenModel(t: Token) {
  return {
    kind: 'api_token', id: t.id, user: t.user, note: t.note, scopes: t.scopes, roles: [],
    created: t.created, expires_at: t.expiresAt, last_activity: t.lastActivity, session_id: null, oauth_client: 'JupyterHub',
  };
}

/** JupyterHub 3's group model: the name for read:groups:name, members and properties for read:groups, roles
 *  (none here: roles are not configurable yet) for read:roles:groups. */
export function groupModel(g: Group, viewer: Principal) {
  const on = { groups: [g.name] };
  return {
    kind: 'group', name: g.name,
    ...(can(viewer, 'read:groups', on) ? { users: g.users, properties: g.properties } : {}),
    ...(can(viewer, 'read:roles:groups', on) ? { roles: [] as string[] } : {}),
  };
}
