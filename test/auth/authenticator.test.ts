/** The authenticator's per-connection memo (the proxy's fast path): it saves deriving a lookup key, never a
 *  check. A revoked token or session fails on the next request of the same connection; a changed header is
 *  read anew; a header for one credential never answers for another. Real SQLite store in a temp dir. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Authenticator, type CredentialMemo } from '../../src/auth/authenticator.ts';
import { SESSION_COOKIE, SessionCodec } from '../../src/auth/session.ts';
import { mintToken } from '../../src/auth/tokens.ts';
import { newUser } from '../../src/http/api/users.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kicloud-auth-'));
const store = new SqliteStore(path.join(dir, 'store.sqlite'));
t.teardown(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
const codec = new SessionCodec(new Uint8Array(32).fill(7));
const auth = new Authenticator(store, codec);
for (const name of ['alice', 'bob']) await store.users.add(newUser(name, false, null));

async function tokenFor(user: string) {
  const { secret, token } = mintToken(user, ['inherit']);
  await store.tokens.add(token);
  return { header: `token ${secret}`, id: token.id };
}
async function cookieFor(user: string) {
  const { cookie, claims } = await codec.sign(user, 3600);
  await store.sessions.add({ id: claims.sid, user, created: new Date().toISOString(), expiresAt: new Date(claims.expMs).toISOString() });
  return { header: `_xsrf=abc; ${SESSION_COOKIE}=${cookie}`, sid: claims.sid };
}

t.test('a token: cached through the memo, revoked at once', async (t) => {
  const alice = await tokenFor('alice');
  const memo: CredentialMemo = {};
  t.equal(auth.cached({ authorization: alice.header }, memo), undefined, 'not cached before the first authenticate');
  t.equal((await auth.authenticate({ authorization: alice.header }))?.name, 'alice');
  t.equal(auth.cached({ authorization: alice.header }, memo)?.name, 'alice');
  t.equal(memo.authorization, alice.header, 'the memo holds the header');
  auth.forgetToken(alice.id);
  t.equal(auth.cached({ authorization: alice.header }, memo), undefined, 'revoked: the memo does not keep it alive');
});

t.test('a different header on the same connection is read anew', async (t) => {
  const [alice, bob] = [await tokenFor('alice'), await tokenFor('bob')];
  await auth.authenticate({ authorization: alice.header });
  await auth.authenticate({ authorization: bob.header });
  const memo: CredentialMemo = {};
  t.equal(auth.cached({ authorization: alice.header }, memo)?.name, 'alice');
  t.equal(auth.cached({ authorization: bob.header }, memo)?.name, 'bob', 'bob\'s token, same connection');
  t.equal(auth.cached({ authorization: `${alice.header}x` }, memo), undefined, 'a token one character longer');
  t.equal(auth.cached({}, memo), undefined, 'no credentials at all');
  t.equal(auth.cached({ authorization: 'Basic YWxpY2U6eA==' }, memo), undefined, 'another scheme');
});

t.test('the memo is what the fast path reads, and only for its exact header', async (t) => {
  const alice = await tokenFor('alice');
  await auth.authenticate({ authorization: alice.header });
  // A planted key shows the memo is consulted (no hashing for a repeated header) and bound to the exact string.
  const planted: CredentialMemo = { authorization: alice.header, tokenKey: 'not-the-hash' };
  t.equal(auth.cached({ authorization: alice.header }, planted), undefined, 'the memo\'s key is used for the same header');
  t.equal(auth.cached({ authorization: `${alice.header} ` }, planted)?.name, 'alice', 'another string (a trailing blank) is derived anew');
  t.equal(planted.authorization, `${alice.header} `);
  t.equal(auth.cached({}, planted), undefined, 'no Authorization and no Cookie: nothing, whatever the memo holds');
});

t.test('a session cookie: cached through the memo, logged out at once', async (t) => {
  const alice = await cookieFor('alice');
  const bob = await cookieFor('bob');
  const memo: CredentialMemo = {};
  t.equal((await auth.authenticate({ cookie: alice.header }))?.name, 'alice');
  t.equal((await auth.authenticate({ cookie: bob.header }))?.name, 'bob');
  t.equal(auth.cached({ cookie: alice.header }, memo)?.name, 'alice');
  t.equal(auth.cached({ cookie: bob.header }, memo)?.name, 'bob', 'bob\'s cookie, same connection');
  t.equal(auth.cached({ cookie: `${SESSION_COOKIE}=forged.jwt.here` }, memo), undefined, 'a forged cookie');
  t.equal(auth.cached({ cookie: alice.header }, memo)?.name, 'alice');
  auth.forgetSession(alice.sid);
  t.equal(auth.cached({ cookie: alice.header }, memo), undefined, 'logged out: the memo does not keep it alive');
  t.equal(auth.cached({ cookie: bob.header, authorization: 'token nope' }, memo), undefined, 'a token, even a bad one, decides alone');
});

t.test('recheck reads the store, not the caches; forget tells listeners whom it affected', async (t) => {
  const affected: string[] = [];
  auth.onForget((match) => { for (const n of ['alice', 'bob']) if (match({ kind: 'user', name: n } as never)) affected.push(n); });
  const token = await tokenFor('bob');
  const cookie = await cookieFor('bob');
  const byToken = (await auth.authenticate({ authorization: token.header }))!;
  const bySession = (await auth.authenticate({ cookie: cookie.header }))!;
  t.same(await auth.recheck(byToken), byToken, 'a live token stands as it was');
  await store.users.update('bob', { admin: true });
  t.equal((await auth.recheck(bySession))?.admin, true, 'the admin flag as it is now, though the cache still says otherwise');
  t.equal(auth.cached({ cookie: cookie.header })?.admin, false);
  await store.users.update('bob', { admin: false });
  await store.tokens.revoke(token.id);
  t.equal(await auth.recheck(byToken), null, 'a revoked token');
  t.ok(await auth.recheck(bySession), 'the session is not affected by it');
  await store.sessions.revoke(cookie.sid);
  t.equal(await auth.recheck(bySession), null, 'a revoked session');
  auth.forgetUser('bob');
  t.same(affected, ['bob'], "forgetUser affects that user's principals only");
  const service = { kind: 'service', name: 'kicloud-service', admin: true, via: 'token' } as never;
  t.equal(await auth.recheck(service), service, 'the service token (from the environment) stands');
});

t.test('a lookup that read the store before a revocation does not cache what it read', async (t) => {
  for (const make of [tokenFor, cookieFor]) {
    const cred = await make('alice');
    const headers = 'sid' in cred ? { cookie: cred.header } : { authorization: cred.header };
    const pending = auth.authenticate(headers);              // its store read happens now; caching comes later
    if ('sid' in cred) {
      const revoked = store.sessions.revoke(cred.sid as string);
      auth.forgetSession(cred.sid as string);
      await revoked;
    } else {
      const revoked = store.tokens.revoke(cred.id);
      auth.forgetToken(cred.id);
      await revoked;
    }
    await pending;
    t.equal(auth.cached(headers), undefined, `${'sid' in cred ? 'session' : 'token'}: the revoked credential is not in the cache`);
    t.equal(await auth.authenticate(headers), null, 'and is refused');
  }
});

t.test('an unreadable expiry in the store counts as expired', async (t) => {
  const { secret, token } = mintToken('alice', ['inherit']);
  await store.tokens.add({ ...token, expiresAt: 'not a date' });
  t.equal(await auth.authenticate({ authorization: `token ${secret}` }), null);
});
