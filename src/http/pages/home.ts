/** @module /hub/home: the user's default server and, when enabled, their named servers (JupyterHub's home
 *  page: open or start, stop, delete, add a new one within the limit). Opening a stopped server's URL starts it
 *  (lazy spawn), so "Start" is a link; stop and delete call the REST API from the page. */
import type { ServerRecord } from '../../store/store.ts';
import { serverPrefix, SERVER_NAME } from '../../routes/paths.ts';
import { esc, page, when as ago } from './layout.ts';

export interface HomeView {
  user: string;
  /** May open the admin page. */
  admin: boolean;
  servers: ServerRecord[];
  named: { enabled: boolean; limit: number };
  /** Shown to admins when servers cannot run under per-user accounts. */
  warning?: string;
}

// The input's pattern attribute is compiled with the v flag, where a bare '-' in a class is a syntax error.
const NAME_PATTERN = SERVER_NAME.source.slice(1, -1).replace('-]', '\\-]');
const isUp = (s: ServerRecord) => s.state === 'running' || s.state === 'pending';

function namedRow(user: string, s: ServerRecord): string {
  const url = serverPrefix(user, s.server);
  return `<tr data-server="${esc(s.server)}"><td>${esc(s.server)}</td><td>${esc(s.state)}</td><td>${ago(s.lastActivity)}</td><td>
<a href="${esc(url)}">${isUp(s) ? 'Open' : 'Start'}</a>
${isUp(s) ? `<button type="button" data-action="stop">Stop</button>` : `<button type="button" data-action="delete">Delete</button>`}</td></tr>`;
}

export function homePage(v: HomeView): string {
  const def = v.servers.find((s) => s.server === '');
  const state = def?.state ?? 'stopped';
  const named = v.servers.filter((s) => s.server);
  const full = v.named.limit > 0 && named.length >= v.named.limit;
  const namedCard = !v.named.enabled ? '' : `<div class="card"><h2>Named servers</h2>
${named.length ? `<table><thead><tr><th>Name</th><th>Status</th><th>Last activity</th><th></th></tr></thead>
<tbody>${named.map((s) => namedRow(v.user, s)).join('\n')}</tbody></table>` : '<p>None yet.</p>'}
<form id="new-server"><label for="new-server-name">New server name</label>
<input type="text" id="new-server-name" pattern="${NAME_PATTERN}" required${full ? ' disabled' : ''}
 placeholder="lower-case letters, digits, '.', '_' or '-'" autocapitalize="none">
<button type="submit"${full ? ' disabled' : ''}>Add new server</button>
${v.named.limit ? `<p>${named.length} of ${v.named.limit} named servers.</p>` : ''}</form></div>`;
  const api = `/hub/api/users/${encodeURIComponent(v.user)}`;
  return page('Home', `${v.warning ?? ''}<p class="error" role="alert" id="home-error" hidden></p>
<div class="card" data-server=""><h1>Your server</h1>
<p>Status: <strong id="state">${esc(state)}</strong>${def?.lastActivity ? ` · last activity ${ago(def.lastActivity)}` : ''}</p>
<p><a href="${esc(serverPrefix(v.user, ''))}" id="open">${state === 'running' ? 'Open' : 'Start'} my server</a></p>
${isUp(def ?? ({ state } as ServerRecord)) ? `<button type="button" id="stop" data-action="stop">Stop my server</button>` : ''}</div>
${namedCard}`, {
    user: v.user,
    admin: v.admin,
    script: `const api = ${JSON.stringify(api)}, user = ${JSON.stringify(v.user)};
const fail = (m) => { const e = document.getElementById('home-error'); e.textContent = m; e.hidden = false; };
document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  const server = b.closest('[data-server]').dataset.server;
  b.disabled = true;
  const url = server ? api + '/servers/' + encodeURIComponent(server) : api + '/server';
  const del = b.dataset.action === 'delete';
  const r = await fetch(url, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: del ? '{"remove": true}' : '' });
  if (r.ok) return location.reload();
  b.disabled = false;
  fail((await r.json().catch(() => ({}))).message || 'the request failed (' + r.status + ')');
});
document.getElementById('new-server')?.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = document.getElementById('new-server-name').value.trim();
  location.href = '/hub/spawn/' + encodeURIComponent(user) + '/' + encodeURIComponent(name);
});`,
  });
}
