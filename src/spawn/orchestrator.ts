/** @module The server lifecycle: stopped → pending → running → stopping → stopped, with one spawn in flight per
 *  server (simultaneous requests share it), readiness, routes, the server's token, progress, and adoption of
 *  running servers after a gateway restart. Backend-agnostic: it speaks only the Spawner interface. */
import type { Profile } from '../../config/schema.ts';
import type { ServerHandle, Spawner } from '../../spawners/spawner.ts';
import type { GatewayConfig } from '../config/load.ts';
import { badRequest, GatewayError, SpawnError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { describeServer as describe, serverPrefix } from '../routes/paths.ts';
import { routeId, type RouteTable } from '../routes/route-table.ts';
import type { ServerKey, ServerRecord, Store } from '../store/store.ts';
import { hashToken } from '../auth/tokens.ts';
import { mintServerToken } from './server-token.ts';
import type { Metrics } from '../http/metrics.ts';
import { singleUserEnv } from './env.ts';
import { SpawnProgress } from './progress.ts';
import { SpawnSlots } from './spawn-slots.ts';
import { waitUntilReady } from './readiness.ts';

const LISTENER_RECHECK_MS = 2000;

interface Run { progress: SpawnProgress; abort: AbortController; done: Promise<void>; profile: string; logTail?: string }

export interface StartOutcome { ready: boolean; run: Run }

export class Orchestrator {
  readonly #config: GatewayConfig;
  readonly #store: Store;
  readonly #spawners: Map<string, Spawner>;
  readonly #routes: RouteTable;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #hubApiUrl: string;
  readonly #runs = new Map<string, Run>();          // the latest spawn per server, kept after it ends
  readonly #slots: SpawnSlots;
  readonly #stopping = new Map<string, Promise<void>>();
  readonly #named = new Set<string>();               // "user/server" of every named server, for path routing

  readonly #forgetToken: (id: string) => void;

  constructor(o: { config: GatewayConfig; store: Store; spawners: Map<string, Spawner>; routes: RouteTable; log: Logger; metrics: Metrics;
    hubApiUrl: string; forgetToken?: (id: string) => void }) {
    this.#forgetToken = o.forgetToken ?? (() => {});
    this.#config = o.config;
    this.#store = o.store;
    this.#spawners = o.spawners;
    this.#routes = o.routes;
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.#hubApiUrl = o.hubApiUrl;
    this.#slots = new SpawnSlots(o.config.spawn.concurrent_spawn_limit);
    for (const sp of this.#spawners.values()) {
      sp.onStopped((key, status) => {
        this.#exited(key, status.running ? '' : status.reason).catch((err) => this.#log.error({ err, ...key }, 'recording an exit failed'));
      });
    }
  }

  profiles(): readonly Profile[] { return this.#config.profiles; }
  profile(name: string): Profile | undefined { return this.#config.profiles.find((p) => p.name === name); }
  run(key: ServerKey): Run | undefined { return this.#runs.get(routeId(key)); }
  isSpawning(key: ServerKey): boolean { const r = this.#runs.get(routeId(key)); return !!r && !r.progress.done; }
  isStopping(key: ServerKey): boolean { return this.#stopping.has(routeId(key)); }
  /** Running, starting or stopping: a server that holds (or is about to hold) resources. */
  isActive(rec: ServerRecord): boolean { return rec.state !== 'stopped' || this.isSpawning(rec); }

  #spawnerFor(profile: Profile): Spawner {
    const sp = this.#spawners.get(profile.spawner);
    if (!sp) throw new GatewayError('NO_SPAWNER', 500, `no spawner "${profile.spawner}" for profile ${profile.name}`);
    return sp;
  }

  /** Is `name` one of user's named servers? (Synchronous: asked on the proxy path.) */
  isNamed(user: string, name: string): boolean { return this.#named.has(`${user}/${name}`); }

  /** Throws the 400 that creating this named server would get (not enabled, over the limit); creates nothing. */
  async checkNamed(key: ServerKey): Promise<void> {
    if (this.#named.has(routeId(key))) return;
    const { enabled, limit } = this.#config.named_servers;
    if (!enabled) throw badRequest('named servers are not enabled on this gateway (named_servers.enabled)');
    const count = (await this.#store.servers.list({ user: key.user })).filter((s) => s.server).length;
    if (limit && count >= limit) throw badRequest(`${key.user} already has ${count} named servers, the limit is ${limit}`);
  }

  /** Creates a named server's record (stopped) if absent, within the configured limits. */
  async ensureNamed(key: ServerKey): Promise<void> {
    if (this.#named.has(routeId(key))) return;
    await this.checkNamed(key);
    const profile = this.#config.profiles[0];
    await this.#store.servers.ensure({ ...key, state: 'stopped', profile: profile.name, url: null, token: '', handle: {}, started: null, lastActivity: null, userOptions: {} });
    this.#named.add(routeId(key));
  }

  async removeNamed(key: ServerKey): Promise<void> {
    await this.stop(key, 'removed');
    await this.#store.servers.remove(key);
    this.#named.delete(routeId(key));
    this.#runs.delete(routeId(key));
  }

  /** After a user's deletion (servers already stopped): forget them here and in every backend, so a user
   *  re-created with the same name inherits nothing, not even files. */
  async forgetUser(user: string): Promise<void> {
    // The backends first: if one fails, the user is kept (users.ts) and must keep routing to its named servers.
    for (const sp of this.#spawners.values()) await sp.removeUser(user);
    for (const id of [...this.#named, ...this.#runs.keys()]) {
      if (id.startsWith(`${user}/`)) { this.#named.delete(id); this.#runs.delete(id); }
    }
  }

  /** Starts a server, or joins the spawn already in flight. Waits up to `waitMs` for readiness. */
  async start(key: ServerKey, opts: { profile?: string; userOptions?: Record<string, unknown>; waitMs?: number } = {}): Promise<StartOutcome> {
    const id = routeId(key);
    const current = this.#runs.get(id);
    if (current && !current.progress.done) return this.#await(current, opts.waitMs);
    if (this.#routes.get(id)) throw badRequest(`${describe(key)} is already running`);
    if (this.#stopping.has(id)) throw badRequest(`${describe(key)} is stopping; try again in a moment`);
    const profile = opts.profile ? this.profile(opts.profile) : this.#config.profiles[0];
    if (!profile) throw badRequest(`no profile named "${opts.profile}"; choose one of ${this.#config.profiles.map((p) => p.name).join(', ')}`);
    const spawner = this.#spawnerFor(profile);

    const { secret, token } = mintServerToken(key);
    await this.#store.servers.ensure({
      ...key, state: 'stopped', profile: profile.name, url: null, token: secret, handle: {}, started: null, lastActivity: null, userOptions: {},
    });
    const claimed = await this.#store.servers.transition(key, ['stopped'], 'pending',
      { profile: profile.name, token: secret, handle: {}, url: null, userOptions: opts.userOptions ?? {} });
    if (!claimed) {
      const rec = await this.#store.servers.get(key);
      throw badRequest(`${describe(key)} is ${rec?.state ?? 'unknown'}`);
    }
    await this.#store.tokens.add(token);
    await this.#store.events.clear(key);

    const progress = new SpawnProgress();
    const abort = new AbortController();
    const run: Run = { progress, abort, done: Promise.resolve(), profile: profile.name };
    this.#runs.set(id, run);
    run.done = this.#spawn(key, profile, spawner, secret, run);
    return this.#await(run, opts.waitMs);
  }

  async #await(run: Run, waitMs = 0): Promise<StartOutcome> {
    if (waitMs > 0) await Promise.race([run.done, new Promise((r) => setTimeout(r, waitMs).unref())]);
    return { ready: !!run.progress.last?.ready, run };
  }

  async #spawn(key: ServerKey, profile: Profile, spawner: Spawner, token: string, run: Run): Promise<void> {
    let t0 = performance.now();
    const prefix = serverPrefix(key.user, key.server);
    const emit = (progress: number, message: string) => {
      const e = run.progress.emit({ progress, message });
      void this.#store.events.append(key, e).catch(() => {});
    };
    const log = this.#log.child({ user: key.user, server: key.server });
    log.info({ profile: profile.name }, 'spawn requested');
    emit(0, `Spawn requested for ${describe(key)} (${profile.display_name})`);
    let handle: ServerHandle | undefined;
    let release: (() => void) | undefined;
    try {
      let waited = false;
      release = await this.#slots.acquire(run.abort.signal, (ahead) => {
        this.#metrics.spawnsWaiting.set(this.#slots.waiting);
        const message = `Waiting to start: ${ahead ? `${ahead} ${ahead === 1 ? 'spawn' : 'spawns'} ahead of yours` : 'yours is next'} ` +
          `(at most ${this.#config.spawn.concurrent_spawn_limit} start at once)`;
        // The first place is stored; later ones replace it in memory only: every move of the line tells every
        // waiting spawn, and a store write each would cost the event loop O(line²) writes.
        if (waited) run.progress.emit({ progress: 0, message }, { replace: true });
        else emit(0, message);
        waited = true;
      });
      run.abort.signal.throwIfAborted();                   // a stop that came with the slot: launch nothing
      if (waited) {
        this.#metrics.spawnsWaiting.set(this.#slots.waiting);
        emit(0, 'Your turn: starting');
        t0 = performance.now();                            // spawn duration without the wait
      }
      handle = await spawner.start({
        key, profile, baseUrl: prefix, signal: run.abort.signal,
        env: singleUserEnv({ key, token, prefix, hubApiUrl: this.#hubApiUrl }),
      });
      for await (const e of spawner.progress(key)) emit(25, e.message);
      await this.#store.servers.transition(key, ['pending'], 'pending', { url: handle.url, handle: handle.state });
      const readyPath = fillReadyPath(profile.ready_path, key, prefix);
      emit(50, `Server launched; waiting for it to answer ${readyPath}`);
      await waitUntilReady(spawner, handle, {
        readyPath, token, timeoutMs: profile.start_timeout * 1000, signal: run.abort.signal,
      });
      await this.#routes.prepare();
      run.abort.signal.throwIfAborted();                   // a cancel while undici loaded: the server must not go live
      const now = new Date().toISOString();
      const ok = await this.#store.servers.transition(key, ['pending'], 'running', { started: now, lastActivity: now });
      if (!ok) throw new SpawnError('the server was stopped while it started');
      this.#addRoute(key, handle, token, spawner);
      const seconds = (performance.now() - t0) / 1000;
      this.#metrics.spawnDone('success', seconds);
      this.#metrics.running.set(this.#routes.size);
      log.info({ ms: Math.round(seconds * 1000), url: handle.url }, 'server ready');
      run.progress.emit({ progress: 100, ready: true, message: `Server ready at ${prefix}`, url: prefix } as never);
    } catch (err) {
      const e = err instanceof GatewayError ? err : new SpawnError((err as Error).message, undefined, { cause: err });
      const logTail = (e.detail?.logTail as string | undefined) ?? (handle ? await spawner.logTail(handle) : '');
      run.logTail = logTail;
      // A stop during the spawn (the user's Cancel, an admin, the API) is not a failure of the spawner. Who
      // stopped it goes to the log only: the event stream is readable by others than the server's owner.
      const cancelled = run.abort.signal.aborted ? String(run.abort.signal.reason ?? 'stop requested') : undefined;
      this.#metrics.spawnDone(cancelled ? 'cancelled' : 'failure', (performance.now() - t0) / 1000);
      if (cancelled) log.info({ reason: cancelled }, 'spawn cancelled');
      else log.warn({ err: e.message }, 'spawn failed');
      const message = cancelled === SHUTTING_DOWN ? `Spawn cancelled: ${SHUTTING_DOWN}` : cancelled ? 'Spawn cancelled' : `Spawn failed: ${e.message}`;
      if (handle) await spawner.stop(handle).catch(() => {});
      await this.#revokeServerToken(token);
      await this.#store.servers.transition(key, ['pending'], 'stopped', { url: null, handle: {}, started: null });
      const ev = run.progress.emit({ progress: 100, failed: true, message });
      void this.#store.events.append(key, ev).catch(() => {});
    } finally {
      release?.();
      this.#metrics.spawnsWaiting.set(this.#slots.waiting);
    }
  }

  #addRoute(key: ServerKey, handle: ServerHandle, token: string, spawner: Spawner): void {
    // Checked on every new backend connection (HTTP keep-alive or WebSocket). While the server process lives it
    // holds its port, so once a scan of the socket table has found the listener to be the server's, a live
    // process is proof enough for LISTENER_RECHECK_MS: a burst of WebSocket connects costs one scan, not one
    // each. The process is checked on every connection all the same: an adopted server's exit is only seen by a
    // 1 s poll, and in that second another account could bind the freed port and be handed the token.
    let verifiedAt = 0;
    let inFlight: Promise<boolean> | null = null;          // concurrent connects share one scan
    this.#routes.add(key, serverPrefix(key.user, key.server), handle.url, token, () => {
      if (Date.now() - verifiedAt < LISTENER_RECHECK_MS) return spawner.poll(handle).then((s) => s.running);
      inFlight ??= spawner.listenerOwner(handle).then((owner) => {
        verifiedAt = owner === 'server' ? Date.now() : 0;
        return owner === 'server';
      }).finally(() => { inFlight = null; });
      return inFlight;
    });
  }

  /** Cancels a spawn under way and nothing else: false, with nothing stopped, when there is none or the server
   *  became ready first (the pending page's Cancel must not stop a server its user is about to open). */
  async cancelSpawn(key: ServerKey, reason: string): Promise<boolean> {
    const run = this.#runs.get(routeId(key));
    if (!run || run.progress.done) return false;
    run.abort.abort(reason);
    await run.done;
    return !run.progress.last?.ready;
  }

  /** Stops a server (or cancels its spawn). Resolves when it is stopped. */
  stop(key: ServerKey, reason = 'requested'): Promise<void> {
    const id = routeId(key);
    let p = this.#stopping.get(id);
    if (p) return p;
    p = this.#stop(key, reason).finally(() => this.#stopping.delete(id));
    this.#stopping.set(id, p);
    return p;
  }

  async #stop(key: ServerKey, reason: string): Promise<void> {
    const run = this.#runs.get(routeId(key));
    if (run && !run.progress.done) { run.abort.abort(reason); await run.done; }
    const rec = await this.#store.servers.get(key);
    if (!rec || rec.state === 'stopped') return;
    if (!(await this.#store.servers.transition(key, ['running', 'pending'], 'stopping'))) return;
    this.#routes.remove(key);
    this.#metrics.running.set(this.#routes.size);
    const spawner = this.#spawnerForRecord(rec);
    if (spawner && rec.url) await spawner.stop(storedHandle(rec)).catch((err) => this.#log.error({ err, ...key }, 'stop failed'));
    await this.#revokeServerToken(rec.token);
    await this.#store.servers.transition(key, ['stopping'], 'stopped', { url: null, handle: {}, started: null });
    this.#log.info({ user: key.user, server: key.server, reason }, 'server stopped');
  }

  /** The backend refused or reset a connection: check now instead of at the next poll. */
  async noticeBackendDown(key: ServerKey): Promise<void> {
    const rec = await this.#store.servers.get(key);
    if (!rec || rec.state !== 'running') return;
    const spawner = this.#spawnerForRecord(rec);
    if (spawner && !(await spawner.poll(storedHandle(rec))).running) await this.#exited(key, 'connection refused and the process is gone');
  }

  async #exited(key: ServerKey, reason: string): Promise<void> {
    if (this.#stopping.has(routeId(key)) || this.isSpawning(key)) return;
    this.#routes.remove(key);                            // first, before any await: no request may follow it
    const rec = await this.#store.servers.get(key);
    if (!rec || rec.state !== 'running') return;
    if (!(await this.#store.servers.transition(key, ['running'], 'stopped', { url: null, handle: {}, started: null }))) return;
    this.#routes.remove(key);
    this.#metrics.running.set(this.#routes.size);
    await this.#revokeServerToken(rec.token);
    this.#log.warn({ user: key.user, server: key.server, reason }, 'server exited on its own');
  }

  /** The record's profile's spawner; if that profile left the config, the first backend (the only one today),
   *  so its process is still adopted or stopped rather than orphaned. */
  #spawnerForRecord(rec: ServerRecord): Spawner | undefined {
    const profile = this.profile(rec.profile);
    return (profile && this.#spawners.get(profile.spawner)) ?? this.#spawners.values().next().value;
  }

  async #revokeServerToken(secret: string): Promise<void> {
    const t = await this.#store.tokens.findByHash(hashToken(secret));
    if (t) {
      await this.#store.tokens.revoke(t.id);
      this.#forgetToken(t.id);
    }
  }

  /** At start-up, before listening: adopt every server the store says is running; a dead one is marked stopped. */
  async recover(): Promise<{ adopted: number; lost: number }> {
    let adopted = 0, lost = 0;
    const records = await this.#store.servers.list();
    if (records.some((r) => r.state !== 'stopped')) await this.#routes.prepare();
    for (const rec of records) {
      if (rec.server) this.#named.add(routeId({ user: rec.user, server: rec.server }));
      if (rec.state === 'stopped') continue;
      const key = { user: rec.user, server: rec.server };
      const spawner = this.#spawnerForRecord(rec);
      const live = spawner && rec.url && rec.state === 'running' ? await spawner.adopt(storedHandle(rec)) : null;
      if (live && spawner && (await spawner.listenerOwner(live)) === 'server') {
        this.#addRoute(key, live, rec.token, spawner);
        adopted++;
        this.#log.info({ user: rec.user, server: rec.server, url: rec.url }, 'server adopted');
        continue;
      }
      // pending/stopping when the gateway died, or gone: make sure nothing is left behind.
      if (spawner && rec.url) await spawner.stop(storedHandle(rec)).catch(() => {});
      await this.#revokeServerToken(rec.token);
      await this.#store.servers.transition(key, [rec.state], 'stopped', { url: null, handle: {}, started: null });
      lost++;
      this.#log.warn({ user: rec.user, server: rec.server, was: rec.state }, 'server not running after restart; marked stopped');
    }
    this.#metrics.running.set(this.#routes.size);
    return { adopted, lost };
  }

  async close(): Promise<void> {
    for (const run of this.#runs.values()) if (!run.progress.done) run.abort.abort(SHUTTING_DOWN);
    await Promise.all([...this.#runs.values()].map((r) => r.done));
  }
}

const SHUTTING_DOWN = 'the gateway is shutting down';

// ready_path may use the placeholders the core knows; {port} and {home} belong to the backend's argv only.
const fillReadyPath = (p: string, k: ServerKey, prefix: string) =>
  p.replaceAll('{base_url}', prefix).replaceAll('{user}', k.user).replaceAll('{server_name}', k.server);
const storedHandle = (rec: ServerRecord): ServerHandle => ({ key: { user: rec.user, server: rec.server }, url: rec.url ?? '', state: rec.handle });
