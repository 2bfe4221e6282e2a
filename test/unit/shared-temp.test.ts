/** removeFilesOf: what a deleted account leaves in the world-writable temp folders goes, nothing else does. Runs
 *  on a temporary tree standing in for /tmp (files given to an unused uid need root). */
import t from 'tap';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeFilesOf } from '../../spawners/local/shared-temp.ts';

const GONE_UID = 4_000_017;          // no account has it: stands in for the deleted account

if (process.getuid?.() !== 0) {
  t.fail('needs root: files of another uid cannot be made otherwise');
} else {
  t.test('removes the uid\'s entries, descends only into real world-writable folders, follows no symlink', async (t) => {
    const base = mkdtempSync(path.join(tmpdir(), 'kicloud-shared-temp-'));
    t.teardown(() => rmSync(base, { recursive: true, force: true }));
    const root = path.join(base, 'tmp'), outside = path.join(base, 'outside');
    mkdirSync(root); chmodSync(root, 0o1777);
    mkdirSync(outside);
    const own = (p: string) => chownSync(p, GONE_UID, GONE_UID);
    const file = (p: string, mine: boolean) => { writeFileSync(p, 'x'); if (mine) own(p); return p; };

    const hisFile = file(path.join(root, 'scratch.csv'), true);
    const hisDir = path.join(root, 'Rtmp1234');
    mkdirSync(path.join(hisDir, 'inner'), { recursive: true }); own(hisDir);
    file(path.join(hisDir, 'inner', 'rootfile'), false);          // inside his folder: goes with it
    const shared = path.join(root, '.shared'); mkdirSync(shared); chmodSync(shared, 0o1777);
    const inShared = file(path.join(shared, 'his'), true);
    const closed = path.join(root, 'closed'); mkdirSync(closed); chmodSync(closed, 0o755);
    const inClosed = file(path.join(closed, 'his'), true);           // he could not have made it: not looked at
    const others = file(path.join(root, 'others.csv'), false);
    const target = file(path.join(outside, 'his-elsewhere'), true);
    symlinkSync(outside, path.join(root, 'link-to-outside'));        // root's link: never followed
    const hisLink = path.join(root, 'his-link');
    symlinkSync(others, hisLink); lchownSync(hisLink, GONE_UID, GONE_UID);

    const removed = await removeFilesOf(GONE_UID, [root]);
    t.same(removed.sort(), [hisFile, hisDir, inShared, hisLink].sort(), 'exactly his entries');
    for (const p of [hisFile, hisDir, inShared, hisLink]) t.notOk(existsSync(p) || isLink(p), `${path.basename(p)} removed`);
    t.ok(existsSync(inClosed), 'a folder others cannot write is not searched');
    t.ok(existsSync(others), 'another owner\'s file stays, also when his symlink points at it');
    t.ok(existsSync(target), 'a symlinked folder is not followed');
  });

  t.test('refuses root and non-integer uids', async (t) => {
    await t.rejects(removeFilesOf(0, ['/nonexistent']), /refusing/);
    await t.rejects(removeFilesOf(Number.NaN, ['/nonexistent']), /refusing/);
  });

  t.test('a root that is missing is skipped', async (t) => {
    t.same(await removeFilesOf(GONE_UID, [path.join(tmpdir(), 'kicloud-no-such-dir-at-all')]), []);
  });
}

function isLink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}
