/** @module Who is asking: resolves a request's session cookie or API token to a Principal, with caches that
 *  keep the proxy's hot path free of crypto and store reads. Revocations clear the caches at once. */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Session, Store, Token, User } from '../store/store.ts';
import { ADMIN_SCOPES, expandScopes, hasScope, type ScopeSet, type Target } from './scopes.ts';
import { readCookie } from './cookie-header.ts';
import { SESSION_COOKIE, SessionCodec } from './session.ts';
import { hashToken, tokenFromHeader } from './tokens.ts';

export interface Principal {
  kind: 'user' | 'service';
  name: string;
  admin: boolean;
  via: 'cookie' | 'token';
  sessionId?: string;
  tokenId?: string;
  /** What the credential grants (a token's own scopes, or everything its owner holds for a cookie). */
  scopes: ScopeSet;
  /** What the owner holds now; a token never grants more than this. */
  ownerScopes: ScopeSet;
  /** When the session or token ends (epoch ms); absent for one that does not. */
  expiresMs?: number;
}

/** Lookup keys derived from one connection's credential headers. A browser or an API client sends the same
 *  Authorization or Cookie header on every request of a keep-alive connection, so the key (a token's SHA-256,
 *  the session cookie's value) is derived once per connection, not per request (~0.5 µs). Only the key is
 *  kept: the cached credential behind it is looked up and checked on every request, so revocations still
 *  take effect at once. A different header derives the key anew. */
export interface CredentialMemo { authorization?: string; tokenKey?: string; cookieHeader?: string; cookieKey?: string }

export const can = (p: Principal, scope: string, target?: Target) =>
  hasScope(p.scopes, scope, target) && hasScope(p.ownerScopes, scope, target);

// Bounds how long a revocation made elsewhere (another replica, the CLI on the store) takes to be seen here;
// revocations through this process clear the caches at once.
const CACHE_MS = 10_000;
const CACHE_LIMIT = 50_000;

export class Authenticator {
  readonly #store: Store;
  readonly #sessions: SessionCodec;
  readonly #serviceToken: Buffer | null;
  readonly #byCookie = new Map<string, { principal: Principal; expMs: number; cachedAt: number }>();
  readonly #byTokenHash = new Map<string, { principal: Principal; expMs: number; cachedAt: number }>();
  readonly #forgetListeners: ((affected: (p: Principal) => boolean) => void)[] = [];
  /** Bumped by every forget: a lookup that read the store before one must not cache what it read. */
  #epoch = 0;

  constructor(store: Store, sessions: SessionCodec, serviceToken?: string) {
    this.#store = store;
    this.#sessions = sessions;
    this.#serviceToken = serviceToken ? Buffer.from(serviceToken) : null;
  }

  /** Synchronous fast path for the proxy: a cached principal or undefined (then call authenticate()). */
  cached(headers: IncomingHttpHeaders, memo?: CredentialMemo, now = Date.now()): Principal | undefined {
    const tokenKey = this.#tokenKey(headers.authorization, memo);
    if (tokenKey) {
      const hit = this.#byTokenHash.get(tokenKey);
      return hit && hit.expMs > now && now - hit.cachedAt < CACHE_MS ? hit.principal : undefined;
    }
    const cookie = this.#cookieKey(headers.cookie, memo);
    const hit = cookie ? this.#byCookie.get(cookie) : undefined;
    return hit && hit.expMs > now && now - hit.cachedAt < CACHE_MS ? hit.principal : undefined;
  }

