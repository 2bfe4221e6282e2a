/** HTTPS and WSS on the listen address (`tls: {cert, key}`), with certificates made here by openssl: the hub,
 *  the proxy and WebSockets over TLS, Secure cookies, https in X-Forwarded-Proto, the plain-HTTP loopback hub API
 *  that servers are given as JUPYTERHUB_API_URL, plain HTTP refused on the TLS port, SIGHUP reloading the pair
 *  (and keeping it when the new one is bad), the expiry metric, the warnings an admin needs, and config errors
 *  that name the key and the file. */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer as createTcpServer } from 'node:net';
import { connect, getCACertificates, setDefaultCACertificates } from 'node:tls';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/config/validate.ts';
import { readTlsPair, tlsWarnings } from '../../src/http/tls.ts';
import { ECHO_COMMAND, freePort, Gateway, ROOT } from '../helpers/gateway.ts';

const dir = execFileSync('mktemp', ['-d', '/tmp/kicloud-tls-XXXXXX']).toString().trim();
t.teardown(() => execFileSync('rm', ['-rf', dir]));
/** A self-signed certificate for 127.0.0.1, valid `days`; returns the PEM files. */
function makeCert(name: string, days: number): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`), key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
    '-out', cert, '-days', String(days), '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  chmodSync(key, 0o600);
  return { cert, key };
}
const first = makeCert('first', 7);                 // expires within 14 days: the gateway warns
const second = makeCert('second', 365);
const live = { cert: path.join(dir, 'live.crt'), key: path.join(dir, 'live.key') };
const install = (c: { cert: string; key: string }) => {
  writeFileSync(live.cert, readFileSync(c.cert));
  writeFileSync(live.key, readFileSync(c.key));
  chmodSync(live.key, 0o644);                       // readable by every account: the gateway warns
};
install(first);
// This test process trusts both certificates (fetch and ws verify them as a browser would).
setDefaultCACertificates([...getCACertificates('default'), readFileSync(first.cert, 'utf8'), readFileSync(second.cert, 'utf8')]);

/** The subject CN of the certificate the gateway serves to a new connection. */
const servedCn = (port: number) => new Promise<string>((resolve, reject) => {
  const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
    resolve(String(s.getPeerCertificate().subject.CN));
    s.end();
  });
  s.on('error', reject);
});

/** Bytes as written, answer as read: for request forms that fetch() never sends. */
const rawRequest = (port: number, bytes: string) => new Promise<string>((resolve, reject) => {
  const s = tcpConnect(port, '127.0.0.1', () => s.end(bytes));
  let answer = '';
  s.on('data', (d) => { answer += d; });
  s.on('end', () => resolve(answer));
  s.on('error', reject);
});

// The profile writes down the hub API URL it was given, then runs the echo server.
const record = ['/bin/sh', '-c', 'printf %s "$JUPYTERHUB_API_URL" > "$HOME/api-url"; exec "$0" "$@"', ...ECHO_COMMAND];
const [apiPort, redirectPort] = [await freePort(), await freePort()];
const gw = await Gateway.start({ https: true, config: {
  tls: { ...live, hsts_max_age: 600, redirect_from: `127.0.0.1:${redirectPort}` }, hub_api_listen: `127.0.0.1:${apiPort}`, profiles: [{ name: 'echo', display_name: 'echo', command: record, start_timeout: 10 }],
} });
t.teardown(() => gw.cleanup());
await gw.addUser('alice');

t.test('the hub over HTTPS: health, login with a Secure cookie, warnings for the admin', async (t) => {
  t.match(gw.url, /^https:/);
  const health = await fetch(`${gw.url}/hub/health`);
  t.equal(health.status, 200, 'health over https, certificate verified');
  t.equal(health.headers.get('strict-transport-security'), 'max-age=600', 'HSTS on the hub\'s answers (tls.hsts_max_age)');
  t.equal(await servedCn(gw.port), 'first');
  const r = await fetch(`${gw.url}/hub/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url },
    body: new URLSearchParams({ username: 'alice', password: 'alice-password-1' }),
  });
  t.equal(r.status, 302);
  t.match(r.headers.get('set-cookie'), /; Secure/i, 'the session cookie is Secure: public_url defaults to https://');
  t.match(gw.output, /expires on/, 'the admin is told the certificate expires soon');
  t.match(gw.output, /can be read by every account on this machine/, 'and that the key file is readable by all');
  t.notMatch(gw.output, /does not name|no intermediates/, 'no warning where there is nothing wrong');
  const metrics = await gw.api('GET', '/metrics');
  const expiry = Number(/kicloud_tls_certificate_expiry_timestamp_seconds (\d+)/.exec(metrics.text)?.[1]);
  t.ok(Math.abs(expiry * 1000 - (Date.now() + 7 * 86_400_000)) < 86_400_000, 'the expiry is a metric, for alerts when a renewal fails');
  await t.rejects(fetch(`http://127.0.0.1:${gw.port}/hub/health`), 'plain HTTP on the TLS port gets no answer');
});

