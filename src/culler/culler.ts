/** @module Idle culling, built in. A server's activity is the latest of: proxied HTTP and WebSocket data frames
 *  (ActivityTracker), and the server's own `api/status` last_activity; a busy kernel (`execution_state` in
 *  `api/kernels`) counts as activity now, so a long computation in a closed tab is not culled
 *  (jupyterhub-idle-culler#55), but with `max_busy` only for that long after the last request or message
 *  through the gateway: a forgotten endless loop must not hold a node for ever. `max_age` stops servers older
 *  than it, busy or not. */
import type { GatewayConfig } from '../config/load.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Route, RouteTable } from '../routes/route-table.ts';
import type { ServerKey, Store } from '../store/store.ts';
import type { ActivityTracker } from './activity.ts';

export interface CullDeps {
  config: GatewayConfig; store: Store; routes: RouteTable; activity: ActivityTracker; metrics: Metrics; log: Logger;
  stop(key: ServerKey, reason: string): Promise<void>;
}

export class Culler {
  readonly #d: CullDeps;
  #timer?: NodeJS.Timeout;
  #running = false;
  // Traffic before this gateway started is not known: a server adopted busy gets max_busy from here.
  readonly #since = Date.now();

  constructor(deps: CullDeps) { this.#d = deps; }

  start(): void {
    const { timeout, max_age, every } = this.#d.config.cull;
    if (!timeout && !max_age) return;
    this.#timer = setInterval(() => this.runOnce().catch((err) => this.#d.log.error({ err }, 'culler pass failed')), every * 1000);
    this.#timer.unref();
  }

  /** One pass; returns the servers it stopped. */
  async runOnce(now = Date.now()): Promise<ServerKey[]> {
    if (this.#running) return [];
    this.#running = true;
    const culled: ServerKey[] = [];
    try {
      const { timeout, max_age, max_busy } = this.#d.config.cull;
      for (const route of [...this.#d.routes.all()]) {
        const rec = await this.#d.store.servers.get(route.key);
        if (!rec || rec.state !== 'running') continue;
        const started = rec.started ? Date.parse(rec.started) : now;
        if (max_age && now - started > max_age * 1000) {
          await this.#cull(route.key, 'max_age', `running for more than ${max_age} s`);
          culled.push(route.key);
          continue;
        }
        if (!timeout) continue;
        const own = await serverActivity(route).catch(() => ({ last: 0, busy: false }));
        if (own.busy) {
          const traffic = Math.max(this.#d.activity.lastTraffic(route.key), started, this.#since);
          if (max_busy && now - traffic > max_busy * 1000) {
            await this.#cull(route.key, 'max_busy', `busy with no request or message for ${Math.round((now - traffic) / 1000)} s (max_busy ${max_busy} s)`);
            culled.push(route.key);
          } else {
            this.#d.activity.keepAlive(route.id);
          }
          continue;
        }
        const last = Math.max(this.#d.activity.latest(route.key), rec.lastActivity ? Date.parse(rec.lastActivity) : 0, own.last, started);
        if (now - last > timeout * 1000) {
          await this.#cull(route.key, 'idle', `idle for ${Math.round((now - last) / 1000)} s (timeout ${timeout} s)`);
          culled.push(route.key);
        }
      }
    } finally {
      this.#running = false;
    }
    return culled;
  }

  async #cull(key: ServerKey, reason: 'idle' | 'max_age' | 'max_busy', detail: string): Promise<void> {
    this.#d.log.info({ user: key.user, server: key.server, reason, detail }, 'culling server');
    this.#d.metrics.culls.labels(reason).inc();
    await this.#d.stop(key, `culled: ${detail}`);
  }

  stop(): void { clearInterval(this.#timer); }
}

/** What the Jupyter server says about itself; non-Jupyter apps answer 404 and count as never active here. */
async function serverActivity(route: Route): Promise<{ last: number; busy: boolean }> {
  const headers = { authorization: route.authorization };
  const get = async (path: string) => {
    const res = await route.pool.request({ path: `${route.prefix}${path}?no_track_activity=1`, method: 'GET', headers, headersTimeout: 5000, bodyTimeout: 5000 });
    if (res.statusCode !== 200) { await res.body.dump(); return null; }
    return res.body.json();
  };
  const status = (await get('api/status')) as { last_activity?: string } | null;
  const kernels = (await get('api/kernels')) as { execution_state?: string; last_activity?: string }[] | null;
  const busy = Array.isArray(kernels) && kernels.some((k) => k.execution_state === 'busy');
  const last = status?.last_activity ? Date.parse(status.last_activity) : 0;
  return { last: Number.isFinite(last) ? last : 0, busy };
}
