/** @module bench/proxy: the same requests, side by side in one run, straight to the backend, through the floor
 *  proxy, configurable-http-proxy 5 and the gateway (cookie and token auth): HTTP (wrk), WebSocket echo and idle
 *  connections, then the gateway's cold start. Backends + proxies on CPU 0, load generators on CPU 1. */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { coldStart, printColdStart } from './coldstart.ts';
import {
  api, claimAccount, CLK_TCK, cpuTicks, fmt, freePort, login, lookupAccount, makeTmpDir, median, NODE, onCleanup, othersCanRead,
  pinned, randomToken, ROOT, rssKiB, runMain, start, track, startGateway, startServer, stopServer, table, waitFor200, writeGatewayConfig,
} from './lib.ts';

const { values: opt } = parseArgs({ options: {
  quick: { type: 'boolean' }, rounds: { type: 'string' }, duration: { type: 'string' }, conns: { type: 'string' },
  backends: { type: 'string' }, 'idle-ws': { type: 'string' }, json: { type: 'string' },
  'skip-http': { type: 'boolean' }, 'skip-ws': { type: 'boolean' }, 'skip-idle': { type: 'boolean' }, 'skip-cold': { type: 'boolean' }, hold: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} });
if (opt.help) {
  console.log('bench/proxy [--quick] [--rounds N] [--duration S] [--conns 1,16,64] [--backends 1k,jupyter] [--idle-ws N]\n' +
    '            [--skip-http] [--skip-ws] [--skip-idle] [--skip-cold] [--json FILE] [--hold FILE]   (see bench/README.md)');
  process.exit(0);
}
const ROUNDS = Number(opt.rounds ?? (opt.quick ? 1 : 5));
const SECS = Number(opt.duration ?? (opt.quick ? 2 : 10));
const WARM_SECS = opt.quick ? 1 : 3;
const CONNS = (opt.conns ?? '1,16,64').split(',').map(Number);
const BACKENDS = (opt.backends ?? '1k,jupyter').split(',') as BackendName[];
const IDLE_WS = Number(opt['idle-ws'] ?? 2000);
const JUPYTER_SERVER = '/opt/kicloud/envs/jupyterlab/bin/jupyter-server';
const run = promisify(execFile);

type BackendName = '1k' | 'jupyter';
type TargetName = 'direct' | 'floor' | 'CHP' | 'gateway cookie' | 'gateway token';
const TARGETS: TargetName[] = ['direct', 'floor', 'CHP', 'gateway cookie', 'gateway token'];
/** Where each target sends the load, which headers it needs, and whose CPU is its cost. */
interface Endpoint { origin: string; path: string; headers: Record<string, string>; pid: number }
type Endpoints = Record<BackendName, Record<TargetName, Endpoint>>;
interface Sample { rps: number; p50ms: number; cpuUsPerReq: number }

const jupyterArgs = (port: string, baseUrl: string, home: string) => ['--ServerApp.ip=127.0.0.1', `--ServerApp.port=${port}`,
  `--ServerApp.base_url=${baseUrl}`, `--ServerApp.root_dir=${home}`, '--ServerApp.open_browser=False',
  '--ServerApp.allow_remote_access=True', '--ServerApp.port_retries=0'];

async function setup(dir: string) {
  // The backend runs as a per-user account: it and its `ws` must be readable by others, else run a copy.
  let backendJs = path.join(import.meta.dirname, 'backend.mjs');
  if (![backendJs, path.join(ROOT, 'node_modules/ws/package.json'), NODE].every(othersCanRead)) {
    mkdirSync(path.join(dir, 'app/node_modules'), { recursive: true, mode: 0o755 });
    copyFileSync(backendJs, path.join(dir, 'app/backend.mjs'));
    cpSync(path.join(ROOT, 'node_modules/ws'), path.join(dir, 'app/node_modules/ws'), { recursive: true });
    backendJs = path.join(dir, 'app/backend.mjs');
    if (!othersCanRead(NODE)) throw new Error(`${NODE} is not readable by other users`);
  }
  const profiles = [
    { name: 'bench', display_name: 'Bench backend', command: [NODE, backendJs, '{port}', '{base_url}'], start_timeout: 30 },
    { name: 'jupyter', display_name: 'Jupyter Server', command: [JUPYTER_SERVER, ...jupyterArgs('{port}', '{base_url}', '{home}')],
      env: { PATH: '/opt/kicloud/envs/jupyterlab/bin:/usr/local/bin:/usr/bin:/bin' }, start_timeout: 60 },
  ];
  return { profiles };
}

