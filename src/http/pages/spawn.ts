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

/** `progressUrl` is followed with EventSource; on ready the page goes to `then` (reload when it is this URL). */
export function pendingPage(opts: { user: string; forUser: string; progressUrl: string; then: string }): string {
  const script = `
const bar = document.getElementById('bar'), msg = document.getElementById('msg'), log = document.getElementById('log');
const es = new EventSource(${JSON.stringify(opts.progressUrl)});
es.onmessage = (m) => {
  const e = JSON.parse(m.data);
  if (typeof e.progress === 'number') bar.value = e.progress;
  if (e.message) { msg.textContent = e.message; log.textContent += e.message + '\\n'; }
  if (e.ready) { es.close(); location.replace(${JSON.stringify(opts.then)}); }
  if (e.failed) {
    es.close();
    document.getElementById('title').textContent = 'Your server could not start';
    msg.className = 'error';
    if (e.log_tail) { const pre = document.getElementById('tail'); pre.hidden = false; pre.textContent = e.log_tail; }
    document.getElementById('retry').hidden = false;
  }
};
es.onerror = () => { if (es.readyState === EventSource.CLOSED) msg.textContent = 'Lost contact with the gateway; reload to try again.'; };`;
  return page('Starting your server', `<div class="card"><h1 id="title">Starting ${esc(opts.forUser)}'s server…</h1>
<progress id="bar" max="100" value="0"></progress><p id="msg" role="status">Waiting for the spawner…</p>
<details><summary>Event log</summary><pre id="log"></pre></details>
<pre id="tail" hidden></pre>
<button id="retry" hidden onclick="location.reload()">Try again</button></div>`, { user: opts.user, script });
}
