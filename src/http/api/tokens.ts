/** @module /hub/api/users/NAME/tokens[/ID]: list, create, read, revoke API tokens. A token never holds more
 *  than its owner; an unknown scope is a 400. The secret is shown once, at creation. */
import type { FastifyInstance } from 'fastify';
import { ownerScopes, type Principal } from '../../auth/authenticator.ts';
import { expandScopes, isSubset, ScopeError } from '../../auth/scopes.ts';
import { mintToken } from '../../auth/tokens.ts';
import { badRequest, forbidden, notFound } from '../../errors.ts';
import type { User } from '../../store/store.ts';
import type { HubContext } from '../context.ts';
import { findUser, requireScope } from './guard.ts';
import { tokenModel } from './models.ts';

export async function tokensApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  app.get('/hub/api/users/:name/tokens', async (req) => {
    const { name } = req.params as { name: string };
    requireScope(req, ['read:tokens', 'tokens'], { user: name });
    await findUser(ctx, name);
    return { api_tokens: (await ctx.store.tokens.list(name)).map(tokenModel), oauth_tokens: [] };
  });

  app.post('/hub/api/users/:name/tokens', async (req, reply) => {
    const { name } = req.params as { name: string };
    requireScope(req, 'tokens', { user: name });
    const owner = await findUser(ctx, name);
    const body = (req.body ?? {}) as TokenRequest;
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('body must be a JSON object');
    const { secret, token } = await issueToken(ctx, owner, req.principal!, body, `Requested via API by ${req.principal!.name}`);
    reply.code(201);
    return { ...tokenModel(token), token: secret };
  });

  app.get('/hub/api/users/:name/tokens/:id', async (req) => {
    const { name, id } = req.params as { name: string; id: string };
    requireScope(req, ['read:tokens', 'tokens'], { user: name });
    const t = (await ctx.store.tokens.list(name)).find((x) => x.id === id);
    if (!t) throw notFound(`${name} has no token ${id}`);
    return tokenModel(t);
  });

  app.delete('/hub/api/users/:name/tokens/:id', async (req, reply) => {
    const { name, id } = req.params as { name: string; id: string };
    requireScope(req, 'tokens', { user: name });
    const t = (await ctx.store.tokens.list(name)).find((x) => x.id === id);
    if (!t) throw notFound(`${name} has no token ${id}`);
    await ctx.store.tokens.revoke(id);
    ctx.auth.forgetToken(id);
    reply.code(204);
  });
}

export interface TokenRequest { scopes?: unknown; note?: unknown; expires_in?: unknown }

/** Checks a token request against what the owner and the caller hold, then stores the token. The secret is
 *  returned to show once: only its hash is kept. */
export async function issueToken(ctx: HubContext, owner: User, caller: Principal, body: TokenRequest, defaultNote: string) {
  const scopes = body.scopes === undefined ? ['inherit'] : body.scopes;
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string')) throw badRequest('scopes must be a list of strings');
  if (body.note !== undefined && typeof body.note !== 'string') throw badRequest('note must be a string');
  if (typeof body.note === 'string' && body.note.length > 1000) throw badRequest('note must be at most 1000 characters');
  if (body.expires_in !== undefined && body.expires_in !== null && !(typeof body.expires_in === 'number' && body.expires_in > 0)) {
    throw badRequest('expires_in must be a positive number of seconds');
  }
  let wanted;
  try { wanted = expandScopes(scopes as string[], owner); } catch (err) {
    if (err instanceof ScopeError) throw badRequest(err.message);
    throw err;
  }
  const excess = isSubset(wanted, ownerScopes(owner));
  if (excess) throw forbidden(`${owner.name} does not hold "${excess}", so a token of theirs cannot either`);
  const beyondCaller = isSubset(wanted, caller.scopes);
  if (beyondCaller) throw forbidden(`the credential making this request does not hold "${beyondCaller}", so it cannot grant it`);
  const minted = mintToken(owner.name, scopes as string[], {
    note: (body.note as string | undefined) || defaultNote,
    expiresInS: (body.expires_in as number | null | undefined) ?? null,
  });
  await ctx.store.tokens.add(minted.token);
  return minted;
}
