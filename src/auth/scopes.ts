/** @module JupyterHub 3's scope vocabulary and hierarchy (jupyterhub/scopes.py), with `!user=`, `!server=` and
 *  `!group=` filters. A principal's scopes expand once into a ScopeSet; checks are then map lookups. */

/** scope → the scopes it implies (one level; expansion is transitive). */
const HIERARCHY: Record<string, string[]> = {
  '(no_scope)': [],
  self: [],
  inherit: [],
  'admin-ui': [],
  'admin:users': ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
  'delete:users': [],
  'admin:auth_state': [],
  users: ['read:users', 'list:users', 'users:activity'],
  'read:users': ['read:users:name', 'read:users:groups', 'read:users:activity'],
  'read:users:name': [],
  'read:users:groups': [],
  'read:users:activity': [],
  'list:users': ['read:users:name'],
  'users:activity': ['read:users:activity'],
  'admin:servers': ['admin:server_state', 'servers'],
  'admin:server_state': [],
  servers: ['read:servers', 'delete:servers'],
  'read:servers': ['read:users:name'],
  'delete:servers': [],
  'access:servers': [],
  'read:roles': ['read:roles:users', 'read:roles:services', 'read:roles:groups'],
  'read:roles:users': [],
  'read:roles:services': [],
  'read:roles:groups': [],
  'admin:groups': ['groups', 'read:roles:groups', 'delete:groups'],
  groups: ['read:groups', 'list:groups'],
  'read:groups': ['read:groups:name'],
  'read:groups:name': [],
  'list:groups': ['read:groups:name'],
  'delete:groups': [],
  'list:services': ['read:services:name'],
  'read:services': ['read:services:name', 'read:roles:services'],
  'read:services:name': [],
  'access:services': [],
  tokens: ['read:tokens'],
  'read:tokens': [],
  'read:hub': [],
  'read:metrics': [],
  proxy: [],
  shutdown: [],
};

/** The roles every JupyterHub 3 admin and user holds. */
export const ADMIN_SCOPES = ['admin-ui', 'admin:users', 'admin:servers', 'tokens', 'admin:groups', 'list:services',
  'read:services', 'read:hub', 'proxy', 'shutdown', 'access:services', 'access:servers', 'read:roles', 'read:metrics'];
/** What `self` means for user NAME: everything about their own account and servers. */
export const selfScopes = (user: string) =>
  ['read:users', 'users:activity', 'servers', 'access:servers', 'tokens', 'read:users:groups'].map((s) => `${s}!user=${user}`);

export type Filter = { kind: 'user' | 'server' | 'group'; value: string };
/** base scope → 'all' (unfiltered) or the filters under which it holds. */
export type ScopeSet = Map<string, 'all' | Filter[]>;

export class ScopeError extends Error {
  override name = 'ScopeError';
}

export function isKnownScope(scope: string): boolean {
  const [base, filter] = splitFilter(scope);
  return base in HIERARCHY && (filter === null || filter !== undefined);
}

function splitFilter(scope: string): [string, Filter | null | undefined] {
  const bang = scope.indexOf('!');
  if (bang < 0) return [scope, null];
  const m = /^(user|server|group)=(.+)$/.exec(scope.slice(bang + 1));
  if (!m) return [scope.slice(0, bang), undefined];
  return [scope.slice(0, bang), { kind: m[1] as Filter['kind'], value: m[2] }];
}

/** Expands raw scopes (with `self` resolved for `owner`). Throws ScopeError naming the first unknown scope. */
export function expandScopes(raw: readonly string[], owner?: { name: string; admin: boolean }): ScopeSet {
  const out: ScopeSet = new Map();
  const add = (base: string, filter: Filter | null) => {
    const cur = out.get(base);
    if (cur === 'all') return;
    if (filter === null) out.set(base, 'all');
    else if (cur) { if (!cur.some((f) => f.kind === filter.kind && f.value === filter.value)) cur.push(filter); }
    else out.set(base, [filter]);
    for (const child of HIERARCHY[base] ?? []) add(child, filter);
  };
  const ownerScopes = owner ? [...selfScopes(owner.name), ...(owner.admin ? ADMIN_SCOPES : [])] : [];
  for (const scope of raw) {
    const [base, filter] = splitFilter(scope);
    if (!(base in HIERARCHY) || filter === undefined) throw new ScopeError(`unknown scope "${scope}"`);
    if (base === 'self' || base === 'inherit') {
      for (const s of base === 'self' && owner ? selfScopes(owner.name) : ownerScopes) { const [b, f] = splitFilter(s); add(b, f ?? null); }
    } else add(base, filter);
  }
  return out;
}

export interface Target { user?: string; server?: string; groups?: readonly string[] }

/** Does the set grant `scope` on `target`? With no target, only an unfiltered grant counts. */
export function hasScope(set: ScopeSet, scope: string, target: Target = {}): boolean {
  const grant = set.get(scope);
  if (!grant) return false;
  if (grant === 'all') return true;
  return grant.some((f) =>
    (f.kind === 'user' && f.value === target.user) ||
    (f.kind === 'server' && target.server !== undefined && f.value === `${target.user}/${target.server}`) ||
    (f.kind === 'group' && !!target.groups?.includes(f.value)));
}

/** Is every grant in `wanted` also held by `owner`? (A token never holds more than its owner.) */
export function isSubset(wanted: ScopeSet, owner: ScopeSet): string | null {
  for (const [scope, grant] of wanted) {
    const held = owner.get(scope);
    if (held === 'all') continue;
    if (!held) return scope;
    if (grant === 'all') return scope;
    for (const f of grant) {
      const ok = held.some((h) => (h.kind === f.kind && h.value === f.value) ||
        (h.kind === 'user' && f.kind === 'server' && f.value.startsWith(`${h.value}/`)));
      if (!ok) return `${scope}!${f.kind}=${f.value}`;
    }
  }
  return null;
}

/** The flat list JupyterHub reports in `/hub/api/user`'s `scopes`. */
export function listScopes(set: ScopeSet): string[] {
  const out: string[] = [];
  for (const [scope, grant] of set) {
    if (grant === 'all') out.push(scope);
    else for (const f of grant) out.push(`${scope}!${f.kind}=${f.value}`);
  }
  return out.sort();
}
