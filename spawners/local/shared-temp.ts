/** @module What a deleted account leaves in the folders every account can write to (/tmp, /var/tmp, /dev/shm).
 *  `userdel` removes only the home and mail spool, and `useradd --system` hands the freed uid to the next
 *  account it makes: without this, the next user would own the deleted user's temporary files (a notebook's
 *  scratch data, R's and Jupyter's temp folders). Temporary by definition, so removed rather than archived. */
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

export const SHARED_TEMP_DIRS = ['/tmp', '/var/tmp', '/dev/shm'];
const MAX_DEPTH = 8;

/** Removes every entry owned by `uid` under `roots`. Descends only into real folders (never a symlink) that other
 *  accounts may write to, as an account can create files nowhere else there; the account's own folders go whole.
 *  Call it after the account's processes are gone, so nothing it owns changes meanwhile. Returns what it removed. */
export async function removeFilesOf(uid: number, roots: readonly string[] = SHARED_TEMP_DIRS): Promise<string[]> {
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`refusing to remove the files of uid ${uid}`);
  const removed: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let names: string[];
    try { names = await readdir(dir); } catch { return; }         // gone, or not a folder we may list
    for (const name of names) {
      const p = path.join(dir, name);
      const st = await lstat(p).catch(() => null);
      if (!st) continue;
      if (st.uid === uid) {
        await rm(p, { recursive: true, force: true });
        removed.push(p);
      } else if (st.isDirectory() && (st.mode & 0o002) && depth < MAX_DEPTH) {
        await walk(p, depth + 1);
      }
    }
  };
  for (const root of roots) await walk(root, 0);
  return removed;
}
