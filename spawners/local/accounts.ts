/** @module Per-user system accounts for the local spawner, as The Littlest JupyterHub makes them: as root, user
 *  NAME runs as `PREFIX+NAME` (no password, no login shell) with a 0700 home. Not root: everything runs as the
 *  gateway's own user, homes under DATA/homes. */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, rename } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeFilesOf } from './shared-temp.ts';
import { removeIpcObjectsOf } from './sysv-ipc.ts';
import { liveProcessesOf } from './process-info.ts';

const run = promisify(execFile);

/** useradd and userdel give up at once, rather than wait, when /etc/passwd or /etc/group is locked by a program
 *  that does not take glibc's lckpwdf() lock first (vipw, another distribution tool), and userdel refuses while a
 *  killed process of the account is not yet reaped: try again for about 3 s before failing the spawn or deletion. */
async function runAccountTool(cmd: string, args: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run(cmd, args);
      return;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      if (attempt >= 10 || !/lock|try again|currently used by process/i.test(stderr)) throw err;
      await sleep(60 * attempt);
    }
  }
}
// Absolute: the gateway's PATH may lack /usr/sbin (systemd units, `su` without -l).
export const USERADD = '/usr/sbin/useradd';
export const USERDEL = '/usr/sbin/userdel';

export interface Account { name: string; uid: number; gid: number; home: string }

export class Accounts {
  readonly isolated: boolean;
  readonly #prefix: string;
  readonly #homeRoot: string;
  readonly #fallbackHomes: string;
  readonly #pending = new Map<string, Promise<Account>>();

  constructor(opts: { prefix: string; homeRoot: string; dataDir: string; isolated: boolean }) {
    this.isolated = opts.isolated;
    this.#prefix = opts.prefix;
    this.#homeRoot = opts.homeRoot;
    this.#fallbackHomes = path.join(opts.dataDir, 'homes');
  }

  accountName(user: string): string { return `${this.#prefix}${user}`.slice(0, 32); }

  /** The account for `user`, created on first use (single-flight per user). */
  ensure(user: string): Promise<Account> {
    let p = this.#pending.get(user);
    if (!p) {
      p = this.#ensure(user).finally(() => this.#pending.delete(user));
      this.#pending.set(user, p);
    }
    return p;
  }

  async #ensure(user: string): Promise<Account> {
    if (!this.isolated) {
      const home = path.join(this.#fallbackHomes, user);
      await mkdir(home, { recursive: true, mode: 0o700 });
      await chmod(home, 0o700);
      return { name: process.env.USER ?? 'gateway', uid: process.getuid!(), gid: process.getgid!(), home };
    }
    const name = this.accountName(user);
    let entry = lookupPasswd(name);
    if (!entry) {
      const home = path.join(this.#homeRoot, name);
      try {
        await runAccountTool(USERADD, ['--system', '--user-group', '--create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin',
          '--comment', `kicloud user ${user}`, name]);
      } catch (err) {
        // a concurrent gateway may have created it first
        if (!lookupPasswd(name)) throw new Error(`cannot create account ${name}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
      }
      entry = lookupPasswd(name)!;
    }
    await mkdir(entry.home, { recursive: true, mode: 0o700 });
    await chown(entry.home, entry.uid, entry.gid);
    await chmod(entry.home, 0o700);
    return entry;
  }

  /** A deleted user: end their processes, move their home into an archive folder only root can enter (beside
   *  the homes, so the move stays on one filesystem: the files remain recoverable by an admin but unreachable for
   *  whoever gets that uid next), remove their files in the shared temp folders, and delete the account. The
   *  same name created later gets a new account and an empty home. Not root: the home moves into
   *  `privateArchive` (inside DATA/private). Returns the temp files it could not remove (an admin must), after
   *  deleting the account all the same: a half-deleted user could not be deleted again. */
  async remove(user: string, privateArchive: string): Promise<{ leftovers: string[] }> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const archiveHome = async (home: string, archive: string, label: string) => {
      await mkdir(archive, { recursive: true, mode: 0o700 });
      await chmod(archive, 0o700);
      try {
        await rename(home, path.join(archive, `${label}-${stamp}`));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot archive ${home}: ${(err as Error).message}`);
      }
    };
    if (!this.isolated) {
      await archiveHome(path.join(this.#fallbackHomes, user), privateArchive, user);
      return { leftovers: [] };
    }
    const name = this.accountName(user);
    const entry = lookupPasswd(name);
    if (!entry) return { leftovers: [] };
    await killAll(entry);
    await archiveHome(entry.home, path.join(path.dirname(entry.home), '.kicloud-deleted'), name);
    let leftovers: string[];
    try {
      leftovers = (await removeFilesOf(entry.uid, entry.gid)).failed;
    } catch (err) {
      leftovers = [`(temp folders not searched: ${(err as Error).message})`];
    }
    try {
      leftovers.push(...(await removeIpcObjectsOf(entry.uid)).failed);
    } catch (err) {
      leftovers.push(`(SysV IPC objects not searched: ${(err as Error).message})`);
    }
    try {
      await runAccountTool(USERDEL, [name]);
    } catch (err) {
      throw new Error(`cannot delete account ${name}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
    }
    return { leftovers };
  }
}

/** SIGKILL to every live process of the account (real or effective uid) until none is left (a process that forks
 *  could outrun one pass). Zombies do not count: nothing can end them but their reaping. */
async function killAll(account: Account): Promise<void> {
  let left: number[] = [];
  for (let pass = 0; pass < 20; pass++) {
    left = await liveProcessesOf(account.uid);
    if (!left.length) return;
    for (const pid of left) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ } }
    await sleep(50);
  }
  throw new Error(`processes of ${account.name} keep appearing (${left.join(', ')}); the account was not deleted`);
}

function lookupPasswd(name: string): Account | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
  }
  return null;
}
