/** @module Routes from a server key to its running backend: a Map, so lookup cost does not grow with the number
 *  of servers. Each route owns its undici Pool (keep-alive to the backend); removing a route closes it, failing
 *  the requests still in flight with an error the proxy tells apart. undici is loaded after start
 *  (src/undici.ts): `prepare()` before the first `add()`, which stays synchronous so that no stop or exit of
 *  the same server can fall between its check and its effect. */
import type { buildConnector, Pool } from 'undici';
import { loadUndici } from '../undici.ts';
import type { ServerKey } from '../store/store.ts';

export interface Route {
  key: ServerKey;
  id: string;                         // "user/server"
  prefix: string;                     // "/user/alice/" or "/user/alice/gpu/"
  url: string;                        // backend origin
  authorization: string;              // "token …": the server's own token, injected towards the backend
  pool: Pool;
  isOwnListener?: ListenerCheck;
}

export const routeId = (k: ServerKey) => `${k.user}/${k.server}`;

export interface PoolOptions { connectTimeoutMs: number; headersTimeoutMs: number }

/** Checked on every new backend connection: is the listener still the server's own account? */
export type ListenerCheck = () => Promise<boolean>;

/** What a request in flight fails with when its route is removed (the server stopped or exited) or the gateway
 *  closes: undici's own UND_ERR_DESTROYED would not say which. */
export const SERVER_GONE = 'KICLOUD_SERVER_GONE', GATEWAY_CLOSING = 'KICLOUD_GATEWAY_CLOSING';
const failure = (code: string, message: string) => Object.assign(new Error(message), { code });

export class RouteTable {
  readonly #routes = new Map<string, Route>();
  readonly #poolOptions: PoolOptions;
  #undici: typeof import('undici') | undefined;

  constructor(poolOptions: PoolOptions) { this.#poolOptions = poolOptions; }

  get(id: string): Route | undefined { return this.#routes.get(id); }
  get size(): number { return this.#routes.size; }
  all(): IterableIterator<Route> { return this.#routes.values(); }

  /** Loads undici, once: call it before `add()`. */
  async prepare(): Promise<void> { this.#undici ??= await loadUndici(); }

  add(key: ServerKey, prefix: string, url: string, token: string, isOwnListener?: ListenerCheck): Route {
    if (!this.#undici) throw new Error('RouteTable.add before prepare(): undici is not loaded yet');
    const { buildConnector, Pool } = this.#undici;
    this.remove(key);
    const connect = isOwnListener ? verifiedConnector(buildConnector, this.#poolOptions.connectTimeoutMs, isOwnListener) : undefined;
    const pool = new Pool(url, {
      connections: 256, pipelining: 1, keepAliveTimeout: 30_000,
      connectTimeout: this.#poolOptions.connectTimeoutMs, headersTimeout: this.#poolOptions.headersTimeoutMs,
      bodyTimeout: 0,                                      // long polls and streams are fine once headers came
      ...(connect ? { connect } : {}),
    });
    const route: Route = { key, id: routeId(key), prefix, url, authorization: `token ${token}`, pool, isOwnListener };
    this.#routes.set(route.id, route);
    return route;
  }

  remove(key: ServerKey): void {
    const id = routeId(key);
    const route = this.#routes.get(id);
    if (!route) return;
    this.#routes.delete(id);
    void route.pool.destroy(failure(SERVER_GONE, 'the server stopped')).catch(() => {});
  }

  async close(): Promise<void> {
    await Promise.all([...this.#routes.values()].map((r) => r.pool.destroy(failure(GATEWAY_CLOSING, 'the gateway is shutting down')).catch(() => {})));
    this.#routes.clear();
  }
}

// A token goes only to its server: any local account could bind the port after the server died. Each new
// keep-alive connection costs one read of /proc/net/tcp; reused connections cost nothing.
function verifiedConnector(build: typeof buildConnector, timeout: number, isOwnListener: ListenerCheck): buildConnector.connector {
  const plain = build({ timeout });
  return (opts, callback) => {
    plain(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('no socket'), null);
      isOwnListener().then((ok) => {
        if (ok) return callback(null, socket);
        socket.destroy();
        const refused = Object.assign(new Error('listener is not owned by the server account'), { code: 'ECONNREFUSED' });
        callback(refused, null);
      }, (e) => { socket.destroy(); callback(e, null); });
    });
  };
}
