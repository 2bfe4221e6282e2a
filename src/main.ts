/** @module Composition root: config → data dir → store → auth → spawners → adopt running servers → listen →
 *  culler. Stopping the gateway leaves user servers running; the next start adopts them. */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Authenticator } from './auth/authenticator.ts';
import { GroupIndex } from './auth/group-index.ts';
import { hashPassword, randomPassword } from './auth/password.ts';
import { RateLimiter } from './auth/rate-limit.ts';
import { SessionCodec } from './auth/session.ts';
import type { GatewayConfig } from './config/load.ts';
import { ActivityTracker } from './culler/activity.ts';
import { Culler } from './culler/culler.ts';
import { openDataDir } from './data-dir.ts';
import { newUser } from './http/api/users.ts';
import { Metrics } from './http/metrics.ts';
import { buildHttpServer } from './http/server.ts';
import { createLogger, type Logger } from './log.ts';
import { USER_NAME } from './routes/paths.ts';
import { RouteTable } from './routes/route-table.ts';
import { Orchestrator } from './spawn/orchestrator.ts';
import { SqliteStore } from './store/sqlite/sqlite-store.ts';
import { buildSpawners } from '../spawners/registry.ts';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export interface ServeOptions { firstAdmin?: boolean; env?: NodeJS.ProcessEnv; log?: Logger }

export async function serve(config: GatewayConfig, opts: ServeOptions = {}) {
  const env = opts.env ?? process.env;
  const log = opts.log ?? createLogger(config.log_level);
  const isRoot = process.getuid?.() === 0;
  if (config.isolation === 'required' && !isRoot) {
    throw new Error('isolation: required, but the gateway is not running as root, so it cannot run servers under per-user accounts');
  }
  if (!isRoot) log.warn('not running as root: every user server runs as the gateway\'s own account, without isolation between users');

  if (!config.public_url && (config.listenHost === '0.0.0.0' || config.listenHost === '::')) {
    log.warn({ assumed: config.publicUrl.origin }, 'listening on all addresses without public_url: set public_url (KICLOUD_PUBLIC_URL) to the URL users open, or their requests will be refused as cross-site');
  }
  const data = openDataDir(config.dataDir);
  const store = new SqliteStore(data.storeFile);
  await ensureAdmins(store, env, !!opts.firstAdmin, log);

  const sessions = new SessionCodec(data.cookieSecret);
  const auth = new Authenticator(store, sessions, env.KICLOUD_API_TOKEN || undefined);
  const groups = new GroupIndex(store);
  await groups.reload();
  const metrics = new Metrics();
  const routes = new RouteTable({ connectTimeoutMs: config.proxy.connect_timeout * 1000, headersTimeoutMs: config.proxy.response_timeout * 1000 });
  const spawners = await buildSpawners({ config, log, privateDir: data.private });
  const hubHost = config.listenHost === '0.0.0.0' || config.listenHost === '::' ? '127.0.0.1' : config.listenHost;
  // With TLS, servers call the hub API on a plain-HTTP loopback listener of its own, as JupyterHub's hub_bind_url:
  // their from-scratch environments need not trust the certificate, nor reach the public name from inside.
  const apiHost = config.tls ? config.hubApi.host : hubHost;
  const hubApiUrl = `http://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${config.tls ? config.hubApi.port : config.listenPort}/hub/api`;
  const tlsPair = config.tls ? (await import('./http/tls.ts')).readTlsPair(config.tls) : undefined;
  // Bound before anything else starts: a port it may not bind (80 without root) fails the start at once.
  const redirectServer = config.tls?.redirectFrom
    ? await (await import('./http/https-redirect.ts')).listenHttpsRedirect(config.tls.redirectFrom, config.publicUrl, log) : undefined;
  const orchestrator = new Orchestrator({ config, store, spawners, routes, log, metrics, hubApiUrl, forgetToken: (id) => auth.forgetToken(id) });
  const activity = new ActivityTracker(store, (err) => log.error({ err }, 'writing activity failed; will retry'));

  const recovered = await orchestrator.recover();
  if (recovered.adopted || recovered.lost) log.info(recovered, 'servers recovered from the store');

  const { server, app, hubOnly } = await buildHttpServer({
    config, store, auth, groups, sessions, orchestrator, routes, activity, metrics, log,
    loginLimiter: new RateLimiter(config.auth.login_window * 1000),
    isolated: [...spawners.values()].every((s) => s.isolated),
    version: VERSION,
  }, tlsPair);
  const culler = new Culler({ config, store, routes, activity, metrics, log, stop: (k, r) => orchestrator.stop(k, r) });
  // `kicloud user passwd` beside a serving gateway ends sessions in the store: refused here within a second, with
  // the WebSockets they opened, rather than served from the credential cache for 10 s and kept open for ever.
  const stopWatchingStore = store.watchOtherWriters(() => {
    auth.forgetAll();
    groups.reload().catch((err) => log.error({ err }, 'reloading groups after a change by another process failed'));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listenPort, config.listenHost, () => resolve());
  });
  let tls: { reload: () => void; stop: () => void } | undefined;
  let hubApiServer: import('node:http').Server | undefined;
  if (config.tls && tlsPair) {
    const { watchTls } = await import('./http/tls.ts');
    tls = watchTls(server as import('node:https').Server, config.tls, tlsPair, {
      log, publicHost: config.publicUrl.hostname, setExpiry: (s) => metrics.tlsExpiry().set(s),
    });
    hubApiServer = await listenHubApi(config, hubOnly);
  }
  // SIGHUP is a reload (systemd's ExecReload, a certbot hook), with or without TLS: its default action would end
  // the gateway, and systemd counts that as a clean exit, so Restart=on-failure would not bring it back.
  const onSighup = () => (tls ? tls.reload() : log.info('SIGHUP: nothing to reload (no tls configured); the gateway keeps running'));
  process.on('SIGHUP', onSighup);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.listenPort;
  culler.start();
  // undici loads a second after listening, unless a server needed it sooner: the start stays short, and a spawn
  // hours later does not load library files that an upgrade may have replaced on disk by then (src/undici.ts).
  setTimeout(() => void routes.prepare().catch((err) => log.error({ err }, 'loading undici failed; the first spawn will try again')), 1000).unref();
  log.info({ url: config.publicUrl.href, port, isolated: isRoot }, 'gateway listening');

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    culler.stop();
    tls?.stop();
    hubApiServer?.close();
    redirectServer?.close();
    redirectServer?.closeAllConnections();
    server.closeIdleConnections();
    await app.close();
    await orchestrator.close();
    await activity.close();
    await routes.close();
    for (const s of spawners.values()) await s.close();
    stopWatchingStore();
    await store.close();
    process.off('SIGHUP', onSighup);           // last: a SIGHUP while closing must not cut the store's close short
  })());
  return { server, port, close, store, orchestrator, culler, activity };
}

