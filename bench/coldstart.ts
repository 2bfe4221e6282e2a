/** @module Gateway cold start (exec of `kicloud serve` → first 200 from /hub/health, existing data dir, no servers)
 *  and idle RSS, next to a script that only imports the same libraries and answers /hub/health. */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fmt, freePort, gatewayEnv, KICLOUD, median, NODE, pinned, randomToken, rssKiB, start, stop, table, waitFor200, writeGatewayConfig, type Proc } from './lib.ts';

export interface ColdResult { name: string; startMs: number[]; idleRssMiB: number }

export async function coldStart(o: { dir: string; runs: number; idleSecs: number; profiles: unknown[] }): Promise<ColdResult[]> {
  const port = await freePort();
  const dataDir = path.join(o.dir, 'cold-data');
  const config = path.join(o.dir, 'cold.yaml');
  writeGatewayConfig(config, { port, dataDir, homeRoot: path.join(o.dir, 'homes'), profiles: o.profiles });
  const env = gatewayEnv(dataDir, port, randomToken());
  const launch: Record<string, () => Proc> = {
    'kicloud serve': () => start('cold-gateway', ...pinned(0, KICLOUD, ['serve', '--config', config]), o.dir, { env }),
    'imports only': () => start('cold-imports', ...pinned(0, NODE, ['--disable-warning=ExperimentalWarning',
      path.join(import.meta.dirname, 'imports-only.mjs'), String(port)]), o.dir,
      // Its own compile cache, as bin/kicloud gives the gateway one (V8 code for the libraries, stripped TypeScript).
      { env: { ...process.env, NODE_COMPILE_CACHE: path.join(o.dir, 'imports-compile-cache') } }),
  };
  const health = `http://127.0.0.1:${port}/hub/health`;
  // The first start of each creates the data dir (store, secrets, admin) and fills its compile cache: not timed.
  for (const warmUp of Object.values(launch)) {
    const first = warmUp();
    await waitFor200(health, { timeoutMs: 30_000, intervalMs: 5, proc: first });
    await stop(first);
  }

  const results: ColdResult[] = Object.keys(launch).map((name) => ({ name, startMs: [], idleRssMiB: NaN }));
  for (let run = 0; run < o.runs; run++) {
    for (const r of run % 2 ? [...results].reverse() : results) {
      const t0 = performance.now();
      const p = launch[r.name]();
      await waitFor200(health, { timeoutMs: 30_000, intervalMs: 5, proc: p });
      r.startMs.push(performance.now() - t0);
      if (run === 0) {                                  // idle RSS once, idleSecs after the exec
        await sleep(Math.max(0, o.idleSecs * 1000 - (performance.now() - t0)));
        r.idleRssMiB = rssKiB(p.pid) / 1024;
      }
      await stop(p);
    }
  }
  return results;
}

export function printColdStart(results: ColdResult[], idleSecs: number): void {
  console.log(`\n== Cold start: exec → first 200 from /hub/health (existing data dir, no servers; median of ${results[0].startMs.length}), pinned to CPU 0 ==`);
  const base = results.find((r) => r.name === 'imports only')!;
  console.log(table(['process', 'start ms', `RSS ${idleSecs} s after start MiB`, 'start ×imports', 'RSS ×imports'],
    results.map((r) => [r.name, fmt(median(r.startMs)), fmt(r.idleRssMiB, 1),
      fmt(median(r.startMs) / median(base.startMs), 2), fmt(r.idleRssMiB / base.idleRssMiB, 2)])));
}
