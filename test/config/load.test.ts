/** Config validation: every problem at once, each with its key path and file:line:col; env overrides named. */
import t from 'tap';
import { parseConfig, loadConfigFile, DEFAULT_CONFIG_FILE } from '../../src/config/load.ts';
import { ConfigError } from '../../src/config/validate.ts';
import { readFileSync } from 'node:fs';
import { generateValidator, VALIDATOR_FILE } from '../../config/gen-validator.ts';

const problems = (text: string, env: NodeJS.ProcessEnv = {}) => {
  try { parseConfig(text, 'k.yaml', env); return []; } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

const profile = `profiles:\n  - name: lab\n    display_name: Lab\n    command: [jupyter-lab, "--port={port}"]\n`;

t.test('the shipped defaults are valid and complete', async (t) => {
  const c = loadConfigFile(DEFAULT_CONFIG_FILE, {});
  t.equal(c.listen, '127.0.0.1:8000');
  t.equal(c.profiles[0].name, 'jupyterlab');
  t.equal(c.profiles[0].ready_path, '{base_url}api/status');
  t.notOk(c.profiles[0].command.includes('--allow-root'), 'no --allow-root');
  t.same(c.cull, { timeout: 3600, every: 300, max_age: 0, max_busy: 0 });
  t.same(c.named_servers, { enabled: false, limit: 0 });
  t.equal(c.publicUrl.origin, 'http://127.0.0.1:8000');
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.profiles[0]), 'frozen');
});

t.test('unknown keys name the line and a likely fix', async (t) => {
  t.same(problems(`${profile}cul:\n  timeout: 3\n`), ['k.yaml:5:1 cul: unknown key (did you mean "cull"?); allowed: listen, public_url, tls, hub_api_listen, data_dir, envs_dir, log_level, access_log, slow_request_ms, isolation, local, auth, spawn, proxy, named_servers, cull, profiles']);
  const nested = problems(`${profile}cull:\n  timeuot: 3\n`);
  t.match(nested[0], /^k\.yaml:6:3 cull\.timeuot: unknown key \(did you mean "timeout"\?\)/);
});

t.test('wrong types and values: all reported, with paths and lines', async (t) => {
  const p = problems(`listen: nowhere\nlog_level: loud\ncull: {timeout: fast}\nprofiles:\n  - name: Lab\n    display_name: L\n    command: []\n    start_timeout: -1\n`);
  t.equal(p.length, 6, p.join('\n'));
  t.match(p.join('\n'), /k\.yaml:1:9 listen: must match pattern/);
  t.match(p.join('\n'), /k\.yaml:2:12 log_level: expected one of "fatal" \| "error" \| "warn" \| "info" \| "debug" \| "trace", got "loud"/);
  t.match(p.join('\n'), /k\.yaml:3:17 cull\.timeout: expected number, got "fast"/);
  t.match(p.join('\n'), /profiles\[0\]\.name: must match pattern/);
  t.match(p.join('\n'), /profiles\[0\]\.command: must NOT have fewer than 1 items/);
  t.match(p.join('\n'), /profiles\[0\]\.start_timeout: must be >= 0, got -1/);
});

t.test('required keys, duplicates, {port}, YAML syntax', async (t) => {
  t.match(problems('listen: 127.0.0.1:1\n')[0], /profiles: required key is missing/);
  t.match(problems(`${profile}  - name: lab\n    display_name: Again\n    command: ["{port}"]\n`)[0], /profiles\[1\]\.name: "lab" is used by an earlier profile/);
  t.match(problems('profiles:\n  - name: x\n    display_name: X\n    command: [run]\n')[0], /must contain \{port\}/);
  t.match(problems('profiles: [\n')[0], /^k\.yaml:\d+:\d+ YAML syntax/);
  t.match(problems('listen: a\nlisten: b\n')[0], /YAML syntax/, 'duplicate keys are an error, not last-wins');
  t.match(problems(`${profile}listen: "127.0.0.1:99999"\n`)[0], /port 99999 is above 65535/);
  t.match(problems(`${profile}cull: {timeout: 3600, max_busy: 600}\n`)[0], /cull\.max_busy: 600 s is below cull\.timeout \(3600 s\): a busy server would be stopped before an idle one/);
  t.match(problems(`${profile}cull: {timeout: 0, max_busy: 600}\n`)[0], /cull\.max_busy: needs cull\.timeout/);
  t.same(problems(`${profile}cull: {timeout: 3600, max_busy: 86400}\n`), [], 'max_busy above the timeout is fine');
});

t.test('environment overrides are validated and named', async (t) => {
  t.match(problems(profile, { KICLOUD_LISTEN: 'bad' })[0], /^env KICLOUD_LISTEN listen: must match pattern/);
  const c = parseConfig(profile, '/etc/k.yaml', { KICLOUD_LISTEN: '0.0.0.0:9000', KICLOUD_DATA_DIR: 'd', KICLOUD_PUBLIC_URL: 'https://hub.example.org' });
  t.equal(c.listenPort, 9000);
  t.equal(c.dataDir, '/etc/d', 'relative to the config file');
  t.equal(c.publicUrl.origin, 'https://hub.example.org');
  t.match(problems(profile, { KICLOUD_PUBLIC_URL: 'hub.example.org' })[0], /env KICLOUD_PUBLIC_URL public_url/);
});

t.test('the committed validator is the schema compiled now', async (t) => {
  // The gateway loads config/schema.validator.js instead of compiling the schema at start; a schema change
  // without `node config/gen-validator.ts` would validate against the old schema.
  t.ok(readFileSync(VALIDATOR_FILE, 'utf8') === generateValidator(), 'config/schema.validator.js is up to date (run: node config/gen-validator.ts)');
});