t.test('the proxy over HTTPS and WSS', async (t) => {
  t.equal((await gw.api('POST', '/hub/api/users/alice/server', { body: {} })).status, 201);
  const token = await gw.tokenFor('alice');
  const echo = await (await fetch(`${gw.url}/user/alice/hello`, { headers: { authorization: `token ${token}` } })).json();
  t.equal(echo.url, '/user/alice/hello');
  t.equal(echo.headers['x-forwarded-proto'], 'https', 'the server is told the request came over https');
  const proxied = await fetch(`${gw.url}/user/alice/hello`, { headers: { authorization: `token ${token}` } });
  t.equal(proxied.headers.get('strict-transport-security'), null, 'not added to what a user\'s server answers');
  const homes = [path.join(gw.tmp, 'homes', gw.account('alice')), path.join(gw.dataDir, 'homes', 'alice')];
  const home = homes.find((h) => existsSync(path.join(h, 'api-url')));
  t.ok(home, 'the server wrote down its hub API URL');
  const apiUrl = readFileSync(path.join(home!, 'api-url'), 'utf8');
  t.equal(apiUrl, `http://127.0.0.1:${apiPort}/hub/api`, 'JUPYTERHUB_API_URL is the plain-HTTP loopback listener: no certificate to trust');
  const version = await fetch(`${apiUrl}/`);
  t.equal(version.status, 200, 'the hub API answers there');
  t.match(await version.json(), { version: /^3\./ });
  const me = await fetch(`${apiUrl}/user`, { headers: { authorization: `token ${token}` } });
  t.equal((await me.json()).name, 'alice', 'with tokens, as on the main address');
  for (const other of ['/user/alice/hello', '/hub/login', '/hub/apix']) {
    t.equal((await fetch(`http://127.0.0.1:${apiPort}${other}`, { redirect: 'manual' })).status, 404, `nothing else is served there (${other})`);
  }

  const ws = new WebSocket(`wss://127.0.0.1:${gw.port}/user/alice/api/kernels/x/channels`, { headers: { authorization: `token ${token}`, origin: gw.url } });
  const reply = await new Promise<string>((resolve, reject) => {
    ws.on('open', () => ws.send('over tls'));
    ws.on('message', (m) => resolve(String(m)));
    ws.on('error', reject);
  });
  t.equal(reply, 'over tls', 'a WebSocket through wss:// reaches the server and back');
  ws.close();
});

