/** @module /hub/change-password: a user changes their own password (as NativeAuthenticator's page of that
 *  name). The current password is required; afterwards every other session is logged out and this browser
 *  gets a fresh one. */
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../auth/authenticator.ts';
import { forbidden, GatewayError } from '../../errors.ts';
import type { HubContext, Reply, Req } from '../context.ts';
import { changeOwnPassword, TooManyGuesses } from '../own-password.ts';
import { openSession } from '../session-cookie.ts';
import { esc, type Nav, navFor, page } from './layout.ts';

function passwordPage(nav: Nav, o: { error?: string; done?: boolean; tokensRevoked?: boolean } = {}): string {
  const note = o.done ? `<p class="ok" role="status" id="changed">Your password was changed. Your other sessions were logged out${
    o.tokensRevoked ? ', and your API tokens revoked' : ''}.</p>`
    : o.error ? `<p class="error" role="alert">${esc(o.error)}</p>` : '';
  return page('Change password', `<div class="card"><h1>Change password</h1>${note}
<form method="post" action="/hub/change-password">
<input type="text" name="username" autocomplete="username" value="${esc(nav.user)}" hidden>
<label for="current_password">Current password</label><input type="password" id="current_password" name="current_password" autocomplete="current-password" required>
<label for="new_password">New password</label><input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="8" required>
<label for="confirm_password">New password again</label><input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" minlength="8" required>
<label><input type="checkbox" name="revoke_tokens" value="yes" id="revoke_tokens"> Also revoke all my API tokens
(do this if someone else may have used your account: tokens keep working after a password change)</label>
<button type="submit" id="change_submit">Change password</button>
</form></div>`, nav);
}

/** Only a user's own browser session: a token (a server's included, which any code in that server can read)
 *  must not be a way to guess the password, nor to get a browser session for the account. */
function sessionOnly(p: Principal): void {
  if (p.via !== 'cookie' || p.kind !== 'user') throw forbidden('change your password in a browser session, not with an API token');
}

export async function passwordPageRoutes(app: FastifyInstance, ctx: HubContext, requireUser: (req: Req, reply: Reply) => Principal | null): Promise<void> {
  app.get('/hub/change-password', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    sessionOnly(p);
    reply.type('text/html').header('cache-control', 'no-store').send(passwordPage(navFor(p)));
  });

  app.post('/hub/change-password', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    sessionOnly(p);
    const body = (req.body ?? {}) as { current_password?: unknown; new_password?: unknown; confirm_password?: unknown; revoke_tokens?: unknown };
    reply.type('text/html').header('cache-control', 'no-store');
    if (body.new_password !== body.confirm_password) return reply.code(400).send(passwordPage(navFor(p), { error: 'The two new passwords differ.' }));
    try {
      await changeOwnPassword(ctx, p.name, body.current_password, body.new_password, req.ip, { revokeTokens: body.revoke_tokens === 'yes' });
    } catch (err) {
      if (!(err instanceof GatewayError) || err.status >= 500) throw err;
      if (err instanceof TooManyGuesses) reply.header('retry-after', String(err.retryAfterS));
      const message = err.message.replace(/^./, (c) => c.toUpperCase());
      return reply.code(err.status).send(passwordPage(navFor(p), { error: `${message}.` }));
    }
    await openSession(ctx, reply, p.name);
    return passwordPage(navFor(p), { done: true, tokensRevoked: body.revoke_tokens === 'yes' });
  });
}
