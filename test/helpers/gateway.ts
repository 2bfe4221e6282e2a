/** @module Test harness: runs `bin/kicloud serve` as a child process on a free loopback port with its own data
 *  dir and a per-run account prefix, and cleans up everything it started: the gateway, user servers, and the
 *  accounts and homes it created (only those, by prefix). */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { setTimeout as sleep } from 'node:timers/promises';
// Absolute paths, as the spawner uses: a test runner's PATH may lack /usr/sbin, and then cleanup left accounts behind.
import { USERDEL } from '../../spawners/local/accounts.ts';
const PKILL = '/usr/bin/pkill';
import { removeFilesOf } from '../../spawners/local/shared-temp.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ENVS_DIR = process.env.KICLOUD_ENVS_DIR || (process.getuid?.() === 0 ? '/opt/kicloud/envs' : path.join(process.env.HOME ?? '/tmp', '.local/share/kicloud/envs'));
export const isRoot = process.getuid?.() === 0;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  });
}

/** The JupyterLab profile the gateway ships (config/defaults.yaml), with the environments folder of this run. */
export const JUPYTERLAB_PROFILE = (() => {
  const shipped = (parseYaml(readFileSync(path.join(ROOT, 'config/defaults.yaml'), 'utf8')) as { profiles: ShippedProfile[] })
    .profiles.find((p) => p.name === 'jupyterlab')!;
  const withEnvs = (s: string) => s.replaceAll('{envs}', ENVS_DIR);
  return { ...shipped, command: shipped.command.map(withEnvs), env: Object.fromEntries(Object.entries(shipped.env).map(([k, v]) => [k, withEnvs(v)])) };
})();
interface ShippedProfile { name: string; display_name: string; command: string[]; env: Record<string, string>; start_timeout: number }

/** A profile running the stand-in user server (test/fixtures/backend.mjs): starts in ~0.1 s, echoes what it got. */
export const ECHO_COMMAND = [process.execPath, path.join(ROOT, 'test/fixtures/backend.mjs'), '{port}', '{base_url}'];
export const echoProfile = (name = 'echo', extra: Record<string, unknown> = {}) => ({
  name, display_name: name, command: ECHO_COMMAND, start_timeout: 10, ...extra,
});

export interface GatewayOptions {
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Prefix the command (e.g. ['setpriv', '--reuid', …]) to run the gateway as another user. */
  wrap?: string[];
  /** Run Node (this one) on src/cli/entry.ts instead of bin/kicloud: for a copy of the code without bin/ and .tools/. */
  node?: string;
  /** Start through bin/kicloud, as an operator does (the default unless `node` is given), or Node on src/cli/entry.ts. */
  cli?: boolean;
  root?: string;
  dataDir?: string;
  prefix?: string;
  /** The config serves TLS: the URL is https:// (the test trusts its certificate itself). */
  https?: boolean;
}

export interface ApiResponse { status: number; headers: Headers; body: any; text: string }

export class Gateway {
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  readonly tmp: string;
  readonly prefix: string;
  readonly adminToken = randomBytes(16).toString('hex');
  readonly configFile: string;
  child!: ChildProcess;
  output = '';
  readonly #opts: GatewayOptions;