  #tokenKey(header: string | undefined, memo: CredentialMemo | undefined): string | undefined {
    if (header === undefined) return undefined;
    if (memo?.authorization === header) return memo.tokenKey;
    const token = tokenFromHeader(header);
    const key = token === undefined ? undefined : hashToken(token);
    if (memo) { memo.authorization = header; memo.tokenKey = key; }
    return key;
  }

  #cookieKey(header: string | undefined, memo: CredentialMemo | undefined): string | undefined {
    if (header === undefined) return undefined;
    if (memo?.cookieHeader === header) return memo.cookieKey;
    const key = readCookie(header, SESSION_COOKIE);
    if (memo) { memo.cookieHeader = header; memo.cookieKey = key; }
    return key;
  }

  /** The principal behind a request, or null. A request with a token is judged by the token alone. */
  async authenticate(headers: IncomingHttpHeaders): Promise<Principal | null> {
    const hit = this.cached(headers);
    if (hit) return hit;
    const token = tokenFromHeader(headers.authorization);
    if (token) return this.#fromToken(token);
    const cookie = readCookie(headers.cookie, SESSION_COOKIE);
    return cookie ? this.#fromCookie(cookie) : null;
  }

  async #fromCookie(cookie: string): Promise<Principal | null> {
    const epoch = this.#epoch;
    const claims = await this.#sessions.verify(cookie);
    if (!claims) return null;
    const session = await this.#store.sessions.get(claims.sid);
    if (!sessionStands(session, claims.user, Date.now())) return null;
    const user = await this.#store.users.get(claims.user);
    if (!user) return null;
    const principal = sessionPrincipal(user, session);
    if (epoch === this.#epoch) this.#remember(this.#byCookie, cookie, { principal, expMs: claims.expMs, cachedAt: Date.now() });
    return principal;
  }

  async #fromToken(secret: string): Promise<Principal | null> {
    const hash = hashToken(secret);
    const now = Date.now();
    const epoch = this.#epoch;
    if (this.#serviceToken && this.#serviceToken.length === secret.length && timingSafeEqual(this.#serviceToken, Buffer.from(secret))) {
      const scopes = expandScopes(ADMIN_SCOPES);
      const principal: Principal = { kind: 'service', name: 'kicloud-service', admin: true, via: 'token', scopes, ownerScopes: scopes };
      this.#remember(this.#byTokenHash, hash, { principal, expMs: Infinity, cachedAt: now });
      return principal;
    }
    const token = await this.#store.tokens.findByHash(hash);
    if (!token) return null;
    const expMs = tokenExpiresMs(token);
    if (!(expMs > now)) return null;                     // an unreadable expiry (NaN) counts as expired
    const user = await this.#store.users.get(token.user);
    if (!user) return null;
    const principal = tokenPrincipal(user, token);
    if (epoch === this.#epoch) this.#remember(this.#byTokenHash, hash, { principal, expMs, cachedAt: now });
    this.#store.tokens.touch(token.id, new Date(now).toISOString()).catch(() => { /* last_activity is best effort */ });
    return principal;
  }

  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value!);
    map.set(key, value);
  }

  /** Drop cached credentials: of one session, one token, or everything a user holds. Called after the store
   *  changed; listeners then judge again what those credentials opened (proxy/open-upgrades.ts). */
  forgetSession(sid: string): void { this.#forget((p) => p.sessionId === sid); }
  forgetToken(id: string): void { this.#forget((p) => p.tokenId === id); }
  forgetUser(name: string): void { this.#forget((p) => p.kind === 'user' && p.name === name); }
  /** Everything: the store changed where this process cannot tell what (another process wrote it). */
  forgetAll(): void { this.#forget(() => true); }

  onForget(listener: (affected: (p: Principal) => boolean) => void): void { this.#forgetListeners.push(listener); }

  #forget(affected: (p: Principal) => boolean): void {
    this.#epoch++;
    for (const map of [this.#byCookie, this.#byTokenHash]) for (const [k, v] of map) if (affected(v.principal)) map.delete(k);
    for (const listener of this.#forgetListeners) listener(affected);
  }

  /** `p` judged again from the store, no cache: null when its session or token was revoked or expired or its
   *  user deleted; else as it stands now (admin flag and scopes as they are). */
  async recheck(p: Principal): Promise<Principal | null> {
    if (p.kind === 'service') return p;                // the service token comes from the environment, for the process's life
    const user = await this.#store.users.get(p.name);
    if (!user) return null;
    const now = Date.now();
    if (p.via === 'cookie') {
      const session = p.sessionId ? await this.#store.sessions.get(p.sessionId) : null;
      return sessionStands(session, user.name, now) ? sessionPrincipal(user, session) : null;
    }
    const token = (await this.#store.tokens.list(user.name)).find((t) => t.id === p.tokenId);
    return token && tokenExpiresMs(token) > now ? tokenPrincipal(user, token) : null;
  }
}

/** A session stands while it is its user's and before its expiry; an unreadable expiry (NaN) has passed. */
const sessionStands = (s: Session | null, user: string, now: number): s is Session =>
  s !== null && s.user === user && Date.parse(s.expiresAt) > now;
const tokenExpiresMs = (t: Pick<Token, 'expiresAt'>): number => (t.expiresAt ? Date.parse(t.expiresAt) : Infinity);

const sessionPrincipal = (user: User, session: Session): Principal => {
  const owner = ownerScopes(user);
  return { kind: 'user', name: user.name, admin: user.admin, via: 'cookie', sessionId: session.id, scopes: owner, ownerScopes: owner,
    expiresMs: Date.parse(session.expiresAt) };
};

const tokenPrincipal = (user: User, token: Pick<Token, 'id' | 'scopes' | 'expiresAt'>): Principal => ({
  kind: 'user', name: user.name, admin: user.admin, via: 'token', tokenId: token.id,
  scopes: expandScopes(token.scopes, user), ownerScopes: ownerScopes(user),
  ...(token.expiresAt ? { expiresMs: tokenExpiresMs(token) } : {}),
});

export function ownerScopes(user: Pick<User, 'name' | 'admin'>): ScopeSet {
  return expandScopes(['inherit'], user);
}
