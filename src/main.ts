/** @module Composition root: config → data dir → store → auth → spawners → adopt running servers → listen →
 *  culler. Stopping the gateway leaves user servers running; the next start adopts them. */
import { readFileSync } from 'node:fs';
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
  // With TLS, the certificate names the public host, not the loopback address: servers call the hub there.
  const hubApiUrl = config.tls ? new URL('hub/api', config.publicUrl).href
    : `http://${hubHost.includes(':') ? `[${hubHost}]` : hubHost}:${config.listenPort}/hub/api`;
  const orchestrator = new Orchestrator({ config, store, spawners, routes, log, metrics, hubApiUrl, forgetToken: (id) => auth.forgetToken(id) });
  const activity = new ActivityTracker(store, (err) => log.error({ err }, 'writing activity failed; will retry'));

  const recovered = await orchestrator.recover();
  if (recovered.adopted || recovered.lost) log.info(recovered, 'servers recovered from the store');

  const { server, app } = await buildHttpServer({
    config, store, auth, groups, sessions, orchestrator, routes, activity, metrics, log,
    loginLimiter: new RateLimiter(config.auth.login_window * 1000),
    isolated: [...spawners.values()].every((s) => s.isolated),
    version: VERSION,
  });
  const culler = new Culler({ config, store, routes, activity, metrics, log, stop: (k, r) => orchestrator.stop(k, r) });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listenPort, config.listenHost, () => resolve());
  });
  let stopTlsReload = () => {};
  if (config.tls) {
    const { readTlsPair, reloadTlsOnSighup, tlsWarnings } = await import('./http/tls.ts');
    for (const w of tlsWarnings(config.tls, readTlsPair(config.tls))) log.warn(w);
    stopTlsReload = reloadTlsOnSighup(server as import('node:https').Server, config.tls, log);
  }
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
    stopTlsReload();
    server.closeIdleConnections();
    await app.close();
    await orchestrator.close();
    await activity.close();
    await routes.close();
    for (const s of spawners.values()) await s.close();
    await store.close();
  })());
  return { server, port, close, store, orchestrator, culler, activity };
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
