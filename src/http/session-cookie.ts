/** @module The browser session cookie: opened at login (and again after a password change, which ends every
 *  other session), cleared at logout. Secure when the public URL is https (READINGS #6). */
import { SESSION_COOKIE } from '../auth/session.ts';
import type { HubContext, Reply } from './context.ts';

const attrs = (ctx: HubContext) => `Path=/; HttpOnly; SameSite=Lax${ctx.config.publicUrl.protocol === 'https:' ? '; Secure' : ''}`;

/** Records a new session for `user` in the store and sets its cookie on the reply. */
export async function openSession(ctx: HubContext, reply: Reply, user: string): Promise<void> {
  const maxAge = ctx.config.auth.session_max_age;
  const { cookie, claims } = await ctx.sessions.sign(user, maxAge);
  await ctx.store.sessions.add({ id: claims.sid, user, created: new Date().toISOString(), expiresAt: new Date(claims.expMs).toISOString() });
  reply.header('set-cookie', `${SESSION_COOKIE}=${cookie}; Max-Age=${maxAge}; ${attrs(ctx)}`);
}

export function clearSessionCookie(ctx: HubContext, reply: Reply): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${attrs(ctx)}`);
}
