/** @module Drive a Jupyter kernel through the gateway: create it with the REST API, execute code over its
 *  WebSocket (Jupyter's JSON message protocol), collect the result. */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { Gateway } from './gateway.ts';

export async function startKernel(gw: Gateway, user: string, token: string, server = ''): Promise<string> {
  const prefix = `/user/${user}/${server ? `${server}/` : ''}`;
  const r = await gw.api('POST', `${prefix}api/kernels`, { body: { name: 'python3' }, token });
  if (r.status !== 201) throw new Error(`kernel start: ${r.status} ${r.text}`);
  return r.body.id;
}

export interface Execution { result: string; stdout: string; ws: WebSocket }

/** Executes code; resolves when the kernel reports idle after it. Keep the socket open with `keepOpen`. */
export function execute(gw: Gateway, user: string, kernelId: string, code: string, headers: Record<string, string>,
  opts: { keepOpen?: boolean; waitFor?: 'idle' | 'busy'; timeoutMs?: number } = {}): Promise<Execution> {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/user/${user}/api/kernels/${kernelId}/channels?session_id=${randomUUID()}`, { headers });
  const msgId = randomUUID();
  let result = '', stdout = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`no answer from kernel within ${opts.timeoutMs ?? 30000} ms`)); }, opts.timeoutMs ?? 30_000);
    ws.on('unexpected-response', (_req, res) => { clearTimeout(timer); reject(new Error(`WebSocket refused: ${res.statusCode}`)); });
    ws.on('error', (err) => { clearTimeout(timer); reject(err); });
    ws.on('open', () => {
      ws.send(JSON.stringify({
        header: { msg_id: msgId, username: user, session: randomUUID(), msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
        parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
        content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      }));
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.msg_type === 'execute_result') result = msg.content.data['text/plain'];
      if (msg.msg_type === 'stream' && msg.content.name === 'stdout') stdout += msg.content.text;
      if (msg.msg_type === 'error') result = `${msg.content.ename}: ${msg.content.evalue}`;
      const state = msg.msg_type === 'status' ? msg.content.execution_state : null;
      if (state && state === (opts.waitFor ?? 'idle')) {
        clearTimeout(timer);
        if (!opts.keepOpen) ws.close();
        resolve({ result, stdout, ws });
      }
    });
  });
}
