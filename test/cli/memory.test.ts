/** bin/kicloud serve keeps its memory after password hashing: scrypt takes a 16 MiB block per hash on libuv's
 *  worker threads, and glibc's default (a threshold that rises to the largest block freed) leaves those blocks in
 *  per-thread arenas, 65-80 MiB for good. bin/kicloud pins the threshold (GLIBC_TUNABLES); an operator's own
 *  value of it is kept. Real gateway processes over TCP; RSS read from /proc. (glibc cuts GLIBC_TUNABLES at its
 *  first ':' in the process's own environ, so only single-tunable values are read back there.) */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, ROOT } from '../helpers/gateway.ts';

const TOKEN = 'memory-test-admin-token-0123456789';
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function serve(t: { teardown: (fn: () => Promise<void>) => void }, extraEnv: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const dir = mkdtempSync('/tmp/kicloud-mem-');
  const config = path.join(dir, 'k.yaml');
  writeFileSync(config, `data_dir: ${dir}/data\nlog_level: warn\nprofiles:\n  - name: lab\n    display_name: Lab\n    command: [x, "{port}"]\n`);
  const port = await freePort();
  const child = spawn(path.join(ROOT, 'bin/kicloud'), ['serve', '--config', config], {
    stdio: 'ignore',
    env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, KICLOUD_LISTEN: `127.0.0.1:${port}`, KICLOUD_API_TOKEN: TOKEN, ...extraEnv },
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(`${url}/hub/health`)).ok) return { url, child }; } catch { /* not yet */ }
    await sleep(25);
  }
  throw new Error('the gateway did not answer /hub/health within 15 s');
}

t.test('20 password hashes (10 new users, 10 logins) leave RSS within 25 MiB of where it was', async (t) => {
  const { url, child } = await serve(t);
  t.match(readFileSync(`/proc/${child.pid}/environ`, 'latin1'), /\0GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=1048576\0/);
  await sleep(1000);
  const before = rssMiB(child.pid!);
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${url}/hub/api/users/m${i}`, {
      method: 'POST', headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ password: `m${i}-long-password` }),
    });
    t.equal(res.status, 201, `user m${i} created`);
  }
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${url}/hub/login`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
      body: new URLSearchParams({ username: `m${i}`, password: `m${i}-long-password` }),
    });
    await res.arrayBuffer();
    t.equal(res.status, 302, `m${i} logged in`);
  }
  await sleep(500);
  const grew = rssMiB(child.pid!) - before;
  t.ok(grew < 25, `RSS grew ${grew.toFixed(1)} MiB (${before.toFixed(1)} MiB before)`);
});

t.test("an operator's own mmap threshold is kept", async (t) => {
  const { child } = await serve(t, { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4194304' });
  const environ = readFileSync(`/proc/${child.pid}/environ`, 'latin1');
  t.match(environ, /\0GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=4194304\0/);
  t.notMatch(environ, /1048576/, 'ours is not added after it');
  const alias = await serve(t, { MALLOC_MMAP_THRESHOLD_: '4194304' });
  t.notMatch(readFileSync(`/proc/${alias.child.pid}/environ`, 'latin1'), /GLIBC_TUNABLES/, 'nor over the older alias');
});
