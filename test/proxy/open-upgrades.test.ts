/** The open-upgrades registry on its own (the end-to-end behaviour is test/e2e/revoked-websockets.test.ts):
 *  only what a recheck picks is judged, failures are closed once, a judge's error closes, and an upgrade
 *  authenticated before a recheck but opened after it is judged as it opens. */
import t from 'tap';
import type { Principal } from '../../src/auth/authenticator.ts';
import { OpenUpgrades, type OpenUpgrade } from '../../proxy/open-upgrades.ts';

const principal = (name: string) => ({ kind: 'user', name, via: 'token' }) as Principal;

function setup(verdict: (p: Principal) => Principal | null | Error, allows: (p: Principal, owner: string) => boolean = () => true,
  slow: string[] = []) {
  const judged: string[] = [], closedBatches: string[][] = [], errors: string[] = [];
  const reg = new OpenUpgrades({
    recheck: async (p) => {
      judged.push(p.name);
      if (slow.includes(p.name)) await new Promise((r) => setTimeout(r, 20));
      const v = verdict(p);
      if (v instanceof Error) throw v;
      return v;
    },
    allows: (p, key) => allows(p, key.user),
    onClosed: (closed) => closedBatches.push(closed.map((u) => u.key.user)),
    onError: (err, u) => errors.push(`${u.key.user}: ${(err as Error).message}`),
  });
  const closes: string[] = [];
  const make = (opener: string | Principal, owner: string): OpenUpgrade => ({
    principal: typeof opener === 'string' ? principal(opener) : opener, key: { user: owner, server: '' }, close: () => closes.push(owner) });
  return { reg, judged, closedBatches, closes, errors, make };
}

t.test('a recheck judges what it picks and closes what fails, once', async (t) => {
  const renewed = principal('ta');
  const { reg, judged, closedBatches, closes, make } = setup((p) => (p.name === 'ta' ? renewed : p), (_p, owner) => owner !== 'alice');
  const ta = principal('ta');
  const [a, b, c] = [make(ta, 'alice'), make(ta, 'bob'), make('carol', 'carol')];
  for (const u of [a, b, c]) reg.add(u, reg.generation);
  t.same(judged, [], 'adding with a current generation judges nothing');
  await reg.recheck((u) => u.principal.name === 'ta');
  t.same(judged, ['ta'], 'one credential, one recheck, for both of its upgrades');
  t.same(closes, ['alice'], 'the one its opener may no longer open is closed');
  t.same(closedBatches, [['alice']], 'reported once, as one batch');
  t.equal(b.principal, renewed, 'a passing upgrade keeps the principal the recheck found');
  t.equal(reg.size, 2);
  await reg.recheck(() => true);
  t.same(closes, ['alice'], 'a closed upgrade is not closed again');
});

t.test("a recheck's error closes the upgrade and is reported", async (t) => {
  const { reg, closes, errors, make } = setup(() => new Error('store unreachable'));
  reg.add(make('ta', 'alice'), reg.generation);
  await reg.recheck(() => true);
  t.same(closes, ['alice']);
  t.same(errors, ['alice: store unreachable']);
  t.equal(reg.size, 0);
});

t.test('authenticated before a recheck, opened after it: judged on opening', async (t) => {
  const { reg, judged, closes, make } = setup(() => null);
  const seen = reg.generation;
  await reg.recheck(() => true);                  // nothing open yet: the upgrade is still connecting
  reg.add(make('ta', 'alice'), seen);
  await new Promise((r) => setImmediate(r));
  t.same(judged, ['ta']);
  t.same(closes, ['alice']);
});

t.test('an upgrade closed by its own client is forgotten', async (t) => {
  const { reg, judged, make } = setup(() => null);
  const u = make('ta', 'alice');
  reg.add(u, reg.generation);
  reg.remove(u);
  await reg.recheck(() => true);
  t.same(judged, []);
});

t.test('a credential that expires is judged when it does, earliest first, with one timer', async (t) => {
  const { reg, judged, closes, make } = setup(() => null);
  const soon = make('ta', 'alice'), later = make('tb', 'bob'), never = make('svc', 'carol');
  soon.principal.expiresMs = Date.now() + 150;
  later.principal.expiresMs = Date.now() + 400;
  for (const u of [later, never, soon]) reg.add(u, reg.generation);
  await new Promise((r) => setTimeout(r, 250));
  t.same(judged, ['ta'], 'the first expiry, alone');
  t.same(closes, ['alice']);
  await new Promise((r) => setTimeout(r, 300));
  t.same(judged, ['ta', 'tb'], 'then the next');
  t.equal(reg.size, 1, 'one without expiry stays');
});

t.test('an unreadable expiry (NaN) arms no timer', async (t) => {
  const { reg, make } = setup(() => null);
  const u = make('ta', 'alice');
  u.principal.expiresMs = NaN;
  const real = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => { armed++; return real(fn, ms); }) as typeof setTimeout;
  try {
    reg.add(u, reg.generation);
    await new Promise((r) => real(r, 50));
  } finally {
    globalThis.setTimeout = real;
  }
  t.equal(armed, 0, 'no timer, so none firing every millisecond');
  t.equal(reg.size, 1);
});

t.test('overlapping rechecks: the second still judges what it picked, though the first renewed it meanwhile', async (t) => {
  const { reg, closes, errors, make } = setup((p) => principal(p.name), undefined, ['carol']);
  const [first, second] = [make('carol', 'carol'), make('ta', 'alice')];
  for (const u of [first, second]) reg.add(u, reg.generation);
  await Promise.all([reg.recheck(() => true), reg.recheck(() => true)]);
  t.same(closes, [], 'nothing closed');
  t.same(errors, []);
  t.equal(reg.size, 2);
});
