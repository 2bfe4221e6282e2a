/** @module /hub/change-password: a user changes their own password (as NativeAuthenticator's page of that
 *  name). The current password is required; afterwards every other session is logged out and this browser
 *  gets a fresh one. */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.ts';
import type { HubContext, Reply, Req } from '../context.ts';
import { changeOwnPassword, TooManyGuesses } from '../own-password.ts';
import { openSession } from '../session-cookie.ts';
import { esc, page } from './layout.ts';

function passwordPage(user: string, o: { error?: string; done?: boolean } = {}): string {
  const note = o.done ? `<p class="ok" role="status" id="changed">Your password was changed. Your other sessions were logged out.</p>`
    : o.error ? `<p class="error" role="alert">${esc(o.error)}</p>` : '';
  return page('Change password', `<div class="card"><h1>Change password</h1>${note}
<form method="post" action="/hub/change-password">
<input type="text" name="username" autocomplete="username" value="${esc(user)}" hidden>
<label for="current_password">Current password</label><input type="password" id="current_password" name="current_password" autocomplete="current-password" required>
<label for="new_password">New password</label><input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="8" required>
<label for="confirm_password">New password again</label><input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" minlength="8" required>
<button type="submit" id="change_submit">Change password</button>
</form></div>`, { user });
}

export async function passwordPageRoutes(app: FastifyInstance, ctx: HubContext, requireUser: (req: Req, reply: Reply) => { name: string } | null): Promise<void> {
  app.get('/hub/change-password', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    reply.type('text/html').header('cache-control', 'no-store').send(passwordPage(p.name));
  });

  app.post('/hub/change-password', async (req, reply) => {
    const p = requireUser(req, reply);
    if (!p) return;
    const body = (req.body ?? {}) as { current_password?: unknown; new_password?: unknown; confirm_password?: unknown };
    reply.type('text/html').header('cache-control', 'no-store');
    if (body.new_password !== body.confirm_password) return reply.code(400).send(passwordPage(p.name, { error: 'The two new passwords differ.' }));
    try {
      await changeOwnPassword(ctx, p.name, body.current_password, body.new_password, req.ip);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.status >= 500) throw err;
      if (err instanceof TooManyGuesses) reply.header('retry-after', String(err.retryAfterS));
      const message = err.message.replace(/^./, (c) => c.toUpperCase());
      return reply.code(err.status).send(passwordPage(p.name, { error: `${message}.` }));
    }
    await openSession(ctx, reply, p.name);
    return passwordPage(p.name, { done: true });
  });
}
