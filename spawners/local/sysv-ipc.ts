/** @module The SysV IPC objects (shared memory segments, semaphore sets, message queues) a deleted account still
 *  owns. They outlive the processes that made them, and `useradd --system` hands the freed uid to the next
 *  account it makes, which would then own them: a notebook's shared memory with its data in it, a database's
 *  semaphores. Removed with the account, like its temporary files (shared-temp.ts). */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Removal } from './shared-temp.ts';

const IPCRM = '/usr/bin/ipcrm';

export interface IpcTable { file: string; idColumn: string; flag: '-m' | '-s' | '-q'; kind: string }

export const IPC_TABLES: readonly IpcTable[] = [
  { file: '/proc/sysvipc/shm', idColumn: 'shmid', flag: '-m', kind: 'shared memory segment' },
  { file: '/proc/sysvipc/sem', idColumn: 'semid', flag: '-s', kind: 'semaphore set' },
  { file: '/proc/sysvipc/msg', idColumn: 'msqid', flag: '-q', kind: 'message queue' },
];

export interface IpcObject { table: IpcTable; id: number }

/** The objects whose owner is `uid` (the `uid` column: the owner, which may differ from the creator). */
export async function ipcObjectsOwnedBy(uid: number, tables: readonly IpcTable[] = IPC_TABLES): Promise<IpcObject[]> {
  const found: IpcObject[] = [];
  for (const table of tables) {
    let text: string;
    try { text = await readFile(table.file, 'utf8'); } catch { continue; }   // no SysV IPC in this kernel
    const [header, ...rows] = text.trim().split('\n');
    const columns = header.trim().split(/\s+/);
    const idAt = columns.indexOf(table.idColumn), uidAt = columns.indexOf('uid');
    if (idAt < 0 || uidAt < 0) throw new Error(`${table.file}: unexpected columns ${columns.join(' ')}`);
    for (const row of rows) {
      const cells = row.trim().split(/\s+/);
      if (Number(cells[uidAt]) === uid) found.push({ table, id: Number(cells[idAt]) });
    }
  }
  return found;
}

/** Removes every SysV IPC object `uid` owns (as root; call it once the account has no processes left, so none
 *  can appear meanwhile). An id is not reused before its sequence number wraps, so the object removed is the
 *  one that was read. Never throws for an object it could not remove: it comes back in `failed`. */
export async function removeIpcObjectsOf(uid: number, tables: readonly IpcTable[] = IPC_TABLES): Promise<Removal> {
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`refusing to remove the IPC objects of uid ${uid}`);
  const removed: string[] = [], failed: string[] = [];
  for (const o of await ipcObjectsOwnedBy(uid, tables)) {
    const label = `${o.table.kind} ${o.id}`;
    const error = await new Promise<string | null>((resolve) => {
      execFile(IPCRM, [o.table.flag, String(o.id)], { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, timeout: 10_000 },
        (err, _stdout, stderr) => resolve(err ? (stderr.trim() || err.message) : null));
    });
    if (error) failed.push(`${label} (${error})`);
    else removed.push(label);
  }
  return { removed, failed };
}
