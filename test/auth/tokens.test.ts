/** Token secrets and their stored form: the hash is plain SHA-256 hex (stores written by earlier versions stay
 *  valid), a minted secret has 192 bits of randomness and only its hash is in the token record. */
import t from 'tap';
import { createHash } from 'node:crypto';
import { hashToken, mintToken } from '../../src/auth/tokens.ts';

t.test('hashToken is SHA-256 hex', async (t) => {
  t.equal(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const secret = 'f'.repeat(48);
  t.equal(hashToken(secret), createHash('sha256').update(secret).digest('hex'));
});

t.test('a minted token keeps only the hash of its secret', async (t) => {
  const { secret, token } = mintToken('alice', ['self']);
  t.match(secret, /^[0-9a-f]{48}$/);
  t.equal(token.hash, hashToken(secret));
  t.notOk(JSON.stringify(token).includes(secret), 'the record does not hold the secret');
  t.not(mintToken('alice', ['self']).secret, secret, 'secrets differ');
});
