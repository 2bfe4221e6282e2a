/** The embedded store: the shared conformance suite, schema migrations, and durability: a writer killed with
 *  SIGKILL at an arbitrary moment loses nothing it had committed. */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { ROOT } from '../helpers/gateway.ts';
import { storeConformance } from './conformance.ts';

const dir = mkdtempSync('/tmp/kicloud-store-');
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeConformance(t, async () => new SqliteStore(path.join(dir, `conf-${n++}.sqlite`)));

t.test('WAL journal and migrations recorded', async (t) => {
  const file = path.join(dir, 'wal.sqlite');
  await new SqliteStore(file).close();
  const db = new DatabaseSync(file);
  t.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  t.equal((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, MIGRATIONS.length);
  db.close();
  await new SqliteStore(file).close();
  t.pass('reopening an up-to-date database applies nothing twice');
});

t.test('a database made by an older version is migrated with its data', async (t) => {
  const file = path.join(dir, 'old.sqlite');
  const db = new DatabaseSync(file);
  db.exec(MIGRATIONS[0]);
  db.exec(`PRAGMA user_version = 1;
    INSERT INTO users (name, created) VALUES ('olga', '2026-01-01T00:00:00Z');
    INSERT INTO groups (name) VALUES ('astro'); INSERT INTO group_members (grp, user) VALUES ('astro', 'olga');`);
  db.close();
  const store = new SqliteStore(file);
  t.same(await store.groups.get('astro'), { name: 'astro', users: ['olga'], properties: {} }, 'the group kept its member and has properties');
  await store.groups.setProperties('astro', { a: 1 });
  t.same((await store.groups.get('astro'))!.properties, { a: 1 });
  await store.close();
});

t.test('kill -9 at any moment loses nothing committed', async (t) => {
  for (let round = 0; round < 3; round++) {
    const file = path.join(dir, `crash-${round}.sqlite`);
    const writer = spawn(process.execPath, ['--input-type=module', '-e', `
      const { SqliteStore } = await import(${JSON.stringify(path.join(ROOT, 'src/store/sqlite/sqlite-store.ts'))});
      const s = new SqliteStore(${JSON.stringify(file)});
      for (let i = 0; ; i++) {
        await s.users.add({ name: 'u' + i, admin: false, passwordHash: null, created: 'c', lastActivity: null });
        await s.servers.ensure({ user: 'u' + i, server: '', state: 'stopped', profile: 'p', url: null, token: 't', handle: {}, started: null, lastActivity: null, userOptions: {} });
        await s.servers.transition({ user: 'u' + i, server: '' }, ['stopped'], 'running', { url: 'http://127.0.0.1:' + i });
        process.stdout.write(i + '\\n');
      }`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    // Kill once writes are under way (its start-up took over 300 ms on a cold machine, and a kill before the
    // first write tests nothing), then at a different point of the stream each round.
    const writing = new Promise<void>((resolve) => writer.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(); }));
    await Promise.race([writing, sleep(20_000)]);
    await sleep(50 + round * 150);
    writer.kill('SIGKILL');
    await new Promise((r) => writer.once('exit', r));
    const acknowledged = out.split('\n').filter(Boolean).map(Number);
    const last = acknowledged[acknowledged.length - 1];
    t.ok(last > 10, `round ${round}: the writer committed ${last + 1} users before the kill`);
    const s = new SqliteStore(file);
    const missing: number[] = [];
    for (const i of acknowledged) {
      const rec = await s.servers.get({ user: `u${i}`, server: '' });
      if (!(await s.users.get(`u${i}`)) || rec?.state !== 'running' || rec.url !== `http://127.0.0.1:${i}`) missing.push(i);
    }
    t.same(missing, [], `round ${round}: every acknowledged write survived`);
    await s.close();
  }
});

t.test("another process's commits are noticed within about a second; this store's own are not", async (t) => {
  const file = path.join(dir, 'watch.sqlite');
  const [mine, other] = [new SqliteStore(file), new SqliteStore(file)];
  t.teardown(async () => { await mine.close(); await other.close(); });
  let calls = 0;
  const stop = mine.watchOtherWriters(() => { calls++; });
  await mine.users.add({ name: 'own', admin: false, passwordHash: null, created: new Date().toISOString(), lastActivity: null });
  await sleep(1300);
  t.equal(calls, 0, 'its own change: nothing');
  await other.users.add({ name: 'cli', admin: false, passwordHash: null, created: new Date().toISOString(), lastActivity: null });
  await sleep(1300);
  t.equal(calls, 1, "another connection's change: once");
  stop();
  await other.users.remove('cli');
  await sleep(1300);
  t.equal(calls, 1, 'stopped: no more');
});
