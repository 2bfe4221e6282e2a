/** The open-upgrades registry on its own (the end-to-end behaviour is test/e2e/revoked-websockets.test.ts):
 *  only what a recheck picks is judged, failures are closed once, a judge's error closes, and an upgrade
 *  authenticated before a recheck but opened after it is judged as it opens. */
import t from 'tap';
import type { Principal } from '../../src/auth/authenticator.ts';
import { OpenUpgrades, type OpenUpgrade } from '../../proxy/open-upgrades.ts';

const principal = (name: string) => ({ kind: 'user', name, via: 'token' }) as Principal;

function setup(verdict: (u: OpenUpgrade) => Principal | null | Error) {
  const judged: string[] = [], closedBatches: string[][] = [];
  const reg = new OpenUpgrades(async (u) => {
    judged.push(u.key.user);
    const v = verdict(u);
    if (v instanceof Error) throw v;
    return v;
  }, (closed) => closedBatches.push(closed.map((u) => u.key.user)));
  const closes: string[] = [];
  const make = (opener: string, owner: string): OpenUpgrade => ({ principal: principal(opener), key: { user: owner, server: '' }, close: () => closes.push(owner) });
  return { reg, judged, closedBatches, closes, make };
}

t.test('a recheck judges what it picks and closes what fails, once', async (t) => {
  const { reg, judged, closedBatches, closes, make } = setup((u) => (u.key.user === 'alice' ? null : principal('ta-renewed')));
  const [a, b, c] = [make('ta', 'alice'), make('ta', 'bob'), make('carol', 'carol')];
  for (const u of [a, b, c]) reg.add(u, reg.generation);
  t.same(judged, [], 'adding with a current generation judges nothing');
  await reg.recheck((u) => u.principal.name === 'ta');
  t.same(judged.sort(), ['alice', 'bob'], 'only the picked ones are judged');
  t.same(closes, ['alice']);
  t.same(closedBatches, [['alice']], 'reported once, as one batch');
  t.equal(b.principal.name, 'ta-renewed', 'a passing upgrade keeps the principal the judge found');
  t.equal(reg.size, 2);
  await reg.recheck(() => true);
  t.same(closes, ['alice'], 'a closed upgrade is not closed again');
});

t.test("a judge's error closes the upgrade", async (t) => {
  const { reg, closes, make } = setup(() => new Error('store unreachable'));
  reg.add(make('ta', 'alice'), reg.generation);
  await reg.recheck(() => true);
  t.same(closes, ['alice']);
  t.equal(reg.size, 0);
});

t.test('authenticated before a recheck, opened after it: judged on opening', async (t) => {
  const { reg, judged, closes, make } = setup(() => null);
  const seen = reg.generation;
  await reg.recheck(() => true);                  // nothing open yet: the upgrade is still connecting
  reg.add(make('ta', 'alice'), seen);
  await new Promise((r) => setImmediate(r));
  t.same(judged, ['alice']);
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
  t.same(judged, ['alice'], 'the first expiry, alone');
  t.same(closes, ['alice']);
  await new Promise((r) => setTimeout(r, 300));
  t.same(judged, ['alice', 'bob'], 'then the next');
  t.equal(reg.size, 1, 'one without expiry stays');
});
