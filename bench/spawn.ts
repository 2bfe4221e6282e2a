/** @module bench/spawn: spawn-to-ready of the default JupyterLab profile through the gateway vs the same command
 *  started by hand as a same-made account (1 alone, then N at once), and login → JupyterLab in headless Chromium. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  api, createAccount, fmt, freePort, lookupAccount, makeTmpDir, median, onCleanup, percentile, randomToken, ROOT, runMain, start,
  startGateway, startServer, stop, stopServer, table, writeGatewayConfig, type Account, type Gateway, type Proc,
} from './lib.ts';
import { BARE_START_THEN_PAGE, browserRuns, FIRST_PAGE, FIRST_SPAWN, printBrowser, RUNNING_PAGE } from './spawn-browser.ts';
import { ProbeClock } from '../src/spawn/readiness.ts';      // the by-hand side waits exactly as the gateway does
import { watchFile } from '../spawners/local/watch-file.ts';

const { values: opt } = parseArgs({ options: {
  quick: { type: 'boolean' }, users: { type: 'string' }, rounds: { type: 'string' }, singles: { type: 'string' }, 'browser-runs': { type: 'string' }, 'skip-browser': { type: 'boolean' },
  json: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} });
if (opt.help) {
  console.log('bench/spawn [--quick] [--users N] [--rounds N] [--singles K] [--browser-runs R] [--skip-browser] [--json FILE]  (see bench/README.md)');
  process.exit(0);
}
const N = Number(opt.users ?? (opt.quick ? 3 : 20));
const R = Number(opt['browser-runs'] ?? (opt.quick ? 1 : 3));
const ROUNDS = Number(opt.rounds ?? 2);
// One JupyterLab start varies by ±10 % (2.2–2.8 s seen on one machine within minutes): one sample per side
// cannot resolve a 100 ms target, so "1 alone" is K alternating pairs, each a first start in a fresh home.
const SINGLES = Number(opt.singles ?? (opt.quick ? 1 : 5));
const singleUser = (side: 'g' | 'h', i: number) => `${side}0${String.fromCharCode(97 + i)}`;   // g0a, h0a, g0b, …
const ENVS = '/opt/kicloud/envs';
const pad = (i: number) => String(i).padStart(2, '0');

/** The shipped default profile, unchanged but for a start_timeout that allows N JupyterLabs at once on 2 cores. */
interface Profile { name: string; command: string[]; env?: Record<string, string>; start_timeout: number }
function defaultProfile(): Profile {
  const d = parseYaml(readFileSync(path.join(ROOT, 'config/defaults.yaml'), 'utf8')) as { profiles: Profile[] };
  const p = d.profiles.find((x) => x.name === 'jupyterlab') ?? d.profiles[0];
  return { ...p, start_timeout: Math.max(p.start_timeout ?? 60, 300) };
}

/** The profile's command as the local spawner runs it (argv, env, account, own process group); resolves with
 *  ms from exec until base_url/api/status answers 200, polled with the gateway's own clock (ProbeClock: its
 *  backoff, woken by the server's output). */
