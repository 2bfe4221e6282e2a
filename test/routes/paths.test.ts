/** Path parsing: routing reads only the raw /user/NAME/ prefix; anything odd in it is refused. */
import t from 'tap';
import { firstSegment, parseUserPath } from '../../src/routes/paths.ts';

t.test('valid prefixes; the rest is kept byte for byte', async (t) => {
  t.match(parseUserPath('/user/alice/'), { ok: true, user: 'alice', rest: '', query: '' });
  t.match(parseUserPath('/user/alice/lab/tree/a%20b?token=x'), { ok: true, user: 'alice', rest: 'lab/tree/a%20b', query: '?token=x' });
  t.match(parseUserPath('/user/a.b-c_d/../x'), { ok: true, user: 'a.b-c_d', rest: '../x' });
  t.match(parseUserPath('/user/alice//x'), { ok: true, rest: '/x' });
});

t.test('refused prefixes', async (t) => {
  for (const p of ['/user//x', '/user/./x', '/user/../x', '/user/%61lice/', '/user/a%2fb/', '/user/a\\b/', '/user/Alice/', '/user/-x/',
    `/user/${'a'.repeat(25)}/`, '/user/alice', '/user/?x', '/user/al ice/']) {
    const r = parseUserPath(p);
    t.equal(r.ok, false, p);
    if (!r.ok) t.equal(r.status, 400);
  }
  t.match(parseUserPath('/user/Alice/lab?x=1'), { ok: false, canonical: '/user/alice/lab?x=1' }, 'case: a canonical form for GET page loads');
  t.match(parseUserPath('/user/alice?x=1'), { ok: false, canonical: '/user/alice/?x=1' });
  t.notOk((parseUserPath('/user/%61lice/') as { canonical?: string }).canonical, 'no canonical guess for escapes');
});

t.test('named-server segments', async (t) => {
  t.equal(firstSegment('gpu/lab'), 'gpu');
  t.equal(firstSegment('lab'), 'lab');
  t.equal(firstSegment(''), null);
  t.equal(firstSegment('%2e%2e/x'), null);
  t.equal(firstSegment('GPU/'), null);
});
