/** @module The `kicloud` command line: serve, user add|list|passwd, token create, config check. Each command
 *  validates its input and says what went wrong in one line; exit codes: 0 ok, 1 failure, 2 usage. */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/validate.ts';
import { loadConfigFile, type GatewayConfig } from '../config/load.ts';

const HELP: Record<string, string> = {
  main: `kicloud: one URL for a research computing centre's Jupyter servers

Usage:
  kicloud serve [--config FILE]                 start the gateway (env KICLOUD_CONFIG also names the file)
  kicloud user add NAME [--admin] [--password-stdin]
  kicloud user list
  kicloud user passwd NAME [--password-stdin]
  kicloud token create NAME [--scopes S,S…] [--note TEXT] [--expires-in SECONDS]
  kicloud config check FILE
  kicloud COMMAND --help

Environment: KICLOUD_CONFIG, KICLOUD_LISTEN, KICLOUD_PUBLIC_URL, KICLOUD_DATA_DIR, KICLOUD_ENVS_DIR,
KICLOUD_LOG_LEVEL, KICLOUD_ADMIN_USER + KICLOUD_ADMIN_PASSWORD, KICLOUD_API_TOKEN.`,
  serve: `kicloud serve [--config FILE] [--first-admin]
  Start the gateway. Without --config (or KICLOUD_CONFIG) the shipped config/defaults.yaml is used.
  --first-admin   when the store has no users, create "admin" with a random password and print it once`,
  user: `kicloud user add NAME [--admin] [--password-stdin]   create a user (prints a random password unless given)
kicloud user list                                    list users
kicloud user passwd NAME [--password-stdin]          set a new password (logs the user out everywhere)
  Options: --config FILE (where the data dir is)`,
  token: `kicloud token create NAME [--scopes S,S…] [--note TEXT] [--expires-in SECONDS] [--config FILE]
  Print a new API token for NAME. Default scopes: "inherit" (everything NAME may do).`,
  config: `kicloud config check FILE
  Validate FILE against the schema; print every problem with its key path and line.`,
};

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') return print(HELP.main, 0);
    switch (command) {
      case 'serve': return await serveCommand(rest);
      case 'user': return await userCommand(rest);
      case 'token': return await tokenCommand(rest);
      case 'config': return await configCommand(rest);
      default: throw new UsageError(`unknown command "${command}"; see kicloud --help`);
    }
  } catch (err) {
    if (err instanceof UsageError) { process.stderr.write(`kicloud: ${err.message}\n`); return 2; }
    if (err instanceof ConfigError) { process.stderr.write(`kicloud: ${err.message}\n`); return 1; }
    process.stderr.write(`kicloud: ${(err as Error).message}\n`);
    return 1;
  }
}

function print(text: string, code: number): number {
  (code ? process.stderr : process.stdout).write(`${text}\n`);
  return code;
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' }, config: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const configFrom = (file?: string): GatewayConfig => loadConfigFile(file ?? (process.env.KICLOUD_CONFIG || undefined));

async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'first-admin': { type: 'boolean' } });
  if (values.help) return print(HELP.serve, 0);
  if (positionals.length) throw new UsageError(`serve takes no arguments, got "${positionals[0]}"`);
  const config = configFrom(values.config);
  const { serve } = await import('../main.ts');
  const gw = await serve(config, { firstAdmin: !!values['first-admin'] });
  process.stdout.write(`KI Cloud gateway listening on ${config.publicUrl.href}\n`);
  const stop = async (signal: string) => {
    process.stdout.write(`${signal}: stopping the gateway (user servers keep running and are adopted at the next start)\n`);
    await gw.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return new Promise<number>(() => {});
}

async function openStore(configFile?: string) {
  const config = configFrom(configFile);
  const { openDataDir } = await import('../data-dir.ts');
  const { SqliteStore } = await import('../store/sqlite/sqlite-store.ts');
  return new SqliteStore(openDataDir(config.dataDir).storeFile);
}

