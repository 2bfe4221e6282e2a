/** @module Passwords set through the hub. Changing your own needs the current one: an open session, or a script
 *  on any page of this origin (a user's own server shares it), must not be enough to take the account over.
 *  Wrong guesses count against the same limits as failed logins, and a new password ends every session. */
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from '../auth/password.ts';
import { badRequest, forbidden, GatewayError } from '../errors.ts';
import { isServerToken } from '../spawn/server-token.ts';
import type { HubContext } from './context.ts';

export class TooManyGuesses extends GatewayError {
  readonly retryAfterS: number;
  constructor(retryAfterS: number) {
    super('TOO_MANY_GUESSES', 429, `too many wrong passwords; try again in ${retryAfterS} s`);
    this.retryAfterS = retryAfterS;
  }
}

/** Seconds before `name` may guess again from `ip` (0: now). Tight per name and address, ten times looser per
 *  address alone, so one address cannot sweep many names, yet users behind one NAT do not lock each other out. */
export function guessRetryAfter(ctx: HubContext, name: string, ip: string): number {
  const attempts = ctx.config.auth.login_attempts;
  return Math.max(ctx.loginLimiter.retryAfter(`${name}|${ip}`, attempts), ctx.loginLimiter.retryAfter(ip, attempts * 10));
}

export function guessFailed(ctx: HubContext, name: string, ip: string): void {
  ctx.loginLimiter.fail(`${name}|${ip}`);
  ctx.loginLimiter.fail(ip);
}

export function guessSucceeded(ctx: HubContext, name: string, ip: string): void {
  ctx.loginLimiter.clear(`${name}|${ip}`);
}

export function checkNewPassword(p: unknown): string {
  if (typeof p !== 'string' || p.length < MIN_PASSWORD_LENGTH) throw badRequest(`password must be a string of at least ${MIN_PASSWORD_LENGTH} characters`);
  return p;
}

/** Stores a new password and ends every session of the user (revocation, READINGS #10). */
export async function setPassword(ctx: HubContext, name: string, password: unknown): Promise<void> {
  const passwordHash = await hashPassword(checkNewPassword(password));
  await ctx.store.users.update(name, { passwordHash });
  await ctx.store.sessions.revokeUser(name);
  ctx.auth.forgetUser(name);
}

/** The user's own change: the current password first, under the login limits; nothing changes unless it is
 *  right. `revokeTokens` also revokes the user's API tokens (not their servers' own), for when someone else
 *  may have used the account: a token minted through a stolen session would outlive the sessions. */
export async function changeOwnPassword(ctx: HubContext, name: string, current: unknown, next: unknown, ip: string,
  o: { revokeTokens?: boolean } = {}): Promise<void> {
  const retry = guessRetryAfter(ctx, name, ip);
  if (retry > 0) throw new TooManyGuesses(retry);
  if (typeof current !== 'string' || !current) throw badRequest('current_password is required to change your own password');
  checkNewPassword(next);
  const user = await ctx.store.users.get(name);
  if (user && user.passwordHash === null) throw badRequest('this account has no password to change; an admin can set one');
  if (!user || !(await verifyPassword(current, user.passwordHash))) {
    guessFailed(ctx, name, ip);
    ctx.log.info({ user: name, ip }, 'password change refused: wrong current password');
    throw forbidden('the current password is not correct');
  }
  guessSucceeded(ctx, name, ip);
  await setPassword(ctx, name, next);
  const revoked = o.revokeTokens ? await revokeApiTokens(ctx, name) : 0;
  ctx.log.info({ user: name, revokedTokens: revoked }, 'password changed by its owner');
}

/** Revokes the user's API tokens, not their servers' own (those end with the servers). Returns how many. */
export async function revokeApiTokens(ctx: HubContext, name: string): Promise<number> {
  const tokens = (await ctx.store.tokens.list(name)).filter((t) => !isServerToken(t));
  for (const t of tokens) {
    await ctx.store.tokens.revoke(t.id);
    ctx.auth.forgetToken(t.id);
  }
  return tokens.length;
}
