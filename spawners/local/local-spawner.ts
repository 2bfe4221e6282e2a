/** @module LocalSpawner: one process group per user server on a free loopback port, run as the user's account
 *  (as root) with an environment built from scratch. Processes outlive the gateway (detached, own session), so
 *  an upgrade never kills a week-long computation; adopt() finds them again by pid + start time. */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpawnError } from '../../src/errors.ts';
import type { ProgressEvent, ServerHandle, ServerKey, ServerStatus, Spawner, StartRequest } from '../spawner.ts';
import type { SpawnerContext } from '../registry.ts';
import { Accounts } from './accounts.ts';
import { freePort } from './ports.ts';
import { watchFile } from './watch-file.ts';
import { listenerUid, processStartTime } from './process-info.ts';

interface LocalState { pid: number; startTime: number; port: number; uid: number; account: string; home: string; log: string }

const keyString = (k: ServerKey) => `${k.user}/${k.server}`;
const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

export class LocalSpawner implements Spawner {
  readonly kind = 'local';
  readonly isolated: boolean;
  readonly #ctx: SpawnerContext;
  readonly #accounts: Accounts;
  readonly #logDir: string;
  readonly #listeners = new Set<(key: ServerKey, status: ServerStatus) => void>();
  readonly #watched = new Map<string, { pid: number; startTime?: number; timer?: NodeJS.Timeout }>();
  readonly #launching = new Map<string, ProgressEvent[]>();
  readonly #exitReasons = new Map<number, string>();   // pid → how our child ended, for messages ("exited with code 3")

