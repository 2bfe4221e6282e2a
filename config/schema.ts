/** @module The one configuration schema. TypeScript types derive from it, so type and validator cannot drift.
 *  YAML speaks seconds (as JupyterHub: `start_timeout`); code converts to ms at the boundary. */
import { Type, type Static } from '@sinclair/typebox';

const seconds = (def: number, description: string) => Type.Number({ minimum: 0, default: def, description });
const strict = { additionalProperties: false } as const;

export const PLACEHOLDERS = ['port', 'base_url', 'user', 'server_name', 'home', 'envs'] as const;

export const ProfileSchema = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,31}$', description: 'stable id, used in forms and the API' }),
  display_name: Type.String({ minLength: 1 }),
  description: Type.String({ default: '' }),
  spawner: Type.Literal('local', { default: 'local', description: 'backend that runs the server' }),
  command: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: `argv; placeholders {${PLACEHOLDERS.join('} {')}}`,
  }),
  env: Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), { default: {} }),
  ready_path: Type.String({ default: '{base_url}api/status', description: 'probed with the server token until 200' }),
  start_timeout: seconds(60, 'seconds from launch until ready_path answers'),
}, strict);

const HOST_PORT = '^(\\[[0-9a-fA-F:]+\\]|[^:\\s]+):[0-9]{1,5}$';

export const ConfigSchema = Type.Object({
  listen: Type.String({ default: '127.0.0.1:8000', pattern: HOST_PORT,
    description: 'host:port the gateway listens on (env KICLOUD_LISTEN)' }),
  public_url: Type.Optional(Type.String({ pattern: '^https?://[^/\\s]+/?$',
    description: 'the origin browsers use (env KICLOUD_PUBLIC_URL); default http:// (https:// with tls) + listen' })),
  tls: Type.Optional(Type.Object({
    cert: Type.String({ minLength: 1, description: 'PEM certificate chain file (server certificate first)' }),
    key: Type.String({ minLength: 1, description: 'PEM private key file; re-read with the certificate on SIGHUP' }),
    hsts_max_age: Type.Integer({ minimum: 0, default: 0,
      description: 'seconds browsers must use https only for this host (Strict-Transport-Security on hub pages; 0 = not sent)' }),
    redirect_from: Type.Optional(Type.String({ pattern: HOST_PORT,
      description: 'a plain-HTTP host:port (usually :80) that redirects every request to public_url, as configurable-http-proxy\'s --redirect-port' })),
  }, { ...strict, description: 'serve HTTPS and WSS on listen; default public_url becomes https://' })),
  hub_api_listen: Type.String({ default: '127.0.0.1:8081', pattern: HOST_PORT,
    description: 'with tls: the plain-HTTP address (keep it on loopback) where user servers reach the hub API, as JupyterHub\'s hub_bind_url' }),
  data_dir: Type.String({ default: './data', description: 'store, secrets, logs (env KICLOUD_DATA_DIR)' }),
  envs_dir: Type.Optional(Type.String({ description: 'where profile environments live, {envs} in commands (env KICLOUD_ENVS_DIR)' })),
  log_level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)), { default: 'info' }),
  access_log: Type.Boolean({ default: false, description: 'one buffered log line per proxied request' }),
  slow_request_ms: Type.Number({ minimum: 0, default: 1000, description: 'log proxied requests slower than this' }),
  isolation: Type.Union([Type.Literal('auto'), Type.Literal('required')], {
    default: 'auto',
    description: 'required: refuse to start unless user servers can run under per-user accounts (needs root)',
  }),
  local: Type.Object({
    account_prefix: Type.String({ default: 'kicloud-', pattern: '^[a-z_][a-z0-9_-]{0,7}$' }),
    home_root: Type.String({ default: '/home', description: 'homes of per-user accounts (as root)' }),
    stop_grace: seconds(5, 'seconds between SIGTERM and SIGKILL'),
  }, { ...strict, default: {} }),
  auth: Type.Object({
    session_max_age: seconds(14 * 86400, 'seconds a login lasts'),
    login_attempts: Type.Integer({ minimum: 1, default: 10, description: 'failed logins per user and address per window' }),
    login_window: seconds(300, 'seconds of the login rate-limit window'),
    shutdown_on_logout: Type.Boolean({ default: false, description: 'a browser\'s logout stops all of the user\'s servers (JupyterHub\'s shutdown_on_logout)' }),
  }, { ...strict, default: {} }),
  spawn: Type.Object({
    slow_spawn_timeout: seconds(10, 'seconds a start request waits before answering 202'),
    concurrent_spawn_limit: Type.Integer({ minimum: 1, default: 100 }),
  }, { ...strict, default: {} }),
  proxy: Type.Object({
    connect_timeout: seconds(10, 'seconds to connect to a user server'),
    response_timeout: seconds(300, 'seconds a user server may take to send response headers'),
  }, { ...strict, default: {} }),
  named_servers: Type.Object({
    enabled: Type.Boolean({ default: false }),
    limit: Type.Integer({ minimum: 0, default: 0, description: '0 = no limit' }),
  }, { ...strict, default: {} }),
  cull: Type.Object({
    timeout: seconds(3600, 'stop servers idle this long (0 = never)'),
    every: Type.Number({ exclusiveMinimum: 0, default: 300, description: 'seconds between culler passes' }),
    max_age: seconds(0, 'stop servers older than this, busy or not (0 = off)'),
    max_busy: seconds(0, 'a busy kernel keeps its server at most this long after the last request or message through the gateway (0 = as long as it is busy)'),
  }, { ...strict, default: {} }),
  profiles: Type.Array(ProfileSchema, { minItems: 1 }),
}, strict);

export type Config = Static<typeof ConfigSchema>;
export type Profile = Static<typeof ProfileSchema>;
