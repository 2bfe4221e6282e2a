/** @module Spawn pages: the profile form, and the pending page that follows the progress stream and then loads
 *  the URL first asked for (served in place, so it costs no redirect). */
import type { Profile } from '../../../config/schema.ts';
import { esc, page } from './layout.ts';

export function profileForm(opts: { user: string; action: string; profiles: readonly Profile[]; forUser: string }): string {
  const options = opts.profiles.map((p, i) => `<label><input type="radio" name="profile" value="${esc(p.name)}"${i === 0 ? ' checked' : ''}>
 <strong>${esc(p.display_name)}</strong> ${esc(p.description)}</label>`).join('\n');
  return page('Start a server', `<div class="card"><h1>Start ${esc(opts.forUser)}'s server</h1>
<form method="post" action="${esc(opts.action)}">${options}<button type="submit">Start</button></form></div>`, { user: opts.user });
}

/** `progressUrl` is followed with EventSource; on ready the page goes to `then` (reload when it is this URL).
 *  Cancel (shown with `cancelUrl`, to viewers who may stop the server) stops the spawn through the REST API
 *  (DELETE from the page's own origin, so the cookie's Origin check passes); "Start again" loads `then`,
 *  which starts the server anew. */
export function pendingPage(opts: { user: string; forUser: string; progressUrl: string; cancelUrl?: string; then: string }): string {
  const script = `
const $ = (id) => document.getElementById(id);
const bar = $('bar'), msg = $('msg'), log = $('log'), cancel = $('cancel'), retry = $('retry');
let cancelling = false;
const es = new EventSource(${js(opts.progressUrl)});
es.onmessage = (m) => {
  const e = JSON.parse(m.data);
  if (typeof e.progress === 'number') bar.value = e.progress;
  if (e.message) { msg.textContent = e.message; log.textContent += e.message + '\\n'; }
  if (e.ready) { es.close(); location.replace(${js(opts.then)}); }
  if (e.failed) {
    es.close();
    if (cancel) cancel.hidden = true;
    retry.hidden = false;
    if (cancelling || /^Spawn cancelled/.test(e.message)) {
      $('title').textContent = 'Start cancelled';
      retry.textContent = 'Start again';
      return;
    }
    $('title').textContent = 'Your server could not start';
    msg.className = 'error';
    if (e.log_tail) { const pre = $('tail'); pre.hidden = false; pre.textContent = e.log_tail; }
  }
};
es.onerror = () => { if (es.readyState === EventSource.CLOSED) msg.textContent = 'Lost contact with the gateway; reload to try again.'; };
if (cancel) cancel.onclick = async () => {
  cancelling = true;
  cancel.disabled = true;
  msg.textContent = 'Cancelling…';
  // pending_only: if the server became ready meanwhile, it stays up (409) and the ready event opens it.
  const r = await fetch(${js(`${opts.cancelUrl}?pending_only=1`)}, { method: 'DELETE' }).catch(() => null);
  if (r && r.status < 400) return;              // the stream's last event says the rest
  cancelling = false;
  cancel.disabled = false;
  const body = r ? await r.json().catch(() => ({})) : {};
  msg.textContent = 'Could not cancel: ' + (body.message || (r ? 'HTTP ' + r.status : 'no answer from the gateway'));
};
retry.onclick = () => location.replace(${js(opts.then)});`;
  return page('Starting your server', `<div class="card"><h1 id="title">Starting ${esc(opts.forUser)}'s server…</h1>
<progress id="bar" max="100" value="0"></progress><p id="msg" role="status">Waiting for the spawner…</p>
<details><summary>Event log</summary><pre id="log"></pre></details>
<pre id="tail" hidden></pre>
${opts.cancelUrl ? '<button id="cancel" type="button">Cancel</button>' : ''}
<button id="retry" type="button" hidden>Try again</button></div>`, { user: opts.user, script });
}

/** A string as a JavaScript literal inside an inline <script>: `<` escaped, so no value can close the element. */
const js = (v: string) => JSON.stringify(v).replace(/</g, '\\u003c');
