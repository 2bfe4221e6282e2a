/** What loading the gateway costs at start: the modules `serve` pulls in must not load Node's bundled undici
 *  (an ESM `import` of `node:http` does, through the facade's lazy `WebSocket` getter: 70 ms of a cold start
 *  on a slow core), nor the clients of backends the default config does not use. Checked in a fresh Node. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../helpers/gateway.ts';

const probe = `
const before = new Set(process.moduleLoadList);
await import(${JSON.stringify(path.join(ROOT, 'src/main.ts'))});
await import(${JSON.stringify(path.join(ROOT, 'src/cli/main.ts'))});
const { createRequire } = await import('node:module');
const loadedFiles = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify({ builtins: process.moduleLoadList.filter((m) => !before.has(m)), loadedFiles }));
`;

t.test('the gateway modules load without the bundled undici or unused backend clients', async (t) => {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', probe],
    { cwd: ROOT, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const { builtins, loadedFiles } = JSON.parse(r.stdout) as { builtins: string[]; loadedFiles: string[] };
  t.ok(builtins.some((m) => m.includes('internal/http')), 'the probe saw the gateway load node:http');
  t.same(builtins.filter((m) => m.includes('deps/undici')), [], 'Node\'s bundled undici stays unloaded');
  t.same(loadedFiles.filter((f) => /node_modules\/(@kubernetes|ioredis)\//.test(f)), [], 'no Kubernetes or Redis client');
  t.ok(loadedFiles.some((f) => f.includes('node_modules/undici/')), 'the npm undici the proxy uses is loaded');
});
