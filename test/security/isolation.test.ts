/** Isolation between users as the operating system enforces it (the gateway runs as root here): code typed in
 *  alice's notebook cannot read bob's home, the gateway's store and secrets, or bob's server token; and a
 *  listener another account binds on a server's port never receives that server's token (READINGS #11.7). */
import t from 'tap';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { accountUid, Gateway, isRoot } from '../helpers/gateway.ts';
import { execute, startKernel } from '../helpers/kernel.ts';
import { squatPort } from '../helpers/port-squatter.ts';
import { ipcObjectsOf, removeIpcObjectsOf } from '../../spawners/local/sysv-ipc.ts';

if (!isRoot) {
  t.fail('isolation tests need root: per-user accounts exist only when the gateway runs as root');
} else {
  const gw = await Gateway.start({
    config: {
      profiles: [
        (await import('../helpers/gateway.ts')).JUPYTERLAB_PROFILE,
        // never listens: lets the test bind the chosen port first, as a local attacker would
        { name: 'trap', display_name: 'Trap', command: ['/bin/sh', '-c', 'sleep 30', '{port}'], start_timeout: 5 },
      ],
    },
  });
  t.teardown(() => gw.cleanup());
  await gw.addUser('alice');
  await gw.addUser('bob');

  t.test('the accounts and folders as root makes them: no password, no login shell, 0700 homes, a 0700 private part', async (t) => {
    const start = await gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'jupyterlab' } });
    t.ok([201, 202].includes(start.status), `alice's server starts: ${start.status}`);
    await gw.waitReady('alice');
    const account = gw.account('alice');
    const passwd = execFileSync('getent', ['passwd', account], { encoding: 'utf8' }).trim().split(':');
    t.equal(passwd[6], '/usr/sbin/nologin', 'no login shell');
    t.ok(Number(passwd[2]) < 1000, `a system account (uid ${passwd[2]})`);
    const shadow = execFileSync('getent', ['shadow', account], { encoding: 'utf8' }).trim().split(':');
    t.match(shadow[1], /^[!*]/, 'no password: nobody can log in as it');
    const home = statSync(path.join(gw.tmp, 'homes', account));
    t.equal(home.mode & 0o777, 0o700, 'home 0700');
    t.equal(home.uid, Number(passwd[2]), 'owned by the account');
    t.equal(statSync(gw.dataDir).mode & 0o777, 0o711, 'data dir 0711: passable, not listable');
    t.equal(statSync(path.join(gw.dataDir, 'private')).mode & 0o777, 0o700, 'its private part 0700');
    t.equal(statSync(path.join(gw.dataDir, 'private')).uid, 0, 'owned by root');
  });

  t.test('alice\'s code cannot read bob\'s home, the store, the secrets or bob\'s token', async (t) => {
    await Promise.all([gw.api('POST', '/hub/api/users/alice/server', { body: { profile: 'jupyterlab' } }), gw.api('POST', '/hub/api/users/bob/server', { body: { profile: 'jupyterlab' } })]);
    await Promise.all([gw.waitReady('alice'), gw.waitReady('bob')]);
    const bobHome = path.join(gw.tmp, 'homes', gw.account('bob'));
    const secretFile = path.join(bobHome, 'secret.txt');
    writeFileSync(secretFile, 'bob only', { mode: 0o600 });
    const bobUid = accountUid(gw.account('bob'))!;
    chownSync(secretFile, bobUid, bobUid);
    const bobPid = await gw.serverPid('bob');
    const targets = {
      bobFile: secretFile, bobHome, store: path.join(gw.dataDir, 'private/kicloud.sqlite'),
      cookieSecret: path.join(gw.dataDir, 'private/cookie_secret'), bobLog: path.join(gw.dataDir, 'private/logs'),
      bobEnviron: `/proc/${bobPid}/environ`,
    };
    const code = `
import os, json
def probe(p):
    try:
        if os.path.isdir(p):
            os.listdir(p)
        else:
            open(p, 'rb').read(1)
        return 'READ'
    except PermissionError:
        return 'DENIED'
    except Exception as e:
        return type(e).__name__
print(json.dumps({k: probe(v) for k, v in ${JSON.stringify(targets)}.items()}))`;
    const aliceToken = await gw.tokenFor('alice');
    const kernel = await startKernel(gw, 'alice', aliceToken);
    const out = await execute(gw, 'alice', kernel, code, { authorization: `token ${aliceToken}` });
    const result = JSON.parse(out.stdout);
    t.same(result, { bobFile: 'DENIED', bobHome: 'DENIED', store: 'DENIED', cookieSecret: 'DENIED', bobLog: 'DENIED', bobEnviron: 'DENIED' },
      'every probe refused by the operating system');
  });

  t.test('a deleted user\'s account, home and temporary files go; the same name later starts from nothing', async (t) => {
    await gw.addUser('erin');
    await gw.api('POST', '/hub/api/users/erin/server', { body: { profile: 'jupyterlab' } });
    await gw.waitReady('erin');
    const home = path.join(gw.tmp, 'homes', gw.account('erin'));
    writeFileSync(path.join(home, 'private.txt'), 'erin only');
    // What her notebooks leave in the shared temp folders: a file, a folder of hers, a file in a shared folder;
    // and a file of bob's, which stays. Written as root, then given to the accounts.
    const uidOf = (user: string) => accountUid(gw.account(user))!;
    const stamp = `${process.pid}-${Date.now()}`;
    const shared = mkdtempSync('/tmp/kicloud-test-shared-');
    chmodSync(shared, 0o1777);
    t.teardown(() => rmSync(shared, { recursive: true, force: true }));
    const erinFiles = [`/tmp/kicloud-test-erin-${stamp}.csv`, `/dev/shm/kicloud-test-erin-${stamp}`, path.join(shared, 'erin.txt')];
    const erinDir = `/var/tmp/kicloud-test-erin-${stamp}`;
    const bobFile = `/tmp/kicloud-test-bob-${stamp}.csv`;
    t.teardown(() => { for (const p of [...erinFiles, erinDir, bobFile]) rmSync(p, { recursive: true, force: true }); });
    for (const f of erinFiles) { writeFileSync(f, 'erin scratch'); chownSync(f, uidOf('erin'), uidOf('erin')); }
    mkdirSync(path.join(erinDir, 'nested'), { recursive: true });
    for (const p of [erinDir, path.join(erinDir, 'nested')]) chownSync(p, uidOf('erin'), uidOf('erin'));
    writeFileSync(bobFile, 'bob scratch');
    chownSync(bobFile, uidOf('bob'), uidOf('bob'));
    // A SysV shared memory segment each (a notebook's multiprocessing data, say): they outlive their processes.
    const shm = (user: string) => Number(/id: (\d+)/.exec(execFileSync('/usr/bin/setpriv', ['--reuid', String(uidOf(user)),
      '--regid', String(uidOf(user)), '--clear-groups', '/usr/bin/ipcmk', '-M', '4096'], { encoding: 'utf8' }))![1]);
    const erinShm = shm('erin'), bobShm = shm('bob');
    const bobUid = uidOf('bob');
    t.teardown(() => removeIpcObjectsOf(bobUid));
    const erinUid = uidOf('erin');
    t.teardown(() => removeIpcObjectsOf(erinUid));                  // when the test fails
    t.equal((await gw.api('DELETE', '/hub/api/users/erin')).status, 204);
    t.notOk(readFileSync('/etc/passwd', 'utf8').includes(`${gw.account('erin')}:`), 'account deleted');
    t.notOk(existsSync(home), 'home moved away');
    for (const p of [...erinFiles, erinDir]) t.notOk(existsSync(p), `${p} removed: the next account may get her uid`);
    t.ok(existsSync(bobFile), "bob's temporary file stays");
    const shmIds = async (uid: number) => (await ipcObjectsOf(uid)).map((o) => o.id);
    t.notOk((await shmIds(erinUid)).includes(erinShm), 'her shared memory segment removed');
    t.ok((await shmIds(bobUid)).includes(bobShm), "bob's stays");
    const archived = readdirSync(path.join(gw.tmp, 'homes', '.kicloud-deleted'));
    t.equal(archived.length, 1, `archived for an admin: ${archived}`);
    t.equal(statSync(path.join(gw.tmp, 'homes', '.kicloud-deleted')).mode & 0o777, 0o700, 'in a folder only root enters');
    await gw.addUser('erin');
    await gw.api('POST', '/hub/api/users/erin/server', { body: { profile: 'jupyterlab' } });
    await gw.waitReady('erin');
    t.notOk(existsSync(path.join(home, 'private.txt')), 'the new erin starts with an empty home');
    await gw.api('DELETE', '/hub/api/users/erin/server');
  });

  t.test('a listener owned by another account on the server\'s port never gets the token', async (t) => {
    await gw.api('DELETE', '/hub/api/users/bob/server');
    const starting = gw.api('POST', '/hub/api/users/bob/server', { body: { profile: 'trap' } });
    let port = 0;
    for (let i = 0; i < 200 && !port; i++) {
      const u = await gw.api('GET', '/hub/api/users/bob');
      port = u.body.servers?.['']?.state?.port ?? 0;
      if (!port) await sleep(10);
    }
    t.ok(port, `the server's port is known: ${port}`);
    const attacker = squatPort(port, { idleSecs: 8 });
    t.teardown(() => { attacker.proc.kill('SIGKILL'); });
    const res = await starting;
    t.ok([201, 202, 500].includes(res.status), `start answered ${res.status}`);
    const progress = await fetch(`${gw.url}/hub/api/users/bob/server/progress`, { headers: { authorization: `token ${gw.adminToken}` } });
    const text = await progress.text();
    t.match(text, /"failed":true/, 'the spawn failed');
    t.match(text, /another account is listening/, 'and says why');
    await attacker.exited;
    t.match(attacker.heard(), /listening/, 'the attacker did bind the port');
    // The gateway may connect to see whether anything listens yet; it closes that connection without a byte.
    t.notMatch(attacker.heard(), /GOT/, 'and received no request at all, not a byte');
  });
}
