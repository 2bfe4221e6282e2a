/** @module Parse the raw request path's `/user/NAME/[REST]` prefix. Routing reads only the raw prefix; the rest
 *  goes to the backend byte for byte (decoding and re-encoding would break Jupyter's file paths, and routing
 *  on a decoded path lets encoding tricks through). Anything odd in the prefix is refused, never guessed. */

export const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,23}$/;
export const SERVER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export type UserPath =
  | { ok: true; user: string; rest: string; query: string }        // rest: after '/user/NAME/', may be ''
  | { ok: false; status: 400; message: string; canonical?: string };

/** `url` is req.url as received (origin-form). Caller has checked it starts with '/user/'. */
export function parseUserPath(url: string): UserPath {
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  const slash = pathname.indexOf('/', 6);
  const user = slash < 0 ? pathname.slice(6) : pathname.slice(6, slash);
  if (!USER_NAME.test(user)) {
    const lower = user.toLowerCase();
    return {
      ok: false, status: 400,
      message: `"${user}" is not a valid user name in the path: names are lower-case letters, digits, '.', '_' and '-'`,
      ...(USER_NAME.test(lower) && slash >= 0 ? { canonical: `/user/${lower}${pathname.slice(slash)}${query}` } : {}),
    };
  }
  if (slash < 0) return { ok: false, status: 400, message: 'missing "/" after the user name', canonical: `/user/${user}/${query}` };
  return { ok: true, user, rest: pathname.slice(slash + 1), query };
}

/** The first segment of `rest` if it could name a server: JupyterHub's rule is that `/user/alice/lab` is the
 *  default server's `lab` unless alice has a named server `lab`. */
export function firstSegment(rest: string): string | null {
  const slash = rest.indexOf('/');
  const seg = slash < 0 ? rest : rest.slice(0, slash);
  return SERVER_NAME.test(seg) ? seg : null;
}

export const serverPrefix = (user: string, server: string) => (server ? `/user/${user}/${server}/` : `/user/${user}/`);

/** A server in JupyterHub's REST API (POST starts it, DELETE stops it or cancels its spawn). */
export const serverApiPath = (k: { user: string; server: string }) =>
  `/hub/api/users/${k.user}/${k.server ? `servers/${k.server}` : 'server'}`;

/** JupyterHub's progress stream of a server. */
export const progressPath = (k: { user: string; server: string }) => `${serverApiPath(k)}/progress`;

/** How messages name a server: "alice's server", "server alice/gpu". */
export const describeServer = (k: { user: string; server: string }) => (k.server ? `server ${k.user}/${k.server}` : `${k.user}'s server`);
