/** The kicloud CLI as an operator uses it: help everywhere, users and tokens against the data dir, config
 *  check, and clear one-line errors with exit code 2 for usage mistakes. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/gateway.ts';

const dir = mkdtempSync('/tmp/kicloud-cli-');
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const config = path.join(dir, 'k.yaml');
writeFileSync(config, `data_dir: ${dir}/data\nprofiles:\n  - name: lab\n    display_name: Lab\n    command: [x, "{port}"]\n`);
const kicloud = (args: string[], input?: string) => {
  // PATH as an operator's shell has it, with the Node this project runs on first (bin/kicloud prefers .tools/).
  const r = spawnSync(path.join(ROOT, 'bin/kicloud'), args, { input, encoding: 'utf8', env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

t.test('--help everywhere', async (t) => {
  for (const args of [['--help'], ['serve', '--help'], ['user', '--help'], ['token', '--help'], ['config', '--help']]) {
    const r = kicloud(args);
    t.equal(r.code, 0, args.join(' '));
    t.match(r.out, /kicloud/);
  }
  const bad = kicloud(['launch']);
  t.equal(bad.code, 2);
  t.match(bad.err, /unknown command "launch"/);
  t.equal(kicloud(['serve', '--bogus']).code, 2);
});

t.test('an old Node on PATH gets a clear message, not a stack trace', async (t) => {
  const old = '/usr/bin/node';
  const { existsSync } = await import('node:fs');
  if (!existsSync(path.join(ROOT, '.tools/node24')) && existsSync(old) && spawnSync(old, ['-v'], { encoding: 'utf8' }).stdout.startsWith('v20')) {
    const r = spawnSync(path.join(ROOT, 'bin/kicloud'), ['--help'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    t.equal(r.status, 1);
    t.match(r.stderr, /needs Node >= 22\.19, found v20/);
  } else {
    t.pass('bin/kicloud uses .tools/node24 here, so the PATH\'s Node is not consulted');
  }
});

t.test('users and tokens', async (t) => {
  const add = kicloud(['user', 'add', 'alice', '--password-stdin', '--config', config], 'a-long-password\n');
  t.equal(add.code, 0, add.err);
  t.match(add.out, /created user alice/);
  t.notMatch(add.out, /password:/, 'a given password is not echoed');
  const gen = kicloud(['user', 'add', 'root1', '--admin', '--config', config]);
  t.match(gen.out, /created admin root1\npassword: \S{12,}/, 'a generated password is shown once');
  t.equal(kicloud(['user', 'add', 'alice', '--config', config], '').code, 1, 'exists');
  const badName = kicloud(['user', 'add', 'Bad/Name', '--config', config]);
  t.equal(badName.code, 2);
  t.match(badName.err, /invalid user name "Bad\/Name"/);
  t.match(kicloud(['user', 'add', 'bob', '--password-stdin', '--config', config], 'short').err, /at least 8 characters/);
  t.equal(kicloud(['user', 'list', '--config', config]).out, 'alice\nroot1\tadmin\n');
  const tok = kicloud(['token', 'create', 'alice', '--scopes', 'read:users!user=alice', '--config', config]);
  t.equal(tok.code, 0, tok.err);
  t.match(tok.out, /^[0-9a-f]{48}\n$/);
  const unknown = kicloud(['token', 'create', 'alice', '--scopes', 'read:all', '--config', config]);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /unknown scope "read:all"/);
  const more = kicloud(['token', 'create', 'alice', '--scopes', 'admin:users', '--config', config]);
  t.equal(more.code, 1);
  t.match(more.err, /alice does not hold "admin:users"/);
  t.match(kicloud(['user', 'passwd', 'alice', '--config', config]).out, /password of alice changed[^]*password: /);
});

t.test('config check', async (t) => {
  t.match(kicloud(['config', 'check', config]).out, /ok \(1 profile: lab\)/);
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'profiles: []\nlisten: x\n');
  const r = kicloud(['config', 'check', bad]);
  t.equal(r.code, 1);
  t.match(r.err, /bad\.yaml:1:1 profiles: must NOT have fewer than 1 items/);
  t.match(r.err, /bad\.yaml:2:9 listen:/);
  t.match(kicloud(['config', 'check', path.join(dir, 'missing.yaml')]).err, /cannot read the config file \(ENOENT\)/);
});

t.test('serve refuses to start half-configured, with --config or KICLOUD_CONFIG naming the file', async (t) => {
  const bad = path.join(dir, 'serve-bad.yaml');
  writeFileSync(bad, `data_dir: ${dir}/serve-data\nlisten: 127.0.0.1:1\ncull:\n  timeout: soon\nprofiles:\n  - name: lab\n    display_name: Lab\n    command: [x, "{port}"]\n`);
  const withFlag = kicloud(['serve', '--config', bad]);
  t.equal(withFlag.code, 1, 'exits with an error');
  t.match(withFlag.err, /serve-bad\.yaml:4:12 cull\.timeout: expected number, got "soon"/, 'naming the key path and its line');
  const r = spawnSync(path.join(ROOT, 'bin/kicloud'), ['serve'], {
    encoding: 'utf8', env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, KICLOUD_CONFIG: bad },
  });
  t.equal(r.status, 1, 'KICLOUD_CONFIG names the file too');
  t.match(r.stderr, /serve-bad\.yaml:4:12 cull\.timeout: expected number, got "soon"/);
  t.notOk(existsSync(path.join(dir, 'serve-data')), 'nothing was created: no data dir, no store, no admin');
});