function launchByHand(profile: Profile, acc: Account, user: string, port: number, dir: string) {
  const baseUrl = `/user/${user}/`, token = randomToken();
  const values: Record<string, string> = { port: String(port), base_url: baseUrl, user, server_name: '', home: acc.home, envs: ENVS };
  const fill = (s: string) => s.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
  const argv = profile.command.map(fill);
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin', HOME: acc.home, USER: acc.name, LOGNAME: acc.name, SHELL: '/bin/bash', LANG: 'C.UTF-8',
    JUPYTER_TOKEN: token, JUPYTERHUB_API_TOKEN: token, JPY_API_TOKEN: token, JUPYTERHUB_USER: user, JUPYTERHUB_SERVER_NAME: '',
    JUPYTERHUB_SERVICE_PREFIX: baseUrl, JUPYTERHUB_BASE_URL: '/', JUPYTERHUB_SERVICE_URL: `http://127.0.0.1:${port}${baseUrl}`,
  };
  for (const [k, v] of Object.entries(profile.env ?? {})) env[k] = fill(v);
  const t0 = performance.now();
  const proc = start(`hand-${user}`, argv[0], argv.slice(1), dir, { uid: acc.uid, gid: acc.gid, cwd: acc.home, env, detached: true });
  const ready = (async () => {
    const url = `http://127.0.0.1:${port}${baseUrl}api/status?no_track_activity=1`;
    const clock = new ProbeClock((onOutput) => watchFile(proc.log, onOutput));      // the gateway's clock, woken by output the same way
    try {
      while (performance.now() - t0 < profile.start_timeout * 1000) {
        if (proc.child.exitCode !== null) throw new Error(`${argv[0]} for ${user} exited with ${proc.child.exitCode}; see ${proc.log}`);
        try {
          const res = await fetch(url, { headers: { authorization: `token ${token}` }, signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          if (res.status === 200) return performance.now() - t0;
          clock.outputWakes = false;                // it listens: as the gateway, no longer woken by output
        } catch { /* not listening yet */ }
        await clock.next(profile.start_timeout * 1000 - (performance.now() - t0));
      }
    } finally {
      clock.close();
    }
    throw new Error(`${user}'s server by hand not ready after ${profile.start_timeout} s; see ${proc.log}`);
  })();
  return { proc, ready, port, token, baseUrl };
}

interface Batch { each: number[]; allMs: number }

async function handBatch(profile: Profile, accounts: Account[], users: string[], dir: string): Promise<{ batch: Batch; procs: Proc[] }> {
  const ports = await Promise.all(users.map(() => freePort()));
  const t0 = performance.now();
  const runs = users.map((u, i) => launchByHand(profile, accounts[i], u, ports[i], dir));
  const each = await Promise.all(runs.map((r) => r.ready));
  return { batch: { each, allMs: performance.now() - t0 }, procs: runs.map((r) => r.proc) };
}

async function gatewayBatch(gw: Gateway, users: string[]): Promise<Batch> {
  const t0 = performance.now();
  const each = await Promise.all(users.map((u) => startServer(gw, u, {}, 600_000)));
  return { each, allMs: performance.now() - t0 };
}

function printSpawn(r: { useraddMs: number[]; single: Record<string, number[]>; batches: Record<string, Batch>; rounds: Record<string, Batch[]> }) {
  console.log(`\n== Account creation (useradd as the local spawner runs it), ${r.useraddMs.length} accounts, made before any spawn ==`);
  console.log(`median ${fmt(median(r.useraddMs))} ms, max ${fmt(Math.max(...r.useraddMs))} ms, total ${fmt(r.useraddMs.reduce((a, b) => a + b, 0))} ms`);
  console.log(`\n== Spawn to ready, default profile (JupyterLab): API POST → ready vs exec → api/status 200 by hand ==`);
  console.log(`(N at once: ${ROUNDS} round(s), order alternating; median/p90/max over all spawns, "all ready" the median over rounds)`);
  const rows = Object.entries(r.batches).map(([side, b]) => [`${N} at once, ${side}`, fmt(median(b.each)), fmt(percentile(b.each, 0.9)),
    fmt(Math.max(...b.each)), fmt(b.allMs)]);
  const single = Object.entries(r.single).map(([side, ms]) => [`1 alone ×${ms.length}, ${side}`, fmt(median(ms)), fmt(percentile(ms, 0.9)),
    fmt(Math.max(...ms)), '']);
  console.log(table(['case', 'median ms', 'p90 ms', 'max ms', 'all ready ms'], [...single, ...rows]));
  const g = r.batches.gateway, h = r.batches['by hand'];
  const pairs = r.single.gateway.map((ms, i) => ms - r.single['by hand'][i]);
  console.log(`1 alone, gateway − by hand per pair (ms): ${pairs.map((d) => fmt(d)).join(', ')}; median ${fmt(median(pairs))}`);
  console.log(`gateway ÷ by hand: 1 alone ${fmt(median(r.single.gateway) / median(r.single['by hand']), 2)}, ${N} at once median ${fmt(median(g.each) / median(h.each), 2)}, ` +
    `all ready ${fmt(g.allMs / h.allMs, 2)}`);
  // Each round's own pair: this machine's speed drifts within minutes, and one round can decide a median of two.
  const perRound = r.rounds.gateway.map((gb, i) => `${fmt(gb.allMs)} ÷ ${fmt(r.rounds['by hand'][i].allMs)} = ${fmt(gb.allMs / r.rounds['by hand'][i].allMs, 2)}`);
  console.log(`${N} at once, all ready per round, gateway ÷ by hand (ms): ${perRound.join('; ')}`);
}

runMain(async () => {
  const profile = defaultProfile();
  const exe = profile.command[0].replace('{envs}', ENVS);
  if (!existsSync(exe)) throw new Error(`${exe} is missing: the default profile's environment is not installed (scripts/start installs it)`);
  const dir = makeTmpDir('kicloud-bench-spawn-');
  const homes = path.join(dir, 'homes');
  console.log(`bench/spawn: ${N} at once × ${ROUNDS} round(s), ${R} browser run(s); logs in ${dir}`);

  // Accounts first, timed: g* spawn through the gateway, h* by hand, b* log in through the browser; gRNN and hRNN
  // are user NN of round R, g0a/h0a, g0b/h0b, … the pairs started alone, w00 an untimed warm-up (disk cache),
  // h00 the server the browser runs load straight.
  const batchUsers = (side: string, r: number) => Array.from({ length: N }, (_, i) => `${side}${r + 1}${pad(i + 1)}`);
  const singles = Array.from({ length: SINGLES }, (_, i) => [singleUser('g', i), singleUser('h', i)]).flat();
  const names = ['w00', 'h00', ...singles, ...Array.from({ length: ROUNDS }, (_, r) => [...batchUsers('g', r), ...batchUsers('h', r)]).flat(),
    ...(opt['skip-browser'] ? [] : Array.from({ length: R }, (_, i) => [`b${pad(i + 1)}`, `f${pad(i + 1)}`]).flat())];
  for (const n of names) if (lookupAccount(`kb-${n}`)) throw new Error(`account kb-${n} exists (left over from an earlier run?): userdel -r kb-${n}`);
  const useraddMs = names.map((n) => createAccount(`kb-${n}`, path.join(homes, `kb-${n}`)));
  const acc = (n: string) => lookupAccount(`kb-${n}`)!;

  const port = await freePort();
  const config = path.join(dir, 'gateway.yaml');
  writeGatewayConfig(config, { port, dataDir: path.join(dir, 'data'), homeRoot: homes, profiles: [profile], extra: `envs_dir: ${ENVS}\n` });
  const gw = await startGateway({ dir, config, dataDir: path.join(dir, 'data'), port });
  const gwUsers = names.filter((n) => /^[gb]/.test(n));
  onCleanup(async () => { await Promise.all(gwUsers.map((u) => stopServer(gw, u).catch(() => {}))); });
  for (const u of gwUsers) await api(gw, 'POST', `/users/${u}`, { password: `${u}-password` });

  // Warm-up, 1 alone, then N at once, by hand and through the gateway, the order alternating per round.
  const w0 = launchByHand(profile, acc('w00'), 'w00', await freePort(), dir);
  await w0.ready;
  await stop(w0.proc);
  const single: Record<'by hand' | 'gateway', number[]> = { 'by hand': [], gateway: [] };
  for (let i = 0; i < SINGLES; i++) {
    for (const side of (i % 2 ? ['gateway', 'by hand'] : ['by hand', 'gateway']) as (keyof typeof single)[]) {
      await sleep(1000);
      if (side === 'by hand') {
        const h = launchByHand(profile, acc(singleUser('h', i)), singleUser('h', i), await freePort(), dir);
        single[side].push(await h.ready);
        await stop(h.proc);
      } else {
        single[side].push(await startServer(gw, singleUser('g', i), {}, 600_000));
        await stopServer(gw, singleUser('g', i));
      }
    }
  }
  process.stderr.write('1 alone: done\n');
  // Next to the starts alone that the budget uses, before the batches: one run measured after the batches had
  // its first spawns 1 s slower than the starts by hand that followed them, which nothing later reproduced.
  let browser;
  if (!opt['skip-browser']) {
    await sleep(3000);
    const byHand = async (u: string) => {
      const server = launchByHand(profile, acc(u), u, await freePort(), dir);
      await server.ready;
      return { url: `http://127.0.0.1:${server.port}${server.baseUrl}lab?token=${server.token}`, stop: () => stop(server.proc) };
    };
    browser = await browserRuns({
      gw, users: gwUsers.filter((u) => u.startsWith('b')), password: (u) => `${u}-password`,
      directServer: () => byHand('h00'), freshServer: (i) => byHand(`f${pad(i + 1)}`),
    });
  }
  if (browser) process.stderr.write('browser: done\n');
  const rounds: Record<'by hand' | 'gateway', Batch[]> = { 'by hand': [], gateway: [] };
  const sides = {
    'by hand': async (r: number) => {
      const users = batchUsers('h', r);
      const hand = await handBatch(profile, users.map(acc), users, dir);
      await Promise.all(hand.procs.map((p) => stop(p)));
      return hand.batch;
    },
    gateway: async (r: number) => {
      const users = batchUsers('g', r);
      const batch = await gatewayBatch(gw, users);
      await Promise.all(users.map((u) => stopServer(gw, u)));
      return batch;
    },
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of (r % 2 ? ['gateway', 'by hand'] : ['by hand', 'gateway']) as (keyof typeof sides)[]) {
      await sleep(3000);
      rounds[side].push(await sides[side](r));
      process.stderr.write(`round ${r + 1}: ${N} at once ${side}: done\n`);
    }
  }
  const merge = (bs: Batch[]): Batch => ({ each: bs.flatMap((b) => b.each), allMs: median(bs.map((b) => b.allMs)) });
  const spawnResult = { useraddMs, single, batches: { 'by hand': merge(rounds['by hand']), gateway: merge(rounds.gateway) }, rounds };

  printSpawn(spawnResult);
  if (browser) {
    printBrowser(browser);
    // READINGS #1: login → JupyterLab page (first spawn) ≤ bare start + the same page from a running server + 0.3 s.
    // Also against the first page of a just-started server (a first spawn always pays it), and against a start
    // by hand followed at once by its first page, timed in one go in the same settled browser.
    const bare = median(spawnResult.single['by hand']), measured = median(browser[FIRST_SPAWN].loadMs);
    const budgets: [string, number][] = [
      [`${fmt(bare)} (bare start) + ${fmt(median(browser[RUNNING_PAGE].loadMs))} (page from a running server)`, bare + median(browser[RUNNING_PAGE].loadMs)],
      [`${fmt(bare)} (bare start) + ${fmt(median(browser[FIRST_PAGE].loadMs))} (first page of a fresh server)`, bare + median(browser[FIRST_PAGE].loadMs)],
      [`${fmt(median(browser[BARE_START_THEN_PAGE].loadMs))} (start by hand, then its first page, in one go)`, median(browser[BARE_START_THEN_PAGE].loadMs)],
    ];
    const perPair = browser[FIRST_SPAWN].loadMs.map((ms, i) => ms - browser[BARE_START_THEN_PAGE].loadMs[i]);
    console.log(`\nlogin → first spawn → lab, minus start by hand → its first page, per pair (ms): ${perPair.map((d) => fmt(d)).join(', ')}; ` +
      `median ${fmt(median(perPair))} (READINGS #1 allows 300)`);
    console.log(`login → first spawn → lab load event: ${fmt(measured)} ms, against budgets of 300 ms over`);
    for (const [what, ms] of budgets) {
      console.log(`  ${what} + 300 = ${fmt(ms + 300)} ms: ${measured <= ms + 300 ? 'within' : 'OVER'} by ${fmt(Math.abs(ms + 300 - measured))} ms`);
    }
  }
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ users: N, spawn: spawnResult, browser }, null, 1));
});
