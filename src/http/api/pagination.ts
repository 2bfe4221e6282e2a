/** @module JupyterHub 3's list paging: `offset` and `limit` (at most 200), and with `Accept:
 *  application/jupyterhub-pagination+json` the `{items, _pagination}` envelope whose `next.url` is absolute
 *  (jupyterhub-idle-culler requests it as it is). */
import { badRequest } from '../../errors.ts';
import type { HubContext, Reply, Req } from '../context.ts';

const MAX_LIMIT = 200;

function intParam(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export function pageOf(req: Req): { offset: number; limit: number } {
  const q = req.query as { offset?: string; limit?: string };
  return { offset: intParam(q.offset, 'offset', 0), limit: Math.min(intParam(q.limit, 'limit', MAX_LIMIT), MAX_LIMIT) };
}

/** One page of `all`, plain or in the envelope the client asked for; the next URL keeps the request's query. */
export function paginate<T, M>(ctx: HubContext, req: Req, reply: Reply, all: T[], toModel: (x: T) => M) {
  const { offset, limit } = pageOf(req);
  const items = all.slice(offset, offset + limit).map(toModel);
  if (!(req.headers.accept ?? '').includes('application/jupyterhub-pagination+json')) return items;
  reply.type('application/json');
  const total = all.length;
  let next = null;
  if (offset + limit < total) {
    const url = new URL(req.url, ctx.config.publicUrl);
    url.searchParams.delete('offset');
    url.searchParams.delete('limit');
    url.search = `?offset=${offset + limit}&limit=${limit}${url.search ? `&${url.search.slice(1)}` : ''}`;
    next = { offset: offset + limit, limit, url: url.href };
  }
  return { items, _pagination: { offset, limit, total, next } };
}
