/** @module Shared helpers of the benchmarks: child processes that are always stopped, /proc readings, the
 *  gateway's REST API, system accounts the run creates (and only those are deleted), tables. */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { USERADD, USERDEL } from '../spawners/local/accounts.ts';
import { removeFilesOf } from '../spawners/local/shared-temp.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const NODE = process.execPath;
export const KICLOUD = path.join(ROOT, 'bin', 'kicloud');
export const CLK_TCK = 100;                 // USER_HZ: the unit of /proc/PID/stat times on Linux

// ---- cleanup: everything started registers how to stop it; run on exit, error, SIGINT and SIGTERM ----
const cleanups: (() => Promise<void> | void)[] = [];
const live = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;
export const onCleanup = (fn: () => Promise<void> | void) => { cleanups.push(fn); };
export function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    for (const c of live) c.kill('SIGKILL');
    for (const fn of cleanups.reverse()) {
      try { await fn(); } catch (err) { console.error(`cleanup: ${(err as Error).message}`); }
    }
  })());
}
/** Runs main, then cleans up whatever happened; a signal cleans up and exits. */
export function runMain(main: () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { console.error(`\n${sig}: stopping everything…`); void cleanup().then(() => process.exit(130)); });
  }
  main().then(() => cleanup(), async (err) => { console.error(err); await cleanup(); process.exitCode = 1; });
}

export function makeTmpDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dir, 0o755);                  // per-user accounts need to traverse it (homes, logs of servers)
  onCleanup(() => {
    if (process.env.BENCH_KEEP === '1') console.error(`kept ${dir} (BENCH_KEEP=1)`);
    else rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// ---- processes ----
export interface Proc { name: string; child: ChildProcess; pid: number; exited: Promise<void>; log: string; group: boolean; stopped: boolean }

/** Starts a process with output to LOGDIR/NAME.log; it is stopped at cleanup (TERM, then KILL after 5 s).
 *  A detached one is its own process group, and the whole group is signalled. */
export function start(name: string, cmd: string, args: string[], logDir: string, opts: SpawnOptions = {}): Proc {
  const log = path.join(logDir, `${name}.log`);
  const fd = openSync(log, 'a', 0o644);
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], ...opts });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.once('error', () => resolve()); });
  const proc: Proc = { name, child, pid: child.pid ?? -1, exited, log, group: !!opts.detached, stopped: false };
  onCleanup(() => stop(proc));
  return proc;
}

export async function stop(p: Proc, graceMs = 5000): Promise<void> {
  if (p.pid < 0 || p.stopped) return;
  p.stopped = true;
  const kill = (sig: NodeJS.Signals) => { try { p.group ? process.kill(-p.pid, sig) : p.child.kill(sig); } catch { /* gone */ } };
  if (p.child.exitCode === null && p.child.signalCode === null) {
    kill('SIGTERM');
    if (!(await Promise.race([p.exited.then(() => true), sleep(graceMs, false)]))) kill('SIGKILL');
    await Promise.race([p.exited, sleep(2000)]);
  }
  if (p.group) kill('SIGKILL');            // what is left of the group (kernels, helpers)
}

/** Short-lived helpers (load generators): the first thing cleanup kills. */
export function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export const logTail = (p: Proc, bytes = 2000) => { try { return readFileSync(p.log, 'utf8').slice(-bytes); } catch { return ''; } };

/** Pins a command to a CPU with taskset (exec, so the pid stays that of the command). */
export const pinned = (cpu: number, cmd: string, args: string[]): [string, string[]] => ['taskset', ['-c', String(cpu), cmd, ...args]];