/** The hub API on `hub_api_listen` in plain HTTP, for user servers when the main address speaks TLS. Only
 *  /hub/api/ is served there; everything else is a 404. */
async function listenHubApi(config: GatewayConfig, hubOnly: (req: IncomingMessage, res: ServerResponse) => void) {
  const { createServer } = await import('./http/node-http.ts');
  const api = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    if (req.url === '/hub/api' || req.url!.startsWith('/hub/api/') || req.url!.startsWith('/hub/api?')) return hubOnly(req, res);
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 404, message: 'only the hub API (/hub/api/) is served on hub_api_listen' }));
  });
  await new Promise<void>((resolve, reject) => {
    api.once('error', (err) => reject(new Error(`hub_api_listen ${config.hubApi.host}:${config.hubApi.port}: ${err.message}`)));
    api.listen(config.hubApi.port, config.hubApi.host, () => resolve());
  });
  return api;
}

async function ensureAdmins(store: SqliteStore, env: NodeJS.ProcessEnv, firstAdmin: boolean, log: Logger): Promise<void> {
  const name = env.KICLOUD_ADMIN_USER;
  if (name) {
    if (!USER_NAME.test(name)) throw new Error(`KICLOUD_ADMIN_USER "${name}" is not a valid user name (lower-case letters, digits, . _ -)`);
    if (!(await store.users.get(name))) {
      const pw = env.KICLOUD_ADMIN_PASSWORD;
      if (!pw || pw.length < 8) throw new Error('KICLOUD_ADMIN_PASSWORD must be set (8 characters or more) to create KICLOUD_ADMIN_USER');
      await store.users.add(newUser(name, true, await hashPassword(pw)));
      log.info({ user: name }, 'admin created from KICLOUD_ADMIN_USER');
    }
  }
  if (firstAdmin && (await store.users.count()) === 0) {
    const password = randomPassword();
    await store.users.add(newUser('admin', true, await hashPassword(password)));
    // Printed once, to the terminal of whoever started the gateway; never logged.
    process.stdout.write(`\nFirst admin created. Log in as:\n  user:     admin\n  password: ${password}\n(shown only this once; change it with: kicloud user passwd admin)\n\n`);
  }
}