t.test('plain HTTP on redirect_from is sent to public_url, and nothing else is served there', async (t) => {
  const plain = `http://127.0.0.1:${redirectPort}`;
  const page = await fetch(`${plain}/user/alice/lab?reset=1`, { redirect: 'manual' });
  t.equal(page.status, 301, 'a page load: permanent redirect');
  t.equal(page.headers.get('location'), `${gw.url}/user/alice/lab?reset=1`, 'to the same path and query over https');
  t.equal(page.headers.get('set-cookie'), null, 'no cookie in clear');
  const followed = await fetch(`${plain}/hub/health`);
  t.equal(followed.status, 200, 'a client that follows it reaches the hub over https');
  const login = await fetch(`${plain}/hub/login`, { method: 'POST', redirect: 'manual', body: 'username=alice&password=alice-password-1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(login.status, 308, 'other methods: 308, to be repeated as they were');
  t.equal(login.headers.get('set-cookie'), null, 'a login posted in clear is not answered with a session');
  const spoofed = await fetch(`${plain}/hub/home`, { redirect: 'manual', headers: { host: 'evil.example' } });
  t.equal(spoofed.headers.get('location'), `${gw.url}/hub/home`, 'the Host header does not choose the target');
  const absolute = await rawRequest(redirectPort, 'GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
  t.match(absolute, new RegExp(`^HTTP/1.1 301[^]*\\r\\nlocation: ${gw.url.replace(/[.]/g, '\\.')}/\\r\\n`, 'i'), 'an absolute-form target: the landing page');
  const head = await fetch(`${plain}/hub/login`, { method: 'HEAD', redirect: 'manual' });
  t.equal(head.status, 301);
  t.equal(await head.text(), '', 'HEAD: no body');
});

t.test('a redirect port it cannot bind stops the start, naming the key', async (t) => {
  const taken = createTcpServer().listen(0, '127.0.0.1');
  await new Promise((r) => taken.once('listening', r));
  t.teardown(() => taken.close());
  const busyPort = (taken.address() as { port: number }).port;
  const cfg = path.join(dir, 'redirect-taken.yaml');
  writeFileSync(cfg, JSON.stringify({ listen: `127.0.0.1:${await freePort()}`, hub_api_listen: `127.0.0.1:${await freePort()}`,
    data_dir: path.join(dir, 'redirect-taken-data'), tls: { ...second, redirect_from: `127.0.0.1:${busyPort}` },
    profiles: [{ name: 'e', display_name: 'e', command: ['x', '{port}'] }] }));
  const r = spawnSync(path.join(ROOT, 'bin/kicloud'), ['serve', '--config', cfg], { encoding: 'utf8', timeout: 20_000 });
  t.same([r.status, r.signal], [1, null], 'the gateway exits with 1 by itself');
  t.match(`${r.stdout}${r.stderr}`, new RegExp(`tls\\.redirect_from 127\\.0\\.0\\.1:${busyPort}: listen EADDRINUSE`), 'naming the key and the reason');
  t.notMatch(`${r.stdout}${r.stderr}`, /gateway listening/, 'and never says it is listening');

  // The redirect port free, the main one taken: the redirect listener, bound first, must not keep it alive.
  writeFileSync(cfg, JSON.stringify({ listen: `127.0.0.1:${busyPort}`, hub_api_listen: `127.0.0.1:${await freePort()}`,
    data_dir: path.join(dir, 'redirect-taken-data'), tls: { ...second, redirect_from: `127.0.0.1:${await freePort()}` },
    profiles: [{ name: 'e', display_name: 'e', command: ['x', '{port}'] }] }));
  const main = spawnSync(path.join(ROOT, 'bin/kicloud'), ['serve', '--config', cfg], { encoding: 'utf8', timeout: 20_000 });
  t.same([main.status, main.signal], [1, null], 'a listen port in use: exits with 1, no hang on the redirect port');
  t.match(main.stderr, /EADDRINUSE/);
});

t.test('SIGHUP reloads the pair; a bad new pair keeps the old one', async (t) => {
  install(second);
  gw.child.kill('SIGHUP');
  let cn = '';
  for (let i = 0; i < 100 && cn !== 'second'; i++) { await sleep(50); cn = await servedCn(gw.port); }
  t.equal(cn, 'second', 'new connections get the new certificate');
  t.match(gw.output, /TLS certificate and key reloaded/);

  writeFileSync(live.cert, 'not a certificate\n');
  gw.child.kill('SIGHUP');
  for (let i = 0; i < 100 && !/TLS reload failed/.test(gw.output); i++) await sleep(50);
  t.match(gw.output, /TLS reload failed; still serving the previous certificate/, 'a broken file is reported');
  t.equal(await servedCn(gw.port), 'second', 'and the served certificate stays');
  t.equal((await fetch(`${gw.url}/hub/health`)).status, 200, 'the gateway keeps serving');
  install(second);
});

t.test('config errors and warnings name the key and the file', async (t) => {
  const profiles = [{ name: 'e', display_name: 'e', command: ['x', '{port}'] }];
  const configError = (o: Record<string, unknown>) => {
    try {
      parseConfig(JSON.stringify({ ...o, profiles }), path.join(dir, 'k.yaml'), {});
      return 'accepted';
    } catch (err) {
      t.ok(err instanceof ConfigError);
      return (err as Error).message;
    }
  };
  t.match(configError({ tls: { cert: second.cert } }), /tls.*key/, 'a certificate without a key');
  t.match(configError({ tls: { ...second, redirect_from: '127.0.0.1:8000' } }), /tls\.redirect_from: 127\.0\.0\.1:8000 is the listen address's port/, 'a redirect on the TLS port');
  t.match(configError({ tls: { ...second, redirect_from: '0.0.0.0:8081' } }), /tls\.redirect_from: .*hub_api_listen's port/, 'a redirect on the hub API port');
  t.match(configError({ tls: { ...second, redirect_from: '80' } }), /tls\.redirect_from/, 'a redirect address without a host');
  t.match(configError({ tls: second, public_url: 'http://hub.example.org' }), /public_url: must be https:\/\/ when tls is set/, 'tls with an http public URL');
  t.equal(configError({ tls: { cert: 'missing.crt', key: 'missing.key' } }), 'accepted', 'other commands (user add) do not read the files');
  const rel = parseConfig(JSON.stringify({ tls: { cert: 'second.crt', key: 'second.key' }, profiles }), path.join(dir, 'k.yaml'), {});
  t.equal(rel.publicUrl.href, 'https://127.0.0.1:8000/', 'with tls, the default public URL is https');
  t.equal(rel.tls?.cert, second.cert, 'paths are relative to the config file');

  const pairError = (files: { cert: string; key: string }) => { try { readTlsPair(files); return 'read'; } catch (err) { return (err as Error).message; } };
  t.match(pairError({ cert: path.join(dir, 'missing.crt'), key: second.key }), /tls\.cert: cannot read .*missing\.crt \(ENOENT\)/, 'a missing file');
  t.match(pairError({ cert: first.cert, key: second.key }), /are not a usable certificate and key: .*mismatch/i, 'a key of another certificate');
  writeFileSync(path.join(dir, 'junk.crt'), '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
  t.match(pairError({ cert: path.join(dir, 'junk.crt'), key: second.key }), /not a usable certificate and key/, 'garbage PEM');
  const locked = path.join(dir, 'locked.key');
  execFileSync('openssl', ['pkey', '-in', second.key, '-out', locked, '-aes256', '-passout', 'pass:secret']);
  t.match(pairError({ cert: second.cert, key: locked }), /tls\.key: .*protected by a passphrase.*openssl pkey/, 'a key with a passphrase');

  // A certificate from a CA, served without the CA's certificate, and a host it does not name.
  const ca = { cert: path.join(dir, 'ca.crt'), key: path.join(dir, 'ca.key') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-days', '30', '-subj', '/CN=test-ca'], { stdio: 'ignore' });
  const leaf = { cert: path.join(dir, 'leaf.crt'), key: path.join(dir, 'leaf.key') };
  const csr = path.join(dir, 'leaf.csr');
  execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', leaf.key, '-out', csr, '-subj', '/CN=hub.example.org'], { stdio: 'ignore' });
  const ext = path.join(dir, 'leaf.ext');
  writeFileSync(ext, 'subjectAltName=DNS:hub.example.org\n');
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', leaf.cert, '-days', '30', '-extfile', ext], { stdio: 'ignore' });
  chmodSync(leaf.key, 0o600);
  const alone = tlsWarnings(leaf, readTlsPair(leaf), 'hub.example.org');
  t.match(alone.join('\n'), /holds only the server certificate, no intermediates/, 'a chain without intermediates');
  t.notMatch(alone.join('\n'), /does not name|expires|read by every/, 'and nothing else');
  const full = { cert: path.join(dir, 'full.crt'), key: leaf.key };
  writeFileSync(full.cert, Buffer.concat([readFileSync(leaf.cert), readFileSync(ca.cert)]));
  t.same(tlsWarnings(full, readTlsPair(full), 'hub.example.org'), [], 'the full chain, for its host: no warnings');
  t.match(tlsWarnings(full, readTlsPair(full), 'other.example.org').join('\n'), /does not name other\.example\.org/, 'another host');

  const cfg = path.join(dir, 'check.yaml');
  writeFileSync(cfg, JSON.stringify({ listen: '127.0.0.1:8443', public_url: 'https://other.example.org', tls: full, profiles }));
  const checked = execFileSync(path.join(ROOT, 'bin/kicloud'), ['config', 'check', cfg], { encoding: 'utf8' });
  t.match(checked, /warning: .*does not name other\.example\.org/, 'config check reads the pair and prints the warnings');
  writeFileSync(cfg, JSON.stringify({ tls: { cert: first.cert, key: second.key }, profiles }));
  const bad = (() => { try { execFileSync(path.join(ROOT, 'bin/kicloud'), ['config', 'check', cfg], { encoding: 'utf8', stdio: 'pipe' }); return ''; } catch (err) { return String((err as { stderr: string }).stderr); } })();
  t.match(bad, /not a usable certificate and key/, 'and fails on a pair that does not match');
});

t.test('without tls, SIGHUP (a service manager\'s reload) leaves the gateway running', async (t) => {
  const plain = await Gateway.start({ config: { profiles: [{ name: 'echo', display_name: 'echo', command: ECHO_COMMAND, start_timeout: 10 }] } });
  t.teardown(() => plain.cleanup());
  plain.child.kill('SIGHUP');
  for (let i = 0; i < 100 && !/nothing to reload/.test(plain.output); i++) await sleep(50);
  t.match(plain.output, /SIGHUP: nothing to reload \(no tls configured\)/, 'it says there was nothing to reload');
  t.equal(plain.child.exitCode, null, 'it did not exit');
  const plainHealth = await fetch(`${plain.url}/hub/health`);
  t.equal(plainHealth.status, 200, 'and keeps serving');
  t.equal(plainHealth.headers.get('strict-transport-security'), null, 'no HSTS without tls');
});
