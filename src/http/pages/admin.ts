/** @module /hub/admin's HTML, as JupyterHub's admin page: every user with their servers (start, stop, open),
 *  the admin flag, a new password, delete; add users; stop all servers. Plain forms, so it works without
 *  scripts; each form's route checks what the viewer may do. A page that shows passwords is never cached. */
import { serverPrefix } from '../../routes/paths.ts';
import { esc, page, when } from './layout.ts';

export type ServerStatus = 'running' | 'starting' | 'stopping' | 'stopped';

export interface AdminServer {
  name: string;
  status: ServerStatus;
  lastActivity: string | null;
  /** Why its last spawn failed, while it stays stopped. */
  failure?: string;
  canOpen: boolean;
  /** The viewer may start and stop it. */
  canControl: boolean;
}

/** What the viewer may see and do to a user; fields they may not read are left out (JupyterHub's model). */
export interface AdminUser {
  name: string;
  admin?: boolean;
  groups?: readonly string[];
  lastActivity?: string | null;
  /** The default server first (listed even when it never ran), then the named ones. */
  servers: AdminServer[];
  may: { setAdmin: boolean; newPassword: boolean; delete: boolean };
}

/** Which slice of the user list a page shows; every form carries it back, so an action returns to it. */
export interface Listing { filter: string; activeOnly: boolean; byActivity: boolean; offset: number; limit: number }

export interface AdminView {
  viewer: string;
  users: AdminUser[];
  listing: Listing;
  /** Users matching the filter, on all pages. */
  total: number;
  /** Servers running or starting, of the users the viewer may read servers of. */
  active: number;
  profiles: readonly { name: string; display_name: string }[];
  /** May add users (admin:users). */
  mayAdd: boolean;
  notice?: { text: string; error?: boolean };
  warning?: string;
}

export const listingQuery = (l: Listing, extra: Record<string, string> = {}) => {
  const q = new URLSearchParams();
  if (l.filter) q.set('name_filter', l.filter);
  if (l.activeOnly) q.set('state', 'active');
  if (l.byActivity) q.set('sort', 'last_activity');
  if (l.offset) q.set('offset', String(l.offset));
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return `/hub/admin${s ? `?${s}` : ''}`;
};

const hidden = (fields: Record<string, string>) =>
  Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
const back = (l: Listing) => hidden({
  name_filter: l.filter, offset: String(l.offset), ...(l.activeOnly ? { state: 'active' } : {}), ...(l.byActivity ? { sort: 'last_activity' } : {}),
});
export const userAction = (user: string, what: string) => `/hub/admin/users/${encodeURIComponent(user)}/${what}`;

function postButton(action: string, label: string, l: Listing, fields: Record<string, string> = {}, extra = ''): string {
  return `<form method="post" action="${esc(action)}" class="inline">${back(l)}${hidden(fields)}${extra}<button type="submit">${esc(label)}</button></form>`;
}

function serverItem(v: AdminView, user: string, s: AdminServer): string {
  const label = s.name ? esc(s.name) : '<em>default</em>';
  const fields = { server: s.name };
  const choose = v.profiles.length > 1
    ? `<select name="profile" aria-label="profile">${v.profiles.map((p) => `<option value="${esc(p.name)}">${esc(p.display_name)}</option>`).join('')}</select>` : '';
  const actions = !s.canControl || s.status === 'stopping' ? ''
    : s.status === 'stopped' ? postButton(userAction(user, 'start'), 'Start', v.listing, fields, choose)
    : postButton(userAction(user, 'stop'), 'Stop', v.listing, fields);
  const open = s.status === 'running' && s.canOpen ? ` <a href="${esc(serverPrefix(user, s.name))}">Open</a>` : '';
  const failure = s.failure ? ` <span class="error">last start failed: ${esc(s.failure)}</span>` : '';
  return `<li data-server="${esc(s.name)}">${label} · <span class="status">${s.status}</span>${s.lastActivity ? ` · ${when(s.lastActivity)}` : ''}${open} ${actions}${failure}</li>`;
}

function userRow(v: AdminView, u: AdminUser): string {
  const self = u.name === v.viewer;
  const actions = self
    ? '<small>you: change your password on the <a href="/hub/change-password">password page</a></small>'
    : [
      u.may.setAdmin ? postButton(userAction(u.name, 'admin'), u.admin ? 'Remove admin' : 'Make admin', v.listing, { admin: u.admin ? 'no' : 'yes' }) : '',
      u.may.newPassword ? postButton(userAction(u.name, 'password'), 'New password…', v.listing) : '',
      u.may.delete ? postButton(userAction(u.name, 'delete'), 'Delete…', v.listing) : '',
    ].join(' ');
  const last = u.lastActivity === undefined ? '' : when(u.lastActivity, 'never');
  return `<tr id="user-${esc(u.name)}" data-user="${esc(u.name)}"><td><strong>${esc(u.name)}</strong>${u.admin ? ' <small class="badge">admin</small>' : ''}</td>
<td>${(u.groups ?? []).map(esc).join(', ')}</td><td><ul class="servers">${u.servers.map((s) => serverItem(v, u.name, s)).join('')}</ul></td>
<td>${last}</td><td>${actions}</td></tr>`;
}