  constructor(port: number, tmp: string, opts: GatewayOptions) {
    this.port = port;
    this.url = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`;
    this.tmp = tmp;
    this.dataDir = opts.dataDir ?? path.join(tmp, 'data');
    this.prefix = opts.prefix ?? `kt${randomBytes(2).toString('hex')}-`;
    this.configFile = path.join(tmp, 'kicloud.yaml');
    this.#opts = opts;
    const config = {
      data_dir: this.dataDir,
      envs_dir: ENVS_DIR,
      log_level: 'info',
      cull: { timeout: 0, every: 300 },
      profiles: [JUPYTERLAB_PROFILE],
      ...opts.config,
      // Merged, not replaced: a test that sets stop_grace must not make its accounts outside this run's prefix
      // and homes (they would be left behind, and could collide with an operator's).
      local: { stop_grace: 2, ...(opts.config?.local as object | undefined), account_prefix: this.prefix, home_root: path.join(tmp, 'homes') },
    };
    writeFileSync(this.configFile, JSON.stringify(config, null, 2));   // JSON is YAML
  }

  static async start(opts: GatewayOptions = {}): Promise<Gateway> {
    const tmp = mkdtempSync('/tmp/kicloud-test-');
    chmodSync(tmp, 0o755);
    mkdirSync(path.join(tmp, 'homes'), { mode: 0o755 });
    const gw = new Gateway(await freePort(), tmp, opts);
    try {
      await gw.launch();
    } catch (err) {
      await gw.cleanup();
      throw err;
    }
    return gw;
  }

  async launch(): Promise<void> {
    const root = this.#opts.root ?? ROOT;
    const node = this.#opts.node ?? process.execPath;
    const cli = this.#opts.cli ?? this.#opts.node === undefined;
    const env = {
      // bin/kicloud falls back to the PATH's node when the checkout has no .tools/node24: this test run's.
      PATH: `${cli ? `${path.dirname(node)}:` : ''}/usr/local/bin:/usr/bin:/bin`, LANG: 'C.UTF-8',
      KICLOUD_LISTEN: `127.0.0.1:${this.port}`, KICLOUD_API_TOKEN: this.adminToken,
      KICLOUD_ADMIN_USER: 'admin', KICLOUD_ADMIN_PASSWORD: 'admin-password-1',
      ...this.#opts.env,
    };
    // tap's process-info hook adds NODE_OPTIONS and _TAPJS_* to every child it sees; `env -i` starts the gateway
    // with exactly this environment, as an operator's service manager would.
    const command = cli ? [path.join(root, 'bin/kicloud')]
      : [node, '--disable-warning=ExperimentalWarning', path.join(root, 'src/cli/entry.ts')];
    const argv = ['/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...(this.#opts.wrap ?? []),
      ...command, 'serve', '--config', this.configFile];
    this.output = '';
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => { this.output += d; });
    this.child.stderr!.on('data', (d) => { this.output += d; });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`gateway exited with ${this.child.exitCode}:\n${this.output}`);
      try {
        const r = await fetch(`${this.url}/hub/health`);
        if (r.status === 200) return;
      } catch { /* not yet */ }
      await sleep(25);
    }
    throw new Error(`gateway did not answer /hub/health within 15 s:\n${this.output}`);
  }

  /** SIGKILL the gateway (user servers keep running) and wait for it to be gone. */
  async kill9(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }

  async stopGateway(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await gone;
  }

  async api(method: string, p: string, opts: { body?: unknown; token?: string | null; headers?: Record<string, string>; raw?: string } = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? this.adminToken : opts.token;
    if (token) headers.authorization = `token ${token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) { body = JSON.stringify(opts.body); headers['content-type'] = 'application/json'; }
    if (opts.raw !== undefined) headers['content-type'] ??= 'application/json';
    const r = await fetch(`${this.url}${p}`, { method, headers, body, redirect: 'manual' });
    const text = await r.text();
    let parsed: unknown = undefined;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, headers: r.headers, body: parsed, text };
  }

  /** A raw request: path and Host go on the wire exactly as written (fetch would normalise both). */
  raw(method: string, p: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: this.port, method, path: p, headers }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async addUser(name: string, password = `${name}-password-1`, admin = false): Promise<void> {
    const r = await this.api('POST', `/hub/api/users/${name}`, { body: { password, admin } });
    if (r.status !== 201) throw new Error(`creating ${name}: ${r.status} ${r.text}`);
  }

  async tokenFor(name: string, scopes?: string[]): Promise<string> {
    const r = await this.api('POST', `/hub/api/users/${name}/tokens`, { body: scopes ? { scopes } : {} });
    if (r.status !== 201) throw new Error(`token for ${name}: ${r.status} ${r.text}`);
    return r.body.token;
  }

  /** Logs in like a browser's form post; returns the session cookie ("kicloud-session=…"). */
  async login(name: string, password = `${name}-password-1`): Promise<string> {
    const r = await fetch(`${this.url}/hub/login`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.url },
      body: new URLSearchParams({ username: name, password }),
    });
    const cookie = r.headers.get('set-cookie');
    if (r.status !== 302 || !cookie) throw new Error(`login ${name}: ${r.status}`);
    return cookie.split(';')[0];
  }

  async waitReady(user: string, server = '', timeoutMs = 60_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await this.api('GET', `/hub/api/users/${user}`);
      const s = r.body?.servers?.[server];
      if (s?.ready) return s;
      await sleep(100);
    }
    throw new Error(`${user}/${server} not ready within ${timeoutMs} ms:\n${this.output.slice(-3000)}`);
  }

  /** pid recorded for a running server (from the API's admin view). */
  async serverPid(user: string, server = ''): Promise<number> {
    const r = await this.api('GET', `/hub/api/users/${user}`);
    return r.body.servers[server].state.pid;
  }

  account(user: string): string { return `${this.prefix}${user}`; }

  /** Stops everything this gateway started, and removes the accounts it created. */
  async cleanup(): Promise<void> {
    await this.kill9().catch(() => {});
    const users = this.createdAccounts();
    for (const account of users) {
      try { execFileSync(PKILL, ['-KILL', '-u', account], { stdio: 'ignore' }); } catch { /* none */ }
    }
    await sleep(100);
    for (const account of users) await removeAccount(account);
    killServersOf(this.dataDir);
    rmSync(this.tmp, { recursive: true, force: true });
  }

  createdAccounts(): string[] {
    if (!isRoot) return [];
    return accountNames().filter((n) => n.startsWith(this.prefix));
  }
}

