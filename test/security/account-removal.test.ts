/** Making and removing per-user accounts where the system gets in the way. While another program holds
 *  /etc/passwd's lock, useradd and userdel give up at once ("cannot lock /etc/passwd; try again later"): a first
 *  spawn or a user's deletion must not fail for it (the test holds the lock as vipw does, a /etc/passwd.lock
 *  naming a live process). A zombie of the account (a dead process nobody reaped yet; where PID 1 never reaps
 *  orphans, as on this machine, one stays for good) must not block the deletion: the test makes one whose
 *  root parent waits for it only after the deletion. */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { echoProfile, Gateway, isRoot } from '../helpers/gateway.ts';

const LOCK = '/etc/passwd.lock';
const accountExists = (name: string) => { try { execFileSync('getent', ['passwd', name]); return true; } catch { return false; } };

/** Holds /etc/passwd's lock for `ms`; never takes over a lock someone else holds. */
function holdPasswdLock(ms: number): Promise<void> {
  writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
  return new Promise((resolve) => setTimeout(() => { rmSync(LOCK, { force: true }); resolve(); }, ms));
}

if (!isRoot) {
  t.fail('needs root: accounts exist only when the gateway runs as root');
} else {
  const gw = await Gateway.start({ config: { profiles: [echoProfile()], named_servers: { enabled: true, limit: 1 } } });
  t.teardown(() => gw.cleanup());
  await gw.addUser('ivy');
  await gw.addUser('jay');

  t.test('a first spawn waits for the lock instead of failing', async (t) => {
    const released = holdPasswdLock(500);
    const t0 = Date.now();
    const r = await gw.api('POST', '/hub/api/users/ivy/server');
    t.equal(r.status, 201, `started: ${r.text}`);
    t.ok(Date.now() - t0 >= 400, `after the lock was released (${Date.now() - t0} ms)`);
    await released;
    t.ok(accountExists(gw.account('ivy')), 'the account was made');
  });

  t.test('a user deleted while the lock is held is deleted, account and all', async (t) => {
    t.equal((await gw.api('POST', '/hub/api/users/jay/server')).status, 201);
    const released = holdPasswdLock(500);
    const r = await gw.api('DELETE', '/hub/api/users/jay');
    t.equal(r.status, 204, `deleted: ${r.text}`);
    await released;
    t.notOk(accountExists(gw.account('jay')), 'the account is gone');
    t.equal((await gw.api('GET', '/hub/api/users/jay')).status, 404);
  });

  t.test('a lock held longer than the retries: a 500 that says why, the user kept, and a second try deletes it', async (t) => {
    await gw.addUser('kim');
    t.equal((await gw.api('POST', '/hub/api/users/kim/server')).status, 201);
    t.equal((await gw.api('POST', '/hub/api/users/kim/servers/lab')).status, 201);
    const released = holdPasswdLock(4_500);
    const r = await gw.api('DELETE', '/hub/api/users/kim');
    t.equal(r.status, 500);
    t.match(r.body.message, /kim's servers are stopped but the account could not be removed, so the user is kept: .*lock/);
    t.equal((await gw.api('GET', '/hub/api/users/kim')).status, 200, 'kim is still there');
    t.ok(accountExists(gw.account('kim')), 'and so is the account');
    t.equal((await gw.api('POST', '/hub/api/users/kim/servers/lab')).status, 201, 'and her named server starts again (limit 1: it is still known as hers)');
    t.equal(JSON.parse((await gw.raw('GET', '/user/kim/lab/x', { authorization: `token ${gw.adminToken}` })).body).url, '/user/kim/lab/x', 'and routes to it');
    await released;
    t.equal((await gw.api('DELETE', '/hub/api/users/kim')).status, 204, 'deleted once the lock is gone');
    t.notOk(accountExists(gw.account('kim')));
  });

  t.test('a zombie of the account does not block its deletion', async (t) => {
    await gw.addUser('lee');
    t.equal((await gw.api('POST', '/hub/api/users/lee/server')).status, 201);
    const uid = Number(execFileSync('id', ['-u', gw.account('lee')], { encoding: 'utf8' }));
    // A root parent whose child becomes lee and exits at once: a zombie of lee's uid that pkill -u cannot end.
    const parent = spawn('/usr/bin/python3', ['-c', `
import os, sys
pid = os.fork()
if pid == 0:
    os.setgid(${uid}); os.setuid(${uid}); os._exit(0)
print(pid, flush=True); sys.stdin.readline(); os.waitpid(pid, 0)`], { stdio: ['pipe', 'pipe', 'inherit'] });
    t.teardown(() => { parent.stdin.end(); parent.kill(); });
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d)))));
    await new Promise((r) => setTimeout(r, 100));
    const stat = execFileSync('cat', [`/proc/${zombie}/stat`], { encoding: 'utf8' });
    t.equal(stat[stat.lastIndexOf(')') + 2], 'Z', `process ${zombie} is a zombie`);
    const r = await gw.api('DELETE', '/hub/api/users/lee');
    t.equal(r.status, 204, `deleted: ${r.text}`);
    t.notOk(accountExists(gw.account('lee')), 'the account is gone');
    parent.stdin.end('reap\n');                          // leave no zombie behind for the next account with this uid
    await new Promise((r) => parent.once('exit', r));
  });
}