function pager(v: AdminView): string {
  const { offset, limit } = v.listing;
  const prev = offset > 0 ? `<a href="${esc(listingQuery({ ...v.listing, offset: Math.max(0, offset - limit) }))}" rel="prev">Previous</a>` : '';
  const next = offset + limit < v.total ? `<a href="${esc(listingQuery({ ...v.listing, offset: offset + limit }))}" rel="next">Next</a>` : '';
  const shown = v.users.length ? `${offset + 1}–${offset + v.users.length} of ${v.total}` : `0 of ${v.total}`;
  return `<p class="pager">${prev} <span>${shown}</span> ${next}</p>`;
}

export function adminPage(v: AdminView): string {
  const l = v.listing;
  const notice = v.notice ? `<p class="${v.notice.error ? 'error' : 'ok'}" role="status" id="admin-notice">${esc(v.notice.text)}</p>` : '';
  return page('Admin', `${v.warning ?? ''}${notice}
<p><strong>Users</strong> · <a href="/hub/admin/groups">Groups</a></p>
<div class="card"><h1>Users</h1>
<p>${v.total} user${v.total === 1 ? '' : 's'}${l.filter ? ` matching “${esc(l.filter)}”` : ''} · ${v.active} server${v.active === 1 ? '' : 's'} running or starting
${v.active ? postButton('/hub/admin/stop-all', 'Stop all servers…', l) : ''}</p>
<form method="get" action="/hub/admin" role="search" class="row"><label for="name-filter">Find users by name</label>
<input type="text" id="name-filter" name="name_filter" value="${esc(l.filter)}" maxlength="24" autocapitalize="none">
<label><input type="checkbox" name="state" value="active" id="active-only"${l.activeOnly ? ' checked' : ''}> only with a server running or starting</label>
<label for="sort">Sort</label><select id="sort" name="sort"><option value="name">by name</option>
<option value="last_activity"${l.byActivity ? ' selected' : ''}>latest activity first</option></select>
<button type="submit">Search</button></form>
${pager(v)}
<table><thead><tr><th>Name</th><th>Groups</th><th>Servers</th><th>Last activity</th><th></th></tr></thead>
<tbody>${v.users.map((u) => userRow(v, u)).join('\n')}</tbody></table>
${pager(v)}</div>
${v.mayAdd ? addUsersCard(l) : ''}`, { user: v.viewer, admin: true, wide: true });
}

function addUsersCard(l: Listing): string {
  return `<div class="card"><h2>Add users</h2>
<form method="post" action="/hub/admin/users">${back(l)}
<label for="new-usernames">User names, separated by spaces or new lines (lower-case letters, digits, '.', '_' or '-')</label>
<textarea id="new-usernames" name="usernames" rows="3" cols="40" required autocapitalize="none"></textarea>
<label><input type="checkbox" name="admin" value="yes" id="new-admin"> Make them admins</label>
<button type="submit" id="add-users">Add users</button>
<p><small>Each new user gets a random password, shown once on the next page.</small></p></form></div>`;
}

/** The answer to "add users" and "new password": the passwords, once. */
export function passwordsPage(viewer: string, made: { name: string; password: string }[], o: { existing?: string[]; note?: string; back: string }): string {
  const rows = made.map((m) => `<tr><td>${esc(m.name)}</td><td><code id="password-${esc(m.name)}">${esc(m.password)}</code></td></tr>`).join('\n');
  return page('New passwords', `<div class="card"><h1>New passwords</h1>
${made.length ? `<p>Give each user their password: it is not shown again. They can change it on the password page once logged in.</p>
<table><thead><tr><th>User</th><th>Password</th></tr></thead><tbody>${rows}</tbody></table>` : ''}
${o.note ? `<p id="passwords-note">${esc(o.note)}</p>` : ''}${o.existing?.length ? `<p class="warn" id="existing">Already there, left unchanged: ${o.existing.map(esc).join(', ')}.</p>` : ''}
<p><a href="${esc(o.back)}">Back to the admin page</a></p></div>`, { user: viewer, admin: true });
}

/** A second step before what cannot be undone: the same form again, with confirm=yes. */
export function confirmPage(viewer: string, o: { title: string; text: string; action: string; listing: Listing; fields?: Record<string, string>; extra?: string }): string {
  return page(o.title, `<div class="card"><h1>${esc(o.title)}</h1><p>${esc(o.text)}</p>
<form method="post" action="${esc(o.action)}">${back(o.listing)}${hidden({ ...o.fields, confirm: 'yes' })}${o.extra ?? ''}
<button type="submit" id="confirm">${esc(o.title)}</button> <a href="${esc(listingQuery(o.listing))}">Cancel</a></form></div>`, { user: viewer, admin: true });
}