async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function userCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { admin: { type: 'boolean' }, 'password-stdin': { type: 'boolean' } });
  if (values.help || !positionals.length) return print(HELP.user, values.help ? 0 : 2);
  const [sub, name] = positionals;
  const { USER_NAME } = await import('../routes/paths.ts');
  const { hashPassword, MIN_PASSWORD_LENGTH, randomPassword } = await import('../auth/password.ts');
  const checkName = () => {
    if (!name) throw new UsageError(`user ${sub} needs a NAME`);
    if (!USER_NAME.test(name)) throw new UsageError(`invalid user name "${name}": use 1-24 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`);
  };
  const getPassword = async () => {
    const given = values['password-stdin'] ? await readPasswordFromStdin() : null;
    if (given !== null && given.length < MIN_PASSWORD_LENGTH) throw new UsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    return { password: given ?? randomPassword(), generated: given === null };
  };
  const store = await openStore(values.config);
  try {
    if (sub === 'list') {
      for (const u of await store.users.list()) process.stdout.write(`${u.name}${u.admin ? '\tadmin' : ''}\n`);
      return 0;
    }
    if (sub === 'add') {
      checkName();
      const { password, generated } = await getPassword();
      const { newUser } = await import('../http/api/users.ts');
      if (!(await store.users.add(newUser(name, !!values.admin, await hashPassword(password))))) {
        process.stderr.write(`kicloud: user ${name} already exists\n`);
        return 1;
      }
      process.stdout.write(`created ${values.admin ? 'admin' : 'user'} ${name}${generated ? `\npassword: ${password}` : ''}\n`);
      return 0;
    }
    if (sub === 'passwd') {
      checkName();
      if (!(await store.users.get(name))) { process.stderr.write(`kicloud: no user ${name}\n`); return 1; }
      const { password, generated } = await getPassword();
      await store.users.update(name, { passwordHash: await hashPassword(password) });
      await store.sessions.revokeUser(name);
      process.stdout.write(`password of ${name} changed; their sessions were ended${generated ? `\npassword: ${password}` : ''}\n`);
      return 0;
    }
    throw new UsageError(`unknown user command "${sub}"; use add, list or passwd`);
  } finally {
    await store.close();
  }
}

async function tokenCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { scopes: { type: 'string' }, note: { type: 'string' }, 'expires-in': { type: 'string' } });
  if (values.help || !positionals.length) return print(HELP.token, values.help ? 0 : 2);
  const [sub, name] = positionals;
  if (sub !== 'create') throw new UsageError(`unknown token command "${sub}"; use create`);
  if (!name) throw new UsageError('token create needs a user NAME');
  const scopes = values.scopes ? values.scopes.split(',').map((s) => s.trim()).filter(Boolean) : ['inherit'];
  const expires = values['expires-in'] === undefined ? null : Number(values['expires-in']);
  if (expires !== null && !(expires > 0)) throw new UsageError(`--expires-in must be a positive number of seconds, got "${values['expires-in']}"`);
  const { expandScopes, isSubset, ScopeError } = await import('../auth/scopes.ts');
  const { ownerScopes } = await import('../auth/authenticator.ts');
  const { mintToken } = await import('../auth/tokens.ts');
  const store = await openStore(values.config);
  try {
    const user = await store.users.get(name);
    if (!user) { process.stderr.write(`kicloud: no user ${name}\n`); return 1; }
    try {
      const excess = isSubset(expandScopes(scopes, user), ownerScopes(user));
      if (excess) { process.stderr.write(`kicloud: ${name} does not hold "${excess}"\n`); return 1; }
    } catch (err) {
      if (err instanceof ScopeError) throw new UsageError(err.message);
      throw err;
    }
    const { secret, token } = mintToken(name, scopes, { note: values.note ?? 'created with kicloud token create', expiresInS: expires });
    await store.tokens.add(token);
    process.stdout.write(`${secret}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

async function configCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help || !positionals.length) return print(HELP.config, values.help ? 0 : 2);
  const [sub, file] = positionals;
  if (sub !== 'check' || !file) throw new UsageError('usage: kicloud config check FILE');
  const config = loadConfigFile(file);
  if (config.tls) {
    const { readTlsPair, TlsConfigError, tlsWarnings } = await import('../http/tls.ts');
    try {
      for (const w of tlsWarnings(config.tls, readTlsPair(config.tls), config.publicUrl.hostname)) process.stdout.write(`${file}: warning: ${w}\n`);
    } catch (err) {
      if (!(err instanceof TlsConfigError)) throw err;
      throw new ConfigError([`${file} ${err.message}`]);
    }
  }
  process.stdout.write(`${file}: ok (${config.profiles.length} profile${config.profiles.length === 1 ? '' : 's'}: ${config.profiles.map((p) => p.name).join(', ')})\n`);
  return 0;
}