async function startTargets(dir: string, profiles: unknown[]): Promise<Endpoints> {
  for (const a of ['kb-alice', 'kb-bob']) {
    if (!claimAccount(a)) throw new Error(`account ${a} exists (left over from an earlier run?): remove it with userdel -r ${a}`);
  }
  const gwPort = await freePort();
  const config = path.join(dir, 'gateway.yaml');
  writeGatewayConfig(config, { port: gwPort, dataDir: path.join(dir, 'data'), homeRoot: path.join(dir, 'homes'), profiles });
  const gw = await startGateway({ dir, config, dataDir: path.join(dir, 'data'), port: gwPort, cpu: 0 });
  onCleanup(async () => {                                   // runs before the gateway is stopped
    for (const u of ['alice', 'bob']) await stopServer(gw, u).catch(() => {});
  });
  await api(gw, 'POST', '/users/alice', { password: 'alicepass1' });
  await api(gw, 'POST', '/users/bob', { password: 'bobpass123' });
  await Promise.all([startServer(gw, 'alice'), startServer(gw, 'bob', { profile: 'jupyter' })]);
  const bob = lookupAccount('kb-bob')!;

  // The 1 KiB backend: the very process the gateway spawned for alice, so every target measures the same backend
  // process (two copies of it differed by up to 15 % between runs). The Jupyter backend needs its token, which
  // the gateway keeps private: a copy started by hand as bob, in its own session (detached) as the spawner
  // starts servers; the kernel schedules each session as its own group (sched_autogroup), and a backend in the
  // bench's session made the proxies in front of it ~25 % faster on WebSocket echo.
  const aliceServer = (await api(gw, 'GET', '/users/alice')).json.servers[''];   // the admin token sees its state
  const bPort = Number(aliceServer.state?.port), backendPid = Number(aliceServer.state?.pid);
  if (!bPort || !backendPid) throw new Error(`alice's server state has no port or pid: ${JSON.stringify(aliceServer)}`);
  const [jPort, f1Port, f2Port, chpPort, chpApi] = await Promise.all(Array.from({ length: 5 }, freePort));
  const jToken = randomToken();
  const jupyter = start('backend-jupyter', ...pinned(0, JUPYTER_SERVER, jupyterArgs(String(jPort), '/user/bob/', bob.home)), dir, {
    uid: bob.uid, gid: bob.gid, cwd: bob.home, detached: true,
    env: { PATH: '/opt/kicloud/envs/jupyterlab/bin:/usr/bin:/bin', HOME: bob.home, USER: bob.name, LANG: 'C.UTF-8', JUPYTER_TOKEN: jToken },
  });
  const jAuth = { authorization: `token ${jToken}` };
  await waitFor200(`http://127.0.0.1:${jPort}/user/bob/api/status`, { timeoutMs: 60_000, proc: jupyter, headers: jAuth });

  const floorJs = path.join(import.meta.dirname, 'floor-proxy.mjs');
  const floor1 = start('floor-1k', ...pinned(0, NODE, [floorJs, String(f1Port), `http://127.0.0.1:${bPort}`]), dir);
  const floor2 = start('floor-jupyter', ...pinned(0, NODE, [floorJs, String(f2Port), `http://127.0.0.1:${jPort}`]), dir);
  const chpToken = randomToken();
  const chp = start('chp', ...pinned(0, NODE, [path.join(ROOT, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy'),
    '--ip', '127.0.0.1', '--port', String(chpPort), '--api-ip', '127.0.0.1', '--api-port', String(chpApi),
    '--default-target', `http://127.0.0.1:${bPort}`, '--log-level', 'warn']), dir,
  { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: chpToken } });
  await waitFor200(`http://127.0.0.1:${chpApi}/api/routes`, { timeoutMs: 30_000, proc: chp, headers: { authorization: `token ${chpToken}` } });
  const route = await fetch(`http://127.0.0.1:${chpApi}/api/routes/user/bob`, {
    method: 'POST', headers: { authorization: `token ${chpToken}` }, body: JSON.stringify({ target: `http://127.0.0.1:${jPort}` }),
  });
  if (route.status !== 201) throw new Error(`CHP route for /user/bob answered ${route.status}`);
  await waitFor200(`http://127.0.0.1:${f1Port}/user/alice/api/status`, { timeoutMs: 10_000, proc: floor1 });
  await waitFor200(`http://127.0.0.1:${f2Port}/user/bob/api/status`, { timeoutMs: 10_000, proc: floor2, headers: jAuth });

  const cookie = { alice: await login(gw, 'alice', 'alicepass1'), bob: await login(gw, 'bob', 'bobpass123') };
  const tok = async (u: string) => `token ${(await api(gw, 'POST', `/users/${u}/tokens`, { note: 'bench' })).json.token}`;
  const token = { alice: await tok('alice'), bob: await tok('bob') };
  const o = (port: number) => `127.0.0.1:${port}`;
  const gwOrigin = new URL(gw.url).host;
  return {
    '1k': {
      direct: { origin: o(bPort), path: '/user/alice/bench', headers: {}, pid: backendPid },
      floor: { origin: o(f1Port), path: '/user/alice/bench', headers: {}, pid: floor1.pid },
      CHP: { origin: o(chpPort), path: '/user/alice/bench', headers: {}, pid: chp.pid },
      'gateway cookie': { origin: gwOrigin, path: '/user/alice/bench', headers: { cookie: cookie.alice }, pid: gw.proc.pid },
      'gateway token': { origin: gwOrigin, path: '/user/alice/bench', headers: { authorization: token.alice }, pid: gw.proc.pid },
    },
    jupyter: {
      direct: { origin: o(jPort), path: '/user/bob/api/status', headers: jAuth, pid: jupyter.pid },
      floor: { origin: o(f2Port), path: '/user/bob/api/status', headers: jAuth, pid: floor2.pid },
      CHP: { origin: o(chpPort), path: '/user/bob/api/status', headers: jAuth, pid: chp.pid },
      'gateway cookie': { origin: gwOrigin, path: '/user/bob/api/status', headers: { cookie: cookie.bob }, pid: gw.proc.pid },
      'gateway token': { origin: gwOrigin, path: '/user/bob/api/status', headers: { authorization: token.bob }, pid: gw.proc.pid },
    },
  };
}