  constructor(ctx: SpawnerContext) {
    this.#ctx = ctx;
    this.isolated = process.getuid?.() === 0;
    this.#accounts = new Accounts({
      prefix: ctx.config.local.account_prefix, homeRoot: ctx.config.local.home_root,
      dataDir: ctx.config.dataDir, isolated: this.isolated,
    });
    this.#logDir = path.join(ctx.privateDir, 'logs');
  }

  async start(req: StartRequest): Promise<ServerHandle> {
    const id = keyString(req.key);
    const events: ProgressEvent[] = [];
    this.#launching.set(id, events);
    try {
      const account = await this.#accounts.ensure(req.key.user);
      events.push({ message: `running as account ${account.name}` });
      const port = await freePort();
      const values: Record<string, string> = {
        port: String(port), base_url: req.baseUrl, user: req.key.user, server_name: req.key.server,
        home: account.home, envs: this.#ctx.config.envsDir,
      };
      const fill = (s: string) => s.replace(/\{(port|base_url|user|server_name|home|envs)\}/g, (_, k: string) => values[k]);
      const argv = req.profile.command.map(fill);
      const env: Record<string, string> = {
        PATH: SAFE_PATH, HOME: account.home, USER: account.name, LOGNAME: account.name, SHELL: '/bin/bash',
        LANG: 'C.UTF-8', ...req.env, JUPYTERHUB_SERVICE_URL: `http://127.0.0.1:${port}${req.baseUrl}`,
      };
      for (const [k, v] of Object.entries(req.profile.env)) env[k] = fill(v);
      const log = this.#logFile(req.key);
      await mkdir(path.dirname(log), { recursive: true, mode: 0o700 });
      const fd = openSync(log, 'w', 0o600);
      let child;
      try {
        child = spawn(argv[0], argv.slice(1), {
          cwd: account.home, env, detached: true, stdio: ['ignore', fd, fd],
          ...(this.isolated ? { uid: account.uid, gid: account.gid } : {}),
        });
      } finally {
        closeSync(fd);
      }
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid!));
        child.once('error', (err) => reject(new SpawnError(`cannot run ${argv[0]}: ${err.message}`)));
      });
      child.unref();
      this.#watch(id, { pid });
      child.once('exit', (code, signal) => this.#exited(req.key, pid, code, signal));
      const startTime = await processStartTime(pid);
      const watched = this.#watched.get(id);
      if (watched?.pid === pid && startTime !== null) watched.startTime = startTime;
      const state: LocalState = { pid, startTime: startTime ?? 0, port, uid: account.uid, account: account.name, home: account.home, log };
      events.push({ message: `process ${pid} started, listening on port ${port}` });
      return { key: req.key, url: `http://127.0.0.1:${port}`, state: state as unknown as Record<string, unknown> };
    } finally {
      this.#launching.delete(id);
    }
  }

  async *progress(key: ServerKey): AsyncIterable<ProgressEvent> {
    const events = this.#launching.get(keyString(key));
    if (events) yield* events;
  }

  async poll(handle: ServerHandle): Promise<ServerStatus> {
    const s = handle.state as unknown as LocalState;
    // A child of ours that has not exited yet needs no /proc read (readiness polls this dozens of times a
    // spawn): its 'exit' event unwatches it in the same tick that reaps it, and until then its pid cannot be
    // reused. The start time must match too: a stale handle of an earlier server whose pid the new child got
    // is not running. Adopted servers (watched by a timer) and everything else are checked in /proc.
    const watched = this.#watched.get(keyString(handle.key));
    if (watched && !watched.timer && watched.pid === s.pid && watched.startTime && watched.startTime === s.startTime) return { running: true };
    const start = await processStartTime(s.pid);
    if (start === null) return { running: false, reason: this.#exitReasons.get(s.pid) ?? `process ${s.pid} is gone` };
    if (s.startTime && start !== s.startTime) return { running: false, reason: `pid ${s.pid} now belongs to another process` };
    return { running: true };
  }

  async stop(handle: ServerHandle): Promise<void> {
    const s = handle.state as unknown as LocalState;
    if (!(await this.poll(handle)).running) return;
    const graceMs = this.#ctx.config.local.stop_grace * 1000;
    signalGroup(s.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      if (!(await this.poll(handle)).running) return;
      await sleep(50);
    }
    signalGroup(s.pid, 'SIGKILL');
    for (let i = 0; i < 100 && (await this.poll(handle)).running; i++) await sleep(20);
  }

  async adopt(stored: ServerHandle): Promise<ServerHandle | null> {
    if (!(await this.poll(stored)).running) return null;
    const s = stored.state as unknown as LocalState;
    // Not our child any more: watch /proc for its exit instead of the 'exit' event.
    const id = keyString(stored.key);
    const timer = setInterval(async () => {
      if (!(await this.poll(stored)).running) this.#exited(stored.key, s.pid, null, null);
    }, 1000);
    timer.unref();
    this.#watch(id, { pid: s.pid, timer });
    return stored;
  }

  #watch(id: string, w: { pid: number; timer?: NodeJS.Timeout }): void {
    clearInterval(this.#watched.get(id)?.timer);
    this.#watched.set(id, w);
  }

  // One folder per user: no user name / server name pair can collide with another's file.
  #logFile(k: ServerKey): string {
    return path.join(this.#logDir, k.user, `${k.server || '_default'}.log`);
  }

  async listenerOwner(handle: ServerHandle): Promise<'server' | 'none' | 'other'> {
    const s = handle.state as unknown as LocalState;
    const uid = await listenerUid(s.port);
    return uid === null ? 'none' : uid === s.uid ? 'server' : 'other';
  }

  watchOutput(handle: ServerHandle, onOutput: () => void): () => void {
    return watchFile((handle.state as unknown as LocalState).log, onOutput);
  }

  async logTail(h: ServerHandle | ServerKey, bytes = 4000): Promise<string> {
    const file = 'state' in h ? (h.state as unknown as LocalState).log : this.#logFile(h);
    try {
      const size = (await stat(file)).size;
      const fh = await open(file, 'r');
      try {
        const len = Math.min(bytes, size);
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, size - len);
        return buf.toString('utf8');
      } finally {
        await fh.close();
      }
    } catch {
      return '';
    }
  }

  async removeUser(user: string): Promise<void> {
    const { leftovers } = await this.#accounts.remove(user, path.join(this.#ctx.privateDir, 'deleted'));
    if (leftovers.length) {
      this.#ctx.log.error({ user, leftovers }, "deleted user's temporary files or IPC objects could not all be removed; the next account may get that uid: remove them by hand");
    }
    await rm(path.join(this.#logDir, user), { recursive: true, force: true });
  }

  onStopped(fn: (key: ServerKey, status: ServerStatus) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #exited(key: ServerKey, pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    const id = keyString(key);
    const reason = signal ? `process ${pid} killed by ${signal}` : code === null ? `process ${pid} is gone` : `process ${pid} exited with code ${code}`;
    this.#exitReasons.set(pid, reason);
    if (this.#exitReasons.size > 1000) this.#exitReasons.delete(this.#exitReasons.keys().next().value!);
    const w = this.#watched.get(id);
    if (!w || w.pid !== pid) return;
    clearInterval(w.timer);
    this.#watched.delete(id);
    for (const fn of this.#listeners) fn(key, { running: false, exitCode: code, reason });
  }

  async close(): Promise<void> {
    for (const w of this.#watched.values()) clearInterval(w.timer);
    this.#watched.clear();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
}
