/** The unprivileged mode: the gateway runs under `setpriv` as another uid (not root). Every server then runs as
 *  the gateway's own account, the gateway says so at start and to admins on /hub/home, homes sit in
 *  DATA/homes/NAME with mode 0700, and `isolation: required` refuses to start at all. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdtempSync, readFileSync, statSync, chmodSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Gateway, isRoot, JUPYTERLAB_PROFILE, ROOT } from '../helpers/gateway.ts';

const UID = 65534;

/** The uid must read the gateway's code and Node; a checkout under /root is copied to a readable place. */
function readableCopy(): { root: string; node: string; cleanup: () => void } {
  const canRead = (p: string) => { try { execFileSync('setpriv', [`--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', 'test', '-r', p]); return true; } catch { return false; } };
  if (canRead(path.join(ROOT, 'src/cli/entry.ts')) && canRead(process.execPath)) return { root: ROOT, node: process.execPath, cleanup: () => {} };
  const dir = mkdtempSync('/tmp/kicloud-readable-');
  for (const part of ['src', 'proxy', 'spawners', 'config', 'node_modules', 'package.json', '.build']) if (existsSync(path.join(ROOT, part))) cpSync(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  cpSync(process.execPath, path.join(dir, 'node'));
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  return { root: dir, node: path.join(dir, 'node'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

if (!isRoot) {
  t.fail('this test switches to another uid with setpriv, which needs root');
} else {
  const code = readableCopy();
  t.teardown(code.cleanup);
  const dataDir = mkdtempSync('/tmp/kicloud-unpriv-');
  chmodSync(dataDir, 0o755);
  mkdirSync(path.join(dataDir, 'data'));
  chownSync(path.join(dataDir, 'data'), UID, UID);
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const wrap = ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', '--'];

  // Its servers' temp files go in a folder of this test's: they run as nobody, whose files in /tmp could be
  // anyone's, and a server stopped mid-start leaves R's temp folder behind.
  const serverTmp = path.join(dataDir, 'tmp');
  mkdirSync(serverTmp);
  chownSync(serverTmp, UID, UID);
  const profile = { ...JUPYTERLAB_PROFILE, env: { ...JUPYTERLAB_PROFILE.env, TMPDIR: serverTmp } };

  t.test('runs servers as its own uid, says so, homes 0700 under the data dir', async (t) => {
    const gw = await Gateway.start({ wrap, root: code.root, node: code.node, dataDir: path.join(dataDir, 'data'), config: { profiles: [profile] } });
    t.teardown(() => gw.cleanup());
    t.match(gw.output, /not running as root: every user server runs as the gateway's own account/);
    await gw.addUser('alice');
    const start = await gw.api('POST', '/hub/api/users/alice/server');
    t.ok([201, 202].includes(start.status), `start → ${start.status}`);
    await gw.waitReady('alice');
    const pid = await gw.serverPid('alice');
    t.equal(Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]), UID, 'server runs as the gateway\'s uid');
    const home = path.join(gw.dataDir, 'homes/alice');
    t.equal(statSync(home).mode & 0o777, 0o700, 'home is 0700');
    t.equal(statSync(path.join(gw.dataDir, 'private')).mode & 0o777, 0o700, 'private part is 0700');
    t.equal(statSync(gw.dataDir).mode & 0o777, 0o711, 'data dir is 0711');
    const cookie = await gw.login('admin', 'admin-password-1');
    const page = await fetch(`${gw.url}/hub/home`, { headers: { cookie } });
    t.match(await page.text(), /No isolation/, 'admins are told on /hub/home');
    const aliceCookie = await gw.login('alice');
    const hers = await fetch(`${gw.url}/hub/home`, { headers: { cookie: aliceCookie } });
    t.notMatch(await hers.text(), /No isolation/, 'users are not');
    t.equal((await gw.api('DELETE', '/hub/api/users/alice/server')).status, 204);
  });

  t.test('isolation: required refuses to start unprivileged', async (t) => {
    const err = await Gateway.start({ wrap, root: code.root, node: code.node, dataDir: path.join(dataDir, 'data'), config: { isolation: 'required' } })
      .then(() => null, (e: Error) => e);
    t.ok(err, 'did not start');
    t.match(err!.message, /isolation: required, but the gateway is not running as root/);
  });
}
