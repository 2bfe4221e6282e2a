/** removeIpcObjectsOf: the SysV shared memory segments, semaphore sets and message queues a deleted account
 *  owns go, everyone else's stay. Real objects, made with util-linux's ipcmk under unused uids (setpriv; no
 *  account needed), so it needs root. Every object made here is removed at the end. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { ipcObjectsOwnedBy, removeIpcObjectsOf } from '../../spawners/local/sysv-ipc.ts';

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

    const found = (await ipcObjectsOwnedBy(GONE)).map((o) => `${o.table.flag} ${o.id}`).sort();
    t.same(found, [`-m ${his.shm}`, `-q ${his.msg}`, `-s ${his.sem}`].sort(), 'his three objects found, by owner');

    const r = await removeIpcObjectsOf(GONE);
    t.same(r.removed.sort(), [`message queue ${his.msg}`, `semaphore set ${his.sem}`, `shared memory segment ${his.shm}`].sort());
    t.same(r.failed, []);
    t.same(await ipcObjectsOwnedBy(GONE), [], 'none of his left');
    const left = (await ipcObjectsOwnedBy(OTHER)).map((o) => o.id).sort((a, b) => a - b);
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

  t.test('refuses root and non-integer uids', async (t) => {
    await t.rejects(removeIpcObjectsOf(0), /refusing/);
    await t.rejects(removeIpcObjectsOf(Number.NaN), /refusing/);
  });
}