// Non-root runs: servers run as us; find them by their log file in this data dir.
function killServersOf(dataDir: string): void {
  try {
    const out = execFileSync('pgrep', ['-f', '--', `--ServerApp.root_dir=${dataDir}`], { encoding: 'utf8' });
    for (const pid of out.split('\n').filter(Boolean)) { try { process.kill(-Number(pid), 'SIGKILL'); } catch { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } } }
  } catch { /* none */ }
}

/** A gateway where alice's default server is the stand-in echo server, running; with her API token and session
 *  cookie. The caller registers gw.cleanup() as teardown. */
export async function gatewayWithAliceOnEcho(config: Record<string, unknown>): Promise<{ gw: Gateway; token: string; cookie: string }> {
  const gw = await Gateway.start({ config: { profiles: [echoProfile()], ...config } });
  try {
    await gw.addUser('alice');
    const start = await gw.api('POST', '/hub/api/users/alice/server');
    if (start.status !== 201) throw new Error(`echo server did not start: ${start.status} ${start.text}`);
    return { gw, token: await gw.tokenFor('alice'), cookie: await gw.login('alice') };
  } catch (err) {
    await gw.cleanup();
    throw err;
  }
}

/** userdel can fail for a moment (its passwd/group lock held by another useradd, a process still exiting):
 *  retry, and say so if the account stays, rather than leave it behind unnoticed. */
async function removeAccount(account: string): Promise<void> {
  const ids = accountIds(account);
  // The gateway removes these when a user is deleted; a test's servers are killed instead, mid-start (R and
  // Jupyter leave their temp folders when killed), and their uids go to the next run's accounts.
  if (ids) {
    try { execFileSync(PKILL, ['-KILL', '-u', account], { stdio: 'ignore' }); } catch { /* none left */ }
    await sleep(50);
    await removeFilesOf(ids.uid, ids.gid).then(({ failed }) => { if (failed.length) throw new Error(`left ${failed.join(', ')}`); })
      .catch((err: Error) => process.stderr.write(`test cleanup: temp files of ${account}: ${err.message}\n`));
  }
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      execFileSync(USERDEL, ['-r', '-f', account], { stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch (err) {
      if (!accountNames().includes(account)) return;
      last = String((err as { stderr?: Buffer }).stderr ?? err).trim();
      try { execFileSync(PKILL, ['-KILL', '-u', account], { stdio: 'ignore' }); } catch { /* none left */ }
      await sleep(200);
    }
  }
  process.stderr.write(`test cleanup: could not remove account ${account}: ${last}\n`);
}

const accountNames = () => readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0]!);
/** The uid and primary gid of a system account, or null when there is none. */
function accountIds(account: string): { uid: number; gid: number } | null {
  const f = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${account}:`))?.split(':');
  return f ? { uid: Number(f[2]), gid: Number(f[3]) } : null;
}
export const accountUid = (account: string): number | null => accountIds(account)?.uid ?? null;
