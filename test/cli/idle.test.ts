/** An idle gateway sleeps: a centre's gateway waits for users most of the day, and a process that wakes 100
 *  times a second costs CPU and power for nothing. prom-client's event-loop lag metric samples on a libuv timer
 *  whose default period is 10 ms; the gateway samples every 100 ms. Real gateway process through bin/kicloud;
 *  wake-ups counted as the main thread's voluntary context switches in /proc. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Gateway } from '../helpers/gateway.ts';

const wakeups = (pid: number) => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))![1]);

t.test('an idle gateway wakes its main thread fewer than 30 times a second', async (t) => {
  const gw = await Gateway.start({ cli: true, config: { log_level: 'warn' } });
  t.teardown(() => gw.cleanup());
  const res = await fetch(`${gw.url}/hub/health`);
  t.equal(res.status, 200);
  await sleep(1000);
  const pid = gw.child.pid!, before = wakeups(pid), t0 = performance.now();
  await sleep(3000);
  const perSecond = (wakeups(pid) - before) / ((performance.now() - t0) / 1000);
  t.ok(perSecond < 30, `${perSecond.toFixed(1)} wake-ups per second`);
  const metrics = await gw.api('GET', '/metrics');
  t.match(metrics.text, /kicloud_nodejs_eventloop_lag_p50_seconds \d/, 'the lag metric is still there');
});