// ---- /proc ----
/** Name, parent and utime + stime (clock ticks, all threads) from /proc/PID/stat; throws if the process is gone. */
export function procStat(pid: number): { comm: string; ppid: number; ticks: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
}
/** utime + stime in clock ticks, all threads. */
export const cpuTicks = (pid: number): number => procStat(pid).ticks;
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// ---- HTTP ----
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls URL until it answers 200 (every intervalMs) or throws after timeoutMs. */
export async function waitFor200(url: string, o: { headers?: Record<string, string>; timeoutMs: number; intervalMs?: number; proc?: Proc }): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < o.timeoutMs) {
    if (o.proc && o.proc.child.exitCode !== null) throw new Error(`${o.proc.name} exited:\n${logTail(o.proc)}`);
    try {
      const res = await fetch(url, { headers: o.headers, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - t0;
    } catch { /* not listening yet */ }
    await sleep(o.intervalMs ?? 20);
  }
  throw new Error(`${url} did not answer 200 within ${o.timeoutMs} ms${o.proc ? `:\n${logTail(o.proc)}` : ''}`);
}

// ---- the gateway ----
export interface Gateway { url: string; token: string; proc: Proc; dataDir: string }

export function writeGatewayConfig(file: string, c: { port: number; dataDir: string; homeRoot: string; profiles: unknown[]; extra?: string }): void {
  const yaml = `listen: 127.0.0.1:${c.port}\ndata_dir: ${c.dataDir}\nlog_level: warn\ncull: {timeout: 0, every: 300}\n` +
    `local: {account_prefix: "kb-", home_root: ${JSON.stringify(c.homeRoot)}}\n${c.extra ?? ''}profiles: ${JSON.stringify(c.profiles)}\n`;
  writeFileSync(file, yaml);
  execFileSync(KICLOUD, ['config', 'check', file], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function gatewayEnv(dataDir: string, port: number, token: string): NodeJS.ProcessEnv {
  return { ...process.env, KICLOUD_DATA_DIR: dataDir, KICLOUD_LISTEN: `127.0.0.1:${port}`, KICLOUD_ADMIN_USER: 'admin1',
    KICLOUD_ADMIN_PASSWORD: 'adminpass1', KICLOUD_API_TOKEN: token };
}

export async function startGateway(o: { dir: string; config: string; dataDir: string; port: number; cpu?: number; name?: string }): Promise<Gateway> {
  const token = randomToken();
  const [cmd, args] = o.cpu === undefined ? [KICLOUD, ['serve', '--config', o.config]] : pinned(o.cpu, KICLOUD, ['serve', '--config', o.config]);
  const proc = start(o.name ?? 'gateway', cmd, args, o.dir, { env: gatewayEnv(o.dataDir, o.port, token) });
  const url = `http://127.0.0.1:${o.port}`;
  await waitFor200(`${url}/hub/health`, { timeoutMs: 30_000, proc });
  return { url, token, proc, dataDir: o.dataDir };
}

export async function api(gw: Gateway, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.url}/hub/api${p}`, {
    method, headers: { authorization: `token ${gw.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  let json: unknown = text;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (res.status >= 400) throw new Error(`${method} /hub/api${p} → ${res.status} ${text.slice(0, 300)}`);
  return { status: res.status, json };
}

/** POST start (201: ready; 202: pending, then its progress event stream until ready, so no polling load);
 *  returns ms from the POST to ready. */
export async function startServer(gw: Gateway, user: string, body: object = {}, timeoutMs = 300_000): Promise<number> {
  const t0 = performance.now();
  const r = await api(gw, 'POST', `/users/${user}/server`, body);
  if (r.status === 201) return performance.now() - t0;
  const res = await fetch(`${gw.url}/hub/api/users/${user}/server/progress`, {
    headers: { authorization: `token ${gw.token}` }, signal: AbortSignal.timeout(Math.max(1000, Math.round(timeoutMs - (performance.now() - t0)))),
  });
  if (res.status !== 200 || !res.body) throw new Error(`progress of ${user}'s spawn answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`progress of ${user}'s spawn ended before it was ready`);
    buf += value;
    for (let i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) {
      const data = buf.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
      const e = data ? JSON.parse(data.slice(6)) : {};
      if (e.ready) { await reader.cancel(); return performance.now() - t0; }
      if (e.failed) throw new Error(`spawn of ${user} failed: ${e.message}\n${e.log_tail ?? ''}`);
    }
  }
}

export async function stopServer(gw: Gateway, user: string): Promise<void> {
  await api(gw, 'DELETE', `/users/${user}/server`);
  for (let i = 0; i < 300; i++) {
    if (!(await api(gw, 'GET', `/users/${user}`)).json.servers?.['']) return;
    await sleep(100);
  }
}

/** Logs in through the form; returns the Cookie header value. */
export async function login(gw: Gateway, user: string, password: string): Promise<string> {
  const res = await fetch(`${gw.url}/hub/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: user, password }),
  });
  await res.arrayBuffer();
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('kicloud-session='));
  if (!cookie) throw new Error(`login as ${user} answered ${res.status} without a session cookie`);
  return cookie;
}

export const randomToken = () => crypto.randomUUID().replaceAll('-', '');

// ---- system accounts: only those this run creates are deleted ----
export interface Account { name: string; uid: number; gid: number; home: string }

export function lookupAccount(name: string): Account | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
  }
  return null;
}

/** Marks an account as this run's (when it does not exist yet) so cleanup kills its processes and deletes it. */
export function claimAccount(name: string): boolean {
  if (lookupAccount(name)) return false;
  onCleanup(() => deleteAccount(name));
  return true;
}

/** useradd exactly as the gateway's local spawner runs it; returns ms. */
export function createAccount(name: string, home: string): number {
  if (!claimAccount(name)) throw new Error(`account ${name} already exists: left over from another run? (userdel -r ${name})`);
  const t0 = performance.now();
  execFileSync(USERADD, ['--system', '--user-group', '--create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin',
    '--comment', `kicloud bench ${name}`, name]);
  return performance.now() - t0;
}

async function deleteAccount(name: string): Promise<void> {
  const acc = lookupAccount(name);
  if (!acc) return;
  // Servers of this account were started by this run (by hand or by the gateway): stop them by pid.
  for (let i = 0; i < 3; i++) {
    const pids = pidsOfUid(acc.uid);
    if (!pids.length) break;
    for (const pid of pids) { try { process.kill(pid, i ? 'SIGKILL' : 'SIGTERM'); } catch { /* gone */ } }
    await sleep(i ? 500 : 2000);
  }
  // Killed servers leave temp folders (R's, Jupyter's) in /tmp, and the uid goes to the next account made.
  await removeFilesOf(acc.uid, acc.gid).then(({ failed }) => { if (failed.length) throw new Error(`left ${failed.join(', ')}`); })
    .catch((err: Error) => console.error(`temp files of ${name}: ${err.message}`));
  try { execFileSync(USERDEL, ['-r', name], { stdio: ['ignore', 'ignore', 'pipe'] }); } catch (err) {
    console.error(`userdel -r ${name}: ${(err as { stderr?: Buffer }).stderr?.toString().trim()}`);
  }
}

function pidsOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      if (m && Number(m[1]) === uid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

// ---- numbers and tables ----
export const median = (xs: number[]) => percentile(xs, 0.5);
export function percentile(xs: number[], p: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * p, lo = Math.floor(i), hi = Math.ceil(i);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}
export const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** A file and every directory above it readable by other users (a per-user account must run it). */
export function othersCanRead(file: string): boolean {
  let p = path.resolve(file);
  if ((statSync(p).mode & 0o004) === 0) return false;
  while ((p = path.dirname(p)) !== '/') if ((statSync(p).mode & 0o001) === 0) return false;
  return true;
}
