/** removeFilesOf: what a deleted account leaves in the world-writable temp folders goes, nothing else does, and
 *  the removal runs as that account (a walk by path as root could be pointed anywhere by a symlink swapped in
 *  mid-walk). Runs on a temporary tree standing in for /tmp; files given to an unused uid need root. */
import t from 'tap';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeFilesOf } from '../../spawners/local/shared-temp.ts';

const GONE = 4_000_017;          // no account has this uid or gid: stands in for the deleted account

const isLink = (p: string) => { try { return lstatSync(p).isSymbolicLink(); } catch { return false; } };

if (process.getuid?.() !== 0) {
  t.fail('needs root: files of another uid cannot be made otherwise');
} else {
  t.test('removes the uid\'s entries as that uid: follows no symlink, reports what it could not remove', async (t) => {
    const base = mkdtempSync(path.join(tmpdir(), 'kicloud-shared-temp-'));
    chmodSync(base, 0o755);
    t.teardown(() => rmSync(base, { recursive: true, force: true }));
    const root = path.join(base, 'tmp'), outside = path.join(base, 'outside');
    mkdirSync(root); chmodSync(root, 0o1777);
    mkdirSync(outside);
    const own = (p: string) => chownSync(p, GONE, GONE);
    const file = (p: string, his: boolean) => { writeFileSync(p, 'x'); if (his) own(p); return p; };

    const hisFile = file(path.join(root, 'scratch.csv'), true);
    const hisDir = path.join(root, 'Rtmp1234');
    mkdirSync(path.join(hisDir, 'inner'), { recursive: true }); own(hisDir); own(path.join(hisDir, 'inner'));
    file(path.join(hisDir, 'inner', 'his'), true);
    file(path.join(hisDir, 'rootfile'), false);                       // in his own folder: he may remove it
    const shared = path.join(root, '.shared'); mkdirSync(shared); chmodSync(shared, 0o1777);
    const inShared = file(path.join(shared, 'his'), true);
    const closed = path.join(root, 'closed'); mkdirSync(closed); chmodSync(closed, 0o755);
    const inClosed = file(path.join(closed, 'his'), true);           // he could not have made it: not searched
    const stuck = path.join(root, 'stuck'); mkdirSync(path.join(stuck, 'roots'), { recursive: true }); own(stuck);
    file(path.join(stuck, 'roots', 'file'), false);                   // root's folder in his: rm as he fails there
    const others = file(path.join(root, 'others.csv'), false);
    const target = file(path.join(outside, 'his-elsewhere'), true);
    symlinkSync(outside, path.join(root, 'link-to-outside'));        // root's link to a folder: never followed
    const hisLink = path.join(root, 'his-link');
    symlinkSync(others, hisLink); lchownSync(hisLink, GONE, GONE);   // his link to another's file: the link goes

    const { removed, failed } = await removeFilesOf(GONE, GONE, [root]);
    t.same(removed.sort(), [hisFile, hisDir, inShared, hisLink].sort(), 'exactly his entries');
    for (const p of [hisFile, hisDir, inShared, hisLink]) t.notOk(existsSync(p) || isLink(p), `${path.basename(p)} removed`);
    t.same(failed, [stuck], 'what he could not remove (as root it could have been) is reported, not thrown');
    t.ok(existsSync(path.join(stuck, 'roots', 'file')), 'root\'s file in it stays');
    t.ok(existsSync(inClosed), 'a folder other accounts cannot write is not searched');
    t.ok(existsSync(others), 'another owner\'s file stays, also when his symlink points at it');
    t.ok(existsSync(target), 'a symlinked folder is not followed');
  });

  t.test('refuses root and non-integer ids', async (t) => {
    await t.rejects(removeFilesOf(0, GONE, ['/nonexistent']), /refusing/);
    await t.rejects(removeFilesOf(GONE, 0, ['/nonexistent']), /refusing/);
    await t.rejects(removeFilesOf(Number.NaN, GONE, ['/nonexistent']), /refusing/);
  });

  t.test('roots that are missing are skipped', async (t) => {
    t.same(await removeFilesOf(GONE, GONE, [path.join(tmpdir(), 'kicloud-no-such-dir-at-all')]), { removed: [], failed: [] });
  });
}
