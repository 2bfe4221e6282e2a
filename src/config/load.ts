/** @module Load the boot configuration: a YAML file (or the shipped defaults), environment overrides, the
 *  schema check, then derived values (public origin, absolute paths, ms durations). Frozen once built. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ENV_OVERRIDES } from '../../config/env-overrides.ts';
import type { Config, Profile } from '../../config/schema.ts';
import { ConfigError, validateConfig } from './validate.ts';

export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('../../config/defaults.yaml', import.meta.url));

export interface GatewayConfig extends Config {
  configFile: string;
  publicUrl: URL;              // origin browsers use; Origin checks and redirects are built on it
  listenHost: string;
  listenPort: number;
  hubApi: { host: string; port: number };   // with tls: where user servers reach the hub API (plain HTTP)
  tls?: { cert: string; key: string; hsts_max_age: number; redirectFrom?: { host: string; port: number } };   // absolute paths
  dataDir: string;             // absolute
  envsDir: string;             // absolute
}

export function loadConfigFile(file: string | undefined, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const configFile = path.resolve(file ?? DEFAULT_CONFIG_FILE);
  let text: string;
  try { text = readFileSync(configFile, 'utf8'); } catch (err) {
    throw new ConfigError([`${configFile}: cannot read the config file (${(err as NodeJS.ErrnoException).code})`]);
  }
  return parseConfig(text, configFile, env);
}

export function parseConfig(text: string, configFile: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      return `${configFile}:${line}:${col} YAML syntax: ${e.message.split('\n')[0]}`;
    }));
  }
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([`${configFile}: expected a mapping at the top level`]);
  const envKeys: Record<string, string> = {};
  for (const [name, key] of Object.entries(ENV_OVERRIDES)) {
    if (env[name] !== undefined && env[name] !== '') { raw[key] = env[name]; envKeys[name] = key; }
  }
  const config = validateConfig(raw, { file: configFile, doc, lines, envKeys });
  return derive(config, configFile);
}

function derive(config: Config, configFile: string): GatewayConfig {
  const problems: string[] = [];
  const hostPort = (key: string, value: string) => {
    const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(value)!;
    if (Number(m[2]) > 65535) throw new ConfigError([`${configFile} ${key}: port ${m[2]} is above 65535`]);
    return { host: m[1], port: Number(m[2]) };
  };
  const { host: listenHost, port: listenPort } = hostPort('listen', config.listen);
  const hubApi = hostPort('hub_api_listen', config.hub_api_listen);
  const redirectFrom = config.tls?.redirect_from === undefined ? undefined : hostPort('tls.redirect_from', config.tls.redirect_from);
  const baseDir = configFile === DEFAULT_CONFIG_FILE ? process.cwd() : path.dirname(configFile);
  const dataDir = path.resolve(baseDir, config.data_dir);
  const envsDir = path.resolve(baseDir, config.envs_dir ?? (process.getuid?.() === 0 ? '/opt/kicloud/envs' : path.join(dataDir, 'envs')));
  const hostForUrl = listenHost.includes(':') ? `[${listenHost}]` : listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost;
  const tls = config.tls && { cert: path.resolve(baseDir, config.tls.cert), key: path.resolve(baseDir, config.tls.key), hsts_max_age: config.tls.hsts_max_age, redirectFrom };
  const publicUrl = new URL(config.public_url ?? `${tls ? 'https' : 'http'}://${hostForUrl}:${listenPort}`);
  // The files are read by `serve` and `config check`, not here: other commands (user add, token create) must not
  // need the private key.
  if (tls && publicUrl.protocol !== 'https:') problems.push(`public_url: must be https:// when tls is set (got ${publicUrl.origin}): browsers reach the gateway over https`);
  const wildcard = (h: string) => h === '0.0.0.0' || h === '::';
  const clash = (a: { host: string; port: number }, b: { host: string; port: number }) =>
    a.port === b.port && (a.host === b.host || wildcard(a.host) || wildcard(b.host));
  if (redirectFrom && clash(redirectFrom, { host: listenHost, port: listenPort })) problems.push(`tls.redirect_from: ${config.tls!.redirect_from} is the listen address's port; the redirect needs a port of its own (usually 80)`);
  if (redirectFrom && clash(redirectFrom, hubApi)) problems.push(`tls.redirect_from: ${config.tls!.redirect_from} is hub_api_listen's port`);
  // max_busy extends a busy server's life past the idle timeout; below it, busy servers would go first.
  const { timeout, max_busy } = config.cull;
  if (max_busy && !timeout) problems.push('cull.max_busy: needs cull.timeout (without idle culling, nothing is culled for being busy either)');
  else if (max_busy && max_busy < timeout) problems.push(`cull.max_busy: ${max_busy} s is below cull.timeout (${timeout} s): a busy server would be stopped before an idle one; use 0 or at least ${timeout}`);
  const names = new Set<string>();
  config.profiles.forEach((p: Profile, i: number) => {
    if (names.has(p.name)) problems.push(`profiles[${i}].name: "${p.name}" is used by an earlier profile`);
    names.add(p.name);
    if (!p.command.some((a) => a.includes('{port}'))) problems.push(`profiles[${i}].command: must contain {port} so the server listens where the gateway expects`);
  });
  if (problems.length) throw new ConfigError(problems.map((p) => `${configFile} ${p}`));
  return deepFreeze({ ...config, tls, configFile, publicUrl, listenHost, listenPort, hubApi, dataDir, envsDir });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof URL)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
