/** @module The SysV IPC objects (shared memory segments, semaphore sets, message queues) a deleted account still
 *  owns. They outlive the processes that made them, and `useradd --system` hands the freed uid to the next
 *  account it makes, which would then own them: a notebook's shared memory with its data in it, a database's
 *  semaphores. Removed with the account, like its temporary files (shared-temp.ts). */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Removal } from './shared-temp.ts';

const IPCRM = '/usr/bin/ipcrm';
const run = promisify(execFile);

export interface IpcTable { file: string; idColumn: string; flag: '-m' | '-s' | '-q'; kind: string }

export const IPC_TABLES: readonly IpcTable[] = [
  { file: '/proc/sysvipc/shm', idColumn: 'shmid', flag: '-m', kind: 'shared memory segment' },
  { file: '/proc/sysvipc/sem', idColumn: 'semid', flag: '-s', kind: 'semaphore set' },
  { file: '/proc/sysvipc/msg', idColumn: 'msqid', flag: '-q', kind: 'message queue' },
];

export interface IpcObject { table: IpcTable; id: number; owner: number; creator: number }

/** The objects `uid` owns or created (the kernel grants a creator the owner's rights too). */
export async function ipcObjectsOf(uid: number, tables: readonly IpcTable[] = IPC_TABLES): Promise<IpcObject[]> {
  const found: IpcObject[] = [];
  for (const table of tables) {
    let text: string;
    try {
      text = await readFile(table.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;       // a kernel without SysV IPC
      throw err;
    }
    const [header, ...rows] = text.trim().split('\n');
    const columns = header.trim().split(/\s+/);
    const at = (name: string) => {
      const i = columns.indexOf(name);
      if (i < 0) throw new Error(`${table.file}: no ${name} column in ${columns.join(' ')}`);
      return i;
    };
    const idAt = at(table.idColumn), uidAt = at('uid'), cuidAt = at('cuid');
    for (const row of rows) {
      const cells = row.trim().split(/\s+/);
      const o = { table, id: Number(cells[idAt]), owner: Number(cells[uidAt]), creator: Number(cells[cuidAt]) };
      if (o.owner === uid || o.creator === uid) found.push(o);
    }
  }
  return found;
}

/** Removes every SysV IPC object `uid` owns (as root; call it once the account has no processes left, so none
 *  can appear meanwhile). An id is not reused before its sequence number wraps, so the object removed is the
 *  one that was read. One it created but gave to another owner is that owner's: kept, and reported in `failed`
 *  (the next account with this uid would have its creator's rights on it). Never throws for an object it could
 *  not remove: it comes back in `failed`. */
export async function removeIpcObjectsOf(uid: number, tables: readonly IpcTable[] = IPC_TABLES): Promise<Removal> {
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`refusing to remove the IPC objects of uid ${uid}`);
  const removed: string[] = [], failed: string[] = [];
  for (const o of await ipcObjectsOf(uid, tables)) {
    const label = `${o.table.kind} ${o.id}`;
    if (o.owner !== uid) {
      failed.push(`${label} (created by this account, owned by uid ${o.owner}: kept)`);
      continue;
    }
    try {
      await run(IPCRM, [o.table.flag, String(o.id)], { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, timeout: 10_000 });
      removed.push(label);
    } catch (err) {
      failed.push(`${label} (${(err as { stderr?: string }).stderr?.trim() || (err as Error).message})`);
    }
  }
  return { removed, failed };
}
