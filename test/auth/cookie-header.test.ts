/** Reading and stripping the session cookie: what authenticates a request must be exactly what the backend
 *  never sees. Hand-picked cases, then random headers against a plain split-based model of the same rules. */
import t from 'tap';
import { readCookie, stripCookie } from '../../src/auth/cookie-header.ts';

const NAME = 'kicloud-session';

t.test('reads the named cookie wherever it is', async (t) => {
  t.equal(readCookie(`${NAME}=abc`, NAME), 'abc');
  t.equal(readCookie(`a=1; ${NAME}=abc; b=2`, NAME), 'abc');
  t.equal(readCookie(`a=1;${NAME}=abc`, NAME), 'abc', 'no blank after ;');
  t.equal(readCookie(`a=1; ${NAME} = abc ;b=2`, NAME), 'abc', 'blanks around name and value');
  t.equal(readCookie(`a=1;\t${NAME}=abc`, NAME), 'abc', 'tab before the name');
  t.equal(readCookie(`a=1;\xa0${NAME}=abc`, NAME), 'abc', 'no-break space before the name (trim() removes it, so does Python\'s strip)');
  t.equal(readCookie(`${NAME}=first; ${NAME}=second`, NAME), 'first', 'the first of two');
  t.equal(readCookie(`${NAME}=a=b=c`, NAME), 'a=b=c', 'a value holding =');
  t.equal(readCookie(`${NAME}=`, NAME), '', 'empty value');
  t.equal(readCookie(`flag; ${NAME}=abc`, NAME), 'abc', 'a pair without = before it does not hide it');
});

t.test('does not take a look-alike for the named cookie', async (t) => {
  t.equal(readCookie(undefined, NAME), undefined);
  t.equal(readCookie('', NAME), undefined);
  t.equal(readCookie(`x${NAME}=evil`, NAME), undefined, 'longer name ending with it');
  t.equal(readCookie(`${NAME}x=evil`, NAME), undefined, 'longer name starting with it');
  t.equal(readCookie(`a=${NAME}=evil`, NAME), undefined, 'inside another cookie\'s value');
  t.equal(readCookie(`a=x ${NAME}=evil`, NAME), undefined, 'after a blank inside another value');
  t.equal(readCookie(`x${NAME}=evil; ${NAME}=good`, NAME), 'good', 'look-alike first, then the real one');
  t.equal(readCookie(`KICLOUD-SESSION=evil`, NAME), undefined, 'names are case-sensitive');
  t.equal(readCookie(`${NAME}`, NAME), '', 'a bare name has an empty value');
});

t.test('strips every occurrence and keeps the rest as it was', async (t) => {
  t.equal(stripCookie(`${NAME}=abc`, NAME), '');
  t.equal(stripCookie(`a=1; ${NAME}=abc; b=2`, NAME), 'a=1; b=2');
  t.equal(stripCookie(`${NAME}=abc; b=2`, NAME), 'b=2');
  t.equal(stripCookie(`a=1; ${NAME}=abc`, NAME), 'a=1');
  t.equal(stripCookie(`${NAME}=1; a=1; ${NAME}=2; ${NAME}=3; b=2; ${NAME}=4`, NAME), 'a=1; b=2');
  t.equal(stripCookie(`a=1; ${NAME} = x; ${NAME}; b=2`, NAME), 'a=1; b=2', 'blanks and a bare name are stripped too');
  t.equal(stripCookie(`_xsrf=2|abc; x${NAME}=1; ${NAME}x=2`, NAME), `_xsrf=2|abc; x${NAME}=1; ${NAME}x=2`, 'look-alikes stay');
  t.equal(stripCookie(`a=${NAME}=v; ${NAME}=s`, NAME), `a=${NAME}=v`, 'a value naming it stays');
  const untouched = 'a=1;b=2';
  t.equal(stripCookie(untouched, NAME), untouched, 'no session cookie: the same string');
});

// The rules written the slow, obvious way: split on ';', a pair's name is what precedes its first '='
// (the whole pair without one), blanks trimmed.
const nameOf = (pair: string) => (pair.includes('=') ? pair.slice(0, pair.indexOf('=')) : pair).trim();
const modelRead = (h: string, n: string) => {
  const pair = h.split(';').find((p) => nameOf(p) === n);
  return pair === undefined ? undefined : pair.includes('=') ? pair.slice(pair.indexOf('=') + 1).trim() : '';
};
const modelStrip = (h: string, n: string) => {
  const pairs = h.split(';');
  const kept = pairs.filter((p) => nameOf(p) !== n);
  return kept.length === pairs.length ? h : kept.join(';').trim();
};

t.test('random headers agree with the split-based model', async (t) => {
  const pieces = [NAME, `x${NAME}`, `${NAME}x`, 'a', '_xsrf', '=', ';', ' ', '\t', '\xa0', 'v', '2|ab', `${NAME}=`, ''];
  let seed = 12345;
  const rand = (n: number) => {   // xorshift32: every 32-bit state, no float overflow
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const seen = new Set<string>();
  let disagreements = 0;
  for (let i = 0; i < 20_000; i++) {
    let h = '';
    for (let k = rand(10); k >= 0; k--) h += pieces[rand(pieces.length)];
    seen.add(h);
    if (readCookie(h, NAME) !== (h ? modelRead(h, NAME) : undefined) || stripCookie(h, NAME) !== modelStrip(h, NAME)) {
      if (disagreements++ < 5) t.fail(`disagrees on ${JSON.stringify(h)}: read ${JSON.stringify(readCookie(h, NAME))} vs ${JSON.stringify(modelRead(h, NAME))}, strip ${JSON.stringify(stripCookie(h, NAME))} vs ${JSON.stringify(modelStrip(h, NAME))}`);
    }
  }
  t.equal(disagreements, 0, '20 000 random headers');
  t.ok(seen.size > 10_000, `${seen.size} of them distinct`);
});

t.test('a header full of look-alikes takes linear time', async (t) => {
  // Each look-alike is rejected once and the search goes on from the next pair; re-scanning back to the
  // pair's start for every match made this 300 KB header take seconds (quadratic).
  const oneValue = `a=${NAME.repeat(20_000)}`;
  const manyNames = `x${NAME}=1;`.repeat(20_000);
  for (const h of [oneValue, manyNames]) {
    const t0 = performance.now();
    t.equal(readCookie(h, NAME), undefined);
    t.equal(stripCookie(h, NAME), h);
    t.ok(performance.now() - t0 < 200, `${h.length} characters in ${(performance.now() - t0).toFixed(1)} ms`);
  }
});
