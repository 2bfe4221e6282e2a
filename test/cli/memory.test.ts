/** bin/kicloud serve keeps its memory after password hashing: scrypt takes a 16 MiB block per hash on libuv's
 *  worker threads, and glibc's default (a threshold that rises to the largest block freed) leaves those blocks in
 *  per-thread arenas, 65-80 MiB for good. bin/kicloud pins the threshold (GLIBC_TUNABLES); an operator's own
 *  value of it is kept. Real gateway processes over TCP; RSS read from /proc. (glibc cuts GLIBC_TUNABLES at its
 *  first ':' in the process's own environ, so only single-tunable values are read back there.) */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Gateway } from '../helpers/gateway.ts';

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const environ = (gw: Gateway) => readFileSync(`/proc/${gw.child.pid}/environ`, 'latin1');

async function serve(t: { teardown: (fn: () => Promise<void>) => void }, env: Record<string, string> = {}): Promise<Gateway> {
  const gw = await Gateway.start({ cli: true, env, config: { log_level: 'warn' } });
  t.teardown(() => gw.cleanup());
  return gw;
}

t.test('20 password hashes (10 new users, 10 logins) leave RSS within 25 MiB of where it was', async (t) => {
  const gw = await serve(t);
  t.match(environ(gw), /(^|\0)GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=1048576\0/);
  await sleep(1000);
  const before = rssMiB(gw.child.pid!);
  for (let i = 0; i < 10; i++) {
    const res = await gw.api('POST', `/hub/api/users/m${i}`, { body: { password: `m${i}-long-password` } });
    t.equal(res.status, 201, `user m${i} created`);
  }
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${gw.url}/hub/login`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url },
      body: new URLSearchParams({ username: `m${i}`, password: `m${i}-long-password` }),
    });
    await res.arrayBuffer();
    t.equal(res.status, 302, `m${i} logged in`);
  }
  await sleep(500);
  const grew = rssMiB(gw.child.pid!) - before;
  t.ok(grew < 25, `RSS grew ${grew.toFixed(1)} MiB (${before.toFixed(1)} MiB before)`);
});

t.test("an operator's own mmap threshold is kept", async (t) => {
  const gw = await serve(t, { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4194304' });
  t.match(environ(gw), /(^|\0)GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=4194304\0/);
  t.notMatch(environ(gw), /1048576/, 'ours is not added after it');
  const alias = await serve(t, { MALLOC_MMAP_THRESHOLD_: '4194304' });
  t.notMatch(environ(alias), /GLIBC_TUNABLES/, 'nor over the older alias');
});