/** One wrk run on CPU 1; the target's CPU time is read from /proc around it. */
async function wrk(e: Endpoint, conns: number, secs: number): Promise<Sample> {
  const headers = Object.entries(e.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const before = cpuTicks(e.pid);
  const running = run('taskset', ['-c', '1', 'wrk', '-t1', `-c${conns}`, `-d${secs}s`, '--latency', '--timeout', '5s',
    ...headers, `http://${e.origin}${e.path}`], { timeout: (secs + 20) * 1000 });
  track(running.child);
  const { stdout } = await running;
  const ticks = cpuTicks(e.pid) - before;
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(stdout) ?? /Socket errors: (.*)/.exec(stdout);
  if (bad || !requests) throw new Error(`wrk against ${e.origin}${e.path}: ${bad?.[0] ?? 'no requests'}\n${stdout}`);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s)$/m.exec(stdout)!;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)![1]),
    p50ms: Number(p50[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[p50[2]],
    cpuUsPerReq: (ticks / CLK_TCK) * 1e6 / requests,
  };
}

/** ws-client.mjs on CPU 1. */
function wsClient(mode: string, url: string, headers: Record<string, string>, conns: number, secs: number) {
  const child = track(spawn('taskset', ['-c', '1', NODE, path.join(import.meta.dirname, 'ws-client.mjs'), mode, url,
    JSON.stringify(headers), String(conns), String(secs)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const firstLine = new Promise<any>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => { buf += d; if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0])); });
    child.once('exit', (code) => reject(new Error(`ws-client ${mode} ${url} exited with ${code}`)));
  });
  firstLine.catch(() => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, firstLine, exited };
}
const wsUrl = (e: Endpoint) => `ws://${e.origin}${e.path.replace(/[^/]*$/, '')}ws`;

