/** @module The login page. */
import { esc, page } from './layout.ts';

export function loginPage(opts: { next?: string; error?: string; username?: string }): string {
  return page('Log in', `<div class="card"><h1>Log in</h1>
${opts.error ? `<p class="error" role="alert">${esc(opts.error)}</p>` : ''}
<form method="post" action="/hub/login${opts.next ? `?next=${encodeURIComponent(opts.next)}` : ''}">
<label for="username">User name</label><input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" value="${esc(opts.username ?? '')}" required autofocus>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="login_submit">Log in</button>
</form></div>`);
}
