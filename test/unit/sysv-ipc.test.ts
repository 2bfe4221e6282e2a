/** removeIpcObjectsOf: the SysV shared memory segments, semaphore sets and message queues a deleted account
 *  owns go, everyone else's stay; one it created for another owner is kept and reported. Real objects, made with
 *  util-linux's ipcmk under unused uids (setpriv; no account needed), so it needs root; the creator-but-not-owner
 *  case reads a table file of its own (changing an object's owner needs IPC_SET, which no shell tool offers).
 *  Every object made here is removed at the end. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ipcObjectsOf, removeIpcObjectsOf } from '../../spawners/local/sysv-ipc.ts';

const GONE = 4_000_019, OTHER = 4_000_023;     // no account has these uids

/** Makes an object as `uid`; returns its id (ipcmk prints "Shared memory id: 123"). */
function make(uid: number, kind: '-M' | '-S' | '-Q'): number {
  const args = ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '/usr/bin/ipcmk', ...(kind === '-M' ? ['-M', '4096'] : kind === '-S' ? ['-S', '2'] : ['-Q'])];
  const out = execFileSync('/usr/bin/setpriv', args, { encoding: 'utf8' });
  const id = /id: (\d+)/.exec(out)?.[1];
  if (!id) throw new Error(`ipcmk ${kind}: ${out}`);
  return Number(id);
}

if (process.getuid?.() !== 0) {
  t.fail('needs root: objects of other uids cannot be made otherwise');
} else {
  t.test('the uid\'s segments, semaphore sets and queues go; another uid\'s stay', async (t) => {
    const his = { shm: make(GONE, '-M'), sem: make(GONE, '-S'), msg: make(GONE, '-Q') };
    const theirs = { shm: make(OTHER, '-M'), sem: make(OTHER, '-S'), msg: make(OTHER, '-Q') };
    t.teardown(async () => { await removeIpcObjectsOf(GONE); await removeIpcObjectsOf(OTHER); });

    const found = (await ipcObjectsOf(GONE)).map((o) => `${o.table.flag} ${o.id}`).sort();
    t.same(found, [`-m ${his.shm}`, `-q ${his.msg}`, `-s ${his.sem}`].sort(), 'his three objects found, by owner');

    const r = await removeIpcObjectsOf(GONE);
    t.same(r.removed.sort(), [`message queue ${his.msg}`, `semaphore set ${his.sem}`, `shared memory segment ${his.shm}`].sort());
    t.same(r.failed, []);
    t.same(await ipcObjectsOf(GONE), [], 'none of his left');
    const left = (await ipcObjectsOf(OTHER)).map((o) => o.id).sort((a, b) => a - b);
    t.same(left, [theirs.shm, theirs.sem, theirs.msg].sort((a, b) => a - b), 'the other uid\'s objects stay');
  });

  t.test('an object that cannot be removed is reported, not thrown', async (t) => {
    const table = { file: '/proc/sysvipc/shm', idColumn: 'shmid', flag: '-m' as const, kind: 'shared memory segment' };
    const id = make(GONE, '-M');
    t.teardown(() => removeIpcObjectsOf(GONE));
    // The same row under a flag of the wrong kind: ipcrm finds no such semaphore set.
    const r = await removeIpcObjectsOf(GONE, [{ ...table, flag: '-s', kind: 'semaphore set' }]);
    t.same(r.removed, []);
    t.match(r.failed, [new RegExp(`^semaphore set ${id} \\(.+\\)$`)]);
  });

  t.test('one it created but another uid owns is kept and reported', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kicloud-sysvipc-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'shm');
    writeFileSync(file, '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n' +
      `         0     999999   600                  4096     1     0      0 ${OTHER} ${OTHER} ${GONE} ${GONE}          0          0          0                     0                     0\n`);
    const r = await removeIpcObjectsOf(GONE, [{ file, idColumn: 'shmid', flag: '-m', kind: 'shared memory segment' }]);
    t.same(r.removed, [], 'not removed: it is the other owner\'s');
    t.same(r.failed, [`shared memory segment 999999 (created by this account, owned by uid ${OTHER}: kept)`]);
  });

  t.test('refuses root and non-integer uids', async (t) => {
    await t.rejects(removeIpcObjectsOf(0), /refusing/);
    await t.rejects(removeIpcObjectsOf(Number.NaN), /refusing/);
  });
}
