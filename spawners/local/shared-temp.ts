/** @module What a deleted account leaves in the folders every account can write to (/tmp, /var/tmp, /dev/shm,
 *  /run/lock, /dev/mqueue). `useradd --system` hands a freed uid to the next account it makes: without this, the
 *  next user would own the deleted user's temporary files (a notebook's scratch data, R's and Jupyter's temp
 *  folders). Temporary by definition, so removed rather than archived. SysV IPC objects: sysv-ipc.ts. Not
 *  covered: files the account left elsewhere. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const SHARED_TEMP_DIRS = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/dev/mqueue'];
const FIND = '/usr/bin/find';
const TIME_LIMIT_MS = 120_000;

export interface Removal { removed: string[]; failed: string[] }

/** Removes every entry owned by `uid` under `roots`, running `find … -exec rm` AS THAT UID, not as root: the
 *  walk goes by path, and a folder another account swaps for a symlink mid-walk could otherwise point root's
 *  rm anywhere. As the account itself, rm can remove only what the account could. One filesystem per root
 *  (-xdev, --one-file-system); symlinks are never followed. Never throws for what it could not remove: those
 *  paths come back in `failed`. Call it once the account has no processes left. */
export function removeFilesOf(uid: number, gid: number, roots: readonly string[] = SHARED_TEMP_DIRS): Promise<Removal> {
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid) || gid <= 0) {
    return Promise.reject(new Error(`refusing to remove the files of uid ${uid} gid ${gid}`));
  }
  const present = roots.filter((r) => existsSync(r));
  if (!present.length) return Promise.resolve({ removed: [], failed: [] });
  // His entries are printed and removed whole; other folders are entered only when every account may write
  // there (he could have made files nowhere else), so a big read-only tree under /tmp costs nothing.
  const args = [...present, '-xdev', '-mindepth', '1',
    '(', '-user', String(uid), '-prune', '-print0', '-exec', 'rm', '-rf', '--one-file-system', '--', '{}', '+', ')',
    '-o', '(', '-type', 'd', '!', '-perm', '-0002', '-prune', ')'];
  return new Promise((resolve, reject) => {
    // execFile with uid/gid: libuv drops the supplementary groups too.
    execFile(FIND, args, { uid, gid, cwd: '/', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, timeout: TIME_LIMIT_MS, maxBuffer: 64 << 20 },
      (err, stdout) => {
        if (err && typeof err.code !== 'number') return reject(new Error(`${FIND} as uid ${uid}: ${err.message}`));
        const removed: string[] = [], failed: string[] = [];
        for (const p of stdout.split('\0')) if (p) (existsSync(p) ? failed : removed).push(p);
        resolve({ removed, failed });
      });
  });
}
