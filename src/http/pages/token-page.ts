/** @module /hub/token: a user's API tokens in the browser, as JupyterHub's token page: request one (note and
 *  expiry; it holds the user's own permissions), see it once, list and revoke the others. Plain forms, so it
 *  works without scripts; every POST passes the hub's Origin check. */
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../auth/authenticator.ts';
import { badRequest, notFound } from '../../errors.ts';
import { isServerToken } from '../../spawn/server-token.ts';
import type { Token } from '../../store/store.ts';
import { issueToken } from '../api/tokens.ts';
import { findUser, requireScope } from '../api/guard.ts';
import type { HubContext, Reply, Req } from '../context.ts';
import { AnsweredRequests, requestIdField } from '../answered-requests.ts';
import { esc, type Nav, navFor, page, when } from './layout.ts';

/** The choices of JupyterHub's token page, in seconds ('' = never). */
const EXPIRY: [string, string][] = [['3600', '1 hour'], ['86400', '1 day'], ['604800', '1 week'], ['2592000', '30 days'], ['', 'Never']];

interface PageState { secret?: string; error?: string; notice?: string }

function tokenPage(nav: Nav, tokens: Token[], o: PageState = {}): string {
  const fresh = o.secret ? `<div class="card" id="new-token-card"><h2>Your new API token</h2>
<p>Copy it now: it is not shown again. Send it as <code>Authorization: token …</code>.</p>
<pre id="new-token">${esc(o.secret)}</pre></div>` : '';
  const rows = tokens.map((t) => `<tr id="token-${esc(t.id)}"><td>${esc(t.note)}</td><td>${esc(t.scopes.join(' '))}</td>
<td>${when(t.created, '')}</td><td>${when(t.lastActivity, 'never')}</td><td>${when(t.expiresAt, 'never')}</td>
<td>${isServerToken(t) ? '<small>your server\'s own; the hub revokes it when the server stops</small>'
    : `<form method="post" action="/hub/token/${encodeURIComponent(t.id)}/revoke"><button type="submit">Revoke</button></form>`}</td></tr>`).join('\n');
  return page('API tokens', `${fresh}<div class="card"><h1>Request a new API token</h1>
${o.error ? `<p class="error" role="alert">${esc(o.error)}</p>` : ''}${o.notice ? `<p class="warn" role="status" id="token-notice">${esc(o.notice)}</p>` : ''}
<form method="post" action="/hub/token">${requestIdField()}
<label for="token-note">Note (what the token is for)</label><input type="text" id="token-note" name="note" maxlength="1000">
<label for="token-expires">Expires in</label><select id="token-expires" name="expires_in">
${EXPIRY.map(([v, label]) => `<option value="${v}"${v === '604800' ? ' selected' : ''}>${label}</option>`).join('')}</select>
<button type="submit" id="request-token">Request new API token</button>
</form></div>
<div class="card"><h2>Your API tokens</h2>${tokens.length ? `<table><thead><tr><th>Note</th><th>Permissions</th><th>Created</th><th>Last used</th><th>Expires</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>` : '<p>None yet.</p>'}</div>`, nav);
}

export async function tokenPageRoutes(app: FastifyInstance, ctx: HubContext, requireUser: (req: Req, reply: Reply) => Principal | null): Promise<void> {
  const live = async (name: string) => (await ctx.store.tokens.list(name)).filter((t) => !t.expiresAt || Date.parse(t.expiresAt) > Date.now());
  const answered = new AnsweredRequests();
  const show = async (reply: Reply, p: Principal, o: PageState = {}) =>
    reply.type('text/html').header('cache-control', 'no-store').send(tokenPage(navFor(p), await live(p.name), o));

  app.get('/hub/token', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    requireScope(req, ['read:tokens', 'tokens'], { user: p.name });
    return show(reply, p);
  });

  app.post('/hub/token', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    requireScope(req, 'tokens', { user: p.name });
    const form = (req.body ?? {}) as { note?: unknown; expires_in?: unknown; request_id?: unknown };
    const expires = form.expires_in === undefined || form.expires_in === '' ? null : Number(form.expires_in);
    if (expires !== null && !EXPIRY.some(([v]) => v === String(expires))) throw badRequest('expires_in must be one of the choices on the token page');
    if (!answered.first(p.name, form.request_id, 'the token page')) {
      return show(reply, p, { notice: 'This request was already answered, and its token shown once. If you did not copy it, revoke it below and request a new one.' });
    }
    const { secret } = await issueToken(ctx, await findUser(ctx, p.name), p, { note: form.note, expires_in: expires }, 'Requested via the token page');
    ctx.log.info({ user: p.name }, 'API token issued from the token page');
    return show(reply, p, { secret });
  });

  app.post('/hub/token/:id/revoke', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    requireScope(req, 'tokens', { user: p.name });
    const { id } = req.params as { id: string };
    const token = (await ctx.store.tokens.list(p.name)).find((t) => t.id === id);
    if (!token) throw notFound(`you have no token ${id}`);
    if (isServerToken(token)) throw badRequest("that is your server's own token; stop the server instead");
    await ctx.store.tokens.revoke(id);
    ctx.auth.forgetToken(id);
    return reply.redirect('/hub/token', 303);
  });
}
