/** @module The hub's HTML: one small layout, escaped interpolation, no template engine (a handful of pages). */
import { can, type Principal } from '../../auth/authenticator.ts';

/** Sent with every hub page: never shown in a frame. A page of a sibling site (same-site, so it gets our Lax
 *  cookie) could otherwise frame, say, the admin page and have an admin click its buttons (JupyterHub sets
 *  frame-ancestors too). */
export const NO_FRAMING = { 'content-security-policy': "frame-ancestors 'none'", 'x-frame-options': 'DENY' } as const;

export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Who the header's links are for; `admin`: they may open the admin page (scope admin-ui). */
export interface Nav { user: string; admin?: boolean }
export const navFor = (p: Principal): Nav => ({ user: p.name, admin: can(p, 'admin-ui') });

/** `wide`: for tables. */
export function page(title: string, body: string, opts: Partial<Nav> & { script?: string; wide?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · KI Cloud</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#0b3d91;color:#fff;padding:.6rem 1.2rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff}
main{max-width:48rem;margin:2rem auto;padding:0 1rem}main.wide{max-width:76rem}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.2rem;margin-bottom:1rem}
label{display:block;margin:.6rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}
button{padding:.5rem 1rem;margin-top:.8rem;cursor:pointer}
pre{background:#f0f0f0;padding:.6rem;overflow:auto;max-height:20rem;font-size:.8rem}
.error{color:#b00020}.ok{color:#116329}.warn{background:#fff4ce;border-color:#e5c07b}
progress{width:100%}
form.inline{display:inline}form.inline button{margin-top:0}form.row{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}form.row input[type=text]{width:16rem}form.row button{margin-top:0}ul.servers{list-style:none;margin:0;padding:0}ul.servers li{margin:.15rem 0}.badge{background:#ddf4ff;border-radius:4px;padding:0 .3rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #d0d7de;vertical-align:top}td button{margin:0}
</style></head><body>
<header><strong>KI Cloud</strong>${opts.user ? `<nav>${esc(opts.user)} · <a href="/hub/home">Home</a>${opts.admin ? ' · <a href="/hub/admin">Admin</a>' : ''} · <a href="/hub/token">Token</a> · <a href="/hub/change-password">Password</a> · <a href="/hub/logout">Log out</a></nav>` : ''}</header>
<main${opts.wide ? ' class="wide"' : ''}>${body}</main>${opts.script ? `<script>${opts.script}</script>` : ''}
</body></html>`;
}

/** Shown to admins when servers cannot run under per-user accounts. */
export const ISOLATION_WARNING = `<div class="card warn"><strong>No isolation:</strong> the gateway is not running as root, so every user's server runs as the gateway's own account and users can read each other's files. Run as root (or set <code>isolation: required</code> to refuse to start like this).</div>`;

/** A timestamp as the pages show it: minutes, UTC, machine-readable in `datetime`. */
export const when = (iso: string | null, none = '') => (iso ? `<time datetime="${esc(iso)}">${esc(iso.slice(0, 16).replace('T', ' '))} UTC</time>` : none);