async function httpRounds(ep: Endpoints) {
  const res: Record<string, Record<TargetName, Sample[]>> = {};
  for (const b of BACKENDS) for (const t of TARGETS) await wrk(ep[b][t], 16, WARM_SECS);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...TARGETS].reverse() : TARGETS;          // alternate, so drift hits every target alike
    for (const b of BACKENDS) for (const c of CONNS) {
      const key = `${b}|${c}`;
      res[key] ??= Object.fromEntries(TARGETS.map((t) => [t, []])) as unknown as Record<TargetName, Sample[]>;
      for (const t of order) {
        res[key][t].push(await wrk(ep[b][t], c, SECS));
        process.stderr.write('.');
      }
    }
    process.stderr.write(` HTTP round ${r + 1}/${ROUNDS} done\n`);
  }
  return res;
}

async function wsRounds(ep: Endpoints) {
  const res = Object.fromEntries(TARGETS.map((t) => [t, { rttUs: [] as number[], msgsPerS: [] as number[] }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 ? [...TARGETS].reverse() : TARGETS) {
      const e = ep['1k'][t];
      const rtt = wsClient('rtt', wsUrl(e), e.headers, 1, SECS);
      res[t].rttUs.push((await rtt.firstLine).p50_us);
      const tput = wsClient('tput', wsUrl(e), e.headers, 64, SECS);
      res[t].msgsPerS.push((await tput.firstLine).msgs_per_s);
      process.stderr.write('.');
    }
    process.stderr.write(` WebSocket round ${r + 1}/${ROUNDS} done\n`);
  }
  return res;
}

/** RSS growth of the proxy over IDLE_WS idle proxied WebSockets. */
async function idleWs(ep: Endpoints) {
  const out: Record<string, { kibPerConn: number; opened: number; failed: number; openMs: number; firstError: string }> = {};
  for (const t of ['floor', 'CHP', 'gateway cookie'] as TargetName[]) {
    const e = ep['1k'][t];
    await sleep(2000);
    const before = rssKiB(e.pid);
    const c = wsClient('idle', wsUrl(e), e.headers, IDLE_WS, 120);
    const info = await c.firstLine;
    await sleep(3000);
    const after = rssKiB(e.pid);
    c.child.stdin!.end('close\n');
    await Promise.race([c.exited, sleep(10_000)]);
    out[t] = { kibPerConn: (after - before) / Math.max(1, info.opened), opened: info.opened, failed: info.failed,
      openMs: info.open_ms, firstError: info.first_error };
    process.stderr.write('.');
  }
  process.stderr.write(' idle WebSockets done\n');
  return out;
}

const ratio = (a: number, b: number) => fmt(a / b, 2);

/** The same ratio taken round by round (targets of one round ran back to back), median and range: on a machine
 *  whose speed drifts within minutes, a ratio of medians can pair one target's fast minute with another's slow one. */
function perRound(series: Record<string, number[]>, of: string[], against: string[]): string {
  return of.flatMap((t) => against.map((r) => {
    const q = series[t].map((v, i) => v / series[r][i]).sort((a, b) => a - b);
    return `${t} ÷ ${r} ${fmt(median(q), 2)} (${fmt(q[0], 2)}–${fmt(q[q.length - 1], 2)})`;
  })).join('; ');
}
const GATEWAY: TargetName[] = ['gateway cookie', 'gateway token'];

function printHttp(res: Awaited<ReturnType<typeof httpRounds>>) {
  for (const [key, byTarget] of Object.entries(res)) {
    const [b, c] = key.split('|');
    const m = Object.fromEntries(TARGETS.map((t) => [t, {
      rps: median(byTarget[t].map((s) => s.rps)), p50: median(byTarget[t].map((s) => s.p50ms)), cpu: median(byTarget[t].map((s) => s.cpuUsPerReq)),
    }])) as Record<TargetName, { rps: number; p50: number; cpu: number }>;
    const vs = (t: TargetName, f: 'rps' | 'p50' | 'cpu') => ['direct', 'floor', 'CHP'].map((r) => ratio(m[t][f], m[r as TargetName][f])).join(' ');
    console.log(`\n== HTTP, ${b === '1k' ? '1 KiB backend' : 'Jupyter Server api/status'}, ${c} connection${c === '1' ? '' : 's'} ` +
      `(median of ${byTarget.direct.length} × ${SECS} s) ==`);
    console.log(table(['target', 'req/s', 'p50 ms', 'CPU µs/req', 'req/s ÷ direct floor CHP', 'p50 ÷ direct floor CHP', 'CPU ÷ direct floor CHP'],
      TARGETS.map((t) => [t, fmt(m[t].rps), fmt(m[t].p50, 3), fmt(m[t].cpu, 1), vs(t, 'rps'), vs(t, 'p50'), vs(t, 'cpu')])));
    const rps = Object.fromEntries(TARGETS.map((t) => [t, byTarget[t].map((s) => s.rps)]));
    if (byTarget.direct.length > 1) console.log(`req/s per round: ${perRound(rps, GATEWAY, ['floor', 'CHP'])}; ${perRound(rps, ['floor'], ['CHP'])}`);
  }
  console.log('CPU µs/req: utime+stime of the proxy process (for direct: the backend) / requests. Ratios: this target ÷ the named one.');
}

function printWs(ws: Awaited<ReturnType<typeof wsRounds>> | undefined, idle: Awaited<ReturnType<typeof idleWs>> | undefined) {
  if (ws) {
    console.log(`\n== WebSocket echo, 64-byte messages, 1 KiB backend (median of ${ws.direct.rttUs.length} × ${SECS} s) ==`);
    const m = (t: string) => ({ rtt: median(ws[t].rttUs), mps: median(ws[t].msgsPerS) });
    const vs = (t: string, f: 'rtt' | 'mps') => ['direct', 'floor', 'CHP'].map((r) => ratio(m(t)[f], m(r)[f])).join(' ');
    console.log(table(['target', 'RTT p50 µs (1 conn)', 'msgs/s (64 conns)', 'RTT ÷ direct floor CHP', 'msgs/s ÷ direct floor CHP'],
      TARGETS.map((t) => [t, fmt(m(t).rtt), fmt(m(t).mps), vs(t, 'rtt'), vs(t, 'mps')])));
    const mps = Object.fromEntries(TARGETS.map((t) => [t, ws[t].msgsPerS]));
    if (ws.direct.msgsPerS.length > 1) console.log(`msgs/s per round: ${perRound(mps, GATEWAY, ['floor', 'CHP'])}; ${perRound(mps, ['floor'], ['CHP'])}`);
  }
  if (idle) {
    console.log(`\n== Memory per idle proxied WebSocket: RSS growth of the proxy over ${IDLE_WS} connections ==`);
    console.log(table(['proxy', 'KiB per connection', 'opened', 'failed', 'open all (ms)'], Object.entries(idle).map(([t, r]) =>
      [t, fmt(r.kibPerConn, 1), String(r.opened), `${r.failed}${r.firstError ? ` (${r.firstError})` : ''}`, fmt(r.openMs)])));
  }
}

/** Leaves every target running for measurements by hand: their endpoints (origin, path, headers, pid) go to
 *  `file`; Ctrl-C or SIGTERM stops them all as usual. */
async function hold(file: string, ep: Endpoints): Promise<void> {
  writeFileSync(file, JSON.stringify(ep, null, 1), { mode: 0o600 });
  console.log(`targets running; endpoints in ${file}; Ctrl-C stops them`);
  await new Promise(() => {});
}

runMain(async () => {
  for (const tool of ['wrk', 'taskset']) await run('sh', ['-c', `command -v ${tool}`]).catch(() => { throw new Error(`${tool} is not installed`); });
  const dir = makeTmpDir('kicloud-bench-proxy-');
  const { profiles } = await setup(dir);
  console.log(`bench/proxy: ${ROUNDS} round(s) × ${SECS} s, connections ${CONNS.join(',')}, backends ${BACKENDS.join(',')}; logs in ${dir}`);
  const cold = opt['skip-cold'] ? undefined : await coldStart({ dir, runs: opt.quick ? 2 : 5, idleSecs: opt.quick ? 3 : 10, profiles });
  const ep = await startTargets(dir, profiles);
  if (opt.hold) return hold(opt.hold, ep);
  // Idle memory first, on proxies that have served no load yet: after the throughput rounds their heaps hold
  // enough free space for 2 000 connections and RSS growth reads ~0 for all of them.
  const idle = opt['skip-idle'] ? undefined : await idleWs(ep);
  const http = opt['skip-http'] ? undefined : await httpRounds(ep);
  const ws = opt['skip-ws'] ? undefined : await wsRounds(ep);
  if (http) printHttp(http);
  printWs(ws, idle);
  if (cold) printColdStart(cold, opt.quick ? 3 : 10);
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ rounds: ROUNDS, secs: SECS, http, ws, idle, cold }, null, 1));
});
