/** @module Start, stop and follow servers: /hub/api/users/NAME/server and /servers/SERVER (POST, DELETE) and
 *  their /progress event streams. Status codes as JupyterHub 3 (apihandlers/users.py): a start waits up to
 *  slow_spawn_timeout and answers 201 if ready by then, else 202; POST while pending → 202, while running or
 *  stopping → 400; DELETE → 204 when stopped, 202 while the stop is under way. */
import type { FastifyInstance } from 'fastify';
import { badRequest, GatewayError, notFound } from '../../errors.ts';
import { describeServer, SERVER_NAME, serverPrefix } from '../../routes/paths.ts';
import type { ServerKey } from '../../store/store.ts';
import type { HubContext, Reply, Req } from '../context.ts';
import { findUser, principalOf, requireScope } from './guard.ts';

const SLOW_STOP_MS = 10_000;

export async function serversApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const keyOf = async (req: Req): Promise<ServerKey> => {
    const { name, server = '' } = req.params as { name: string; server?: string };
    if (server && !SERVER_NAME.test(server)) throw badRequest(`invalid server name "${server}": lower-case letters, digits, '.', '_', '-'`);
    const u = await findUser(ctx, name);
    return { user: u.name, server };
  };

  const start = async (req: Req, reply: Reply) => {
    const { name } = req.params as { name: string };
    requireScope(req, 'servers', { user: name, server: (req.params as { server?: string }).server ?? '' });
    const key = await keyOf(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('body must be a JSON object of user options');
    if (key.server) await ctx.orchestrator.ensureNamed(key);
    if (ctx.orchestrator.isSpawning(key)) { reply.code(202); return null; }
    const profile = typeof body.profile === 'string' ? body.profile : undefined;
    const out = await ctx.orchestrator.start(key, { profile, userOptions: body, waitMs: ctx.config.spawn.slow_spawn_timeout * 1000 });
    const last = out.run.progress.last;
    if (last?.failed) throw new GatewayError('SPAWN_FAILED', 500, last.message);
    reply.code(out.ready ? 201 : 202);
    return null;
  };

  const stop = async (req: Req, reply: Reply) => {
    const { name, server = '' } = req.params as { name: string; server?: string };
    requireScope(req, ['delete:servers', 'servers'], { user: name, server });
    const key = await keyOf(req);
    const body = (req.body ?? {}) as { remove?: unknown };
    const rec = await ctx.store.servers.get(key);
    if (key.server && !rec) throw notFound(`${name} has no server named "${key.server}"`);
    // ?pending_only=1 (the pending page's Cancel; not in JupyterHub's API): cancel a spawn, never stop a server,
    // also not one that became ready while the request was on its way.
    const pendingOnly = (req.query as { pending_only?: unknown }).pending_only;
    const reason = `requested by ${principalOf(req).name}`;
    if (pendingOnly !== undefined) {
      if (pendingOnly !== '1' && pendingOnly !== 'true') throw badRequest('pending_only takes 1 or true, once');
      if (!(await ctx.orchestrator.cancelSpawn(key, reason))) {
        throw new GatewayError('NOT_PENDING', 409, `${describeServer(key)} is not starting (anymore): nothing to cancel`);
      }
      reply.code(204);
      return;
    }
    const { stopping, finished } = await stopWithin(ctx, key, reason);
    if (body.remove === true && key.server) {
      await stopping;
      await ctx.orchestrator.removeNamed(key);
      ctx.activity.forget(key);
    }
    reply.code(finished ? 204 : 202);
  };

  const progress = async (req: Req, reply: Reply) => {
    const { name, server = '' } = req.params as { name: string; server?: string };
    requireScope(req, ['read:servers', 'servers'], { user: name, server });
    const key = await keyOf(req);
    const run = ctx.orchestrator.run(key);
    const route = ctx.routes.get(`${key.user}/${key.server}`);
    const prefix = serverPrefix(key.user, key.server);
    if (!run && !route) throw badRequest(`${key.server ? `server ${key.user}/${key.server}` : `${key.user}'s server`} is not running and has no spawn to follow`);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    const send = (e: object) => raw.write(`data: ${JSON.stringify(e)}\n\n`);
    if (route && (!run || run.progress.done)) {
      send({ progress: 100, ready: true, message: 'Server ready', url: prefix });
      return void raw.end();
    }
    const abort = new AbortController();
    raw.on('close', () => abort.abort());
    // Comments keep idle intermediaries from closing the stream during a slow spawn.
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), 15_000).unref();
    try {
      for await (const e of run!.progress.follow(abort.signal)) {
        const { ts: _ts, ...event } = e;
        send(event.failed ? { ...event, log_tail: run!.logTail ?? '' } : event);
      }
    } finally {
      clearInterval(keepAlive);
      raw.end();
    }
  };

  for (const path of ['/hub/api/users/:name/server', '/hub/api/users/:name/servers/:server']) {
    app.post(path, start);
    app.delete(path, stop);
    app.get(`${path}/progress`, progress);
  }
}

/** Starts stopping `key` and waits up to SLOW_STOP_MS for it: `finished` says whether it was done by then
 *  (it goes on either way; `stopping` settles when it is). */
export async function stopWithin(ctx: HubContext, key: ServerKey, reason: string): Promise<{ stopping: Promise<void>; finished: boolean }> {
  const stopping = ctx.orchestrator.stop(key, reason);
  const finished = await Promise.race([stopping.then(() => true), new Promise<boolean>((r) => setTimeout(r, SLOW_STOP_MS, false).unref())]);
  return { stopping, finished };
}
