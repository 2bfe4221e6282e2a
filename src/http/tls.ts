/** @module HTTPS on the listen address (config `tls: {cert, key}`), as JupyterHub's `ssl_cert`/`ssl_key`: a
 *  centre without a reverse proxy in front must not send passwords and cookies in clear. The pair is read once
 *  at start and checked (files readable, PEM that parses, no passphrase, a key that matches); `kicloud config
 *  check` runs the same check. A reload (SIGHUP) re-reads both, as a certbot deploy hook expects; a bad new pair is logged
 *  and the served one stays. The served certificate's expiry is re-checked daily and exported as a metric, since
 *  a renewal that failed sends no signal. `node:tls`, `node:https` and X509 load only when TLS is configured. */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import type { Server } from 'node:https';
import type { ServerOptions, RequestListener } from 'node:http';
import type { Logger } from '../log.ts';

const require = createRequire(import.meta.url);
const DAY_MS = 86_400_000;

export interface TlsFiles { cert: string; key: string }
export interface TlsPair { cert: Buffer; key: Buffer }

export class TlsConfigError extends Error {}

/** Reads and checks the pair; every problem names its config key and file. */
export function readTlsPair(files: TlsFiles): TlsPair {
  const read = (which: keyof TlsFiles) => {
    try {
      return readFileSync(files[which]);
    } catch (err) {
      throw new TlsConfigError(`tls.${which}: cannot read ${files[which]} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const cert = read('cert'), key = read('key');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(key.toString('latin1'))) {
    throw new TlsConfigError(`tls.key: ${files.key} is protected by a passphrase, which the gateway cannot ask for; write an unprotected copy readable only by the gateway (openssl pkey -in KEY -out NEW_KEY)`);
  }
  const tls = require('node:tls') as typeof import('node:tls');
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsConfigError(`tls: ${files.cert} and ${files.key} are not a usable certificate and key: ${(err as Error).message}`);
  }
  return { cert, key };
}

/** What an admin should hear about a pair that works. Never throws: a warning must not stop a reload. */
export function tlsWarnings(files: TlsFiles, pair: TlsPair, publicHost: string, now = Date.now()): string[] {
  const { X509Certificate } = require('node:crypto') as typeof import('node:crypto');
  const warnings: string[] = [];
  const pem = pair.cert.toString('latin1');
  const leaf = new X509Certificate(pair.cert);
  const validTo = Date.parse(leaf.validTo);
  if (validTo <= now) warnings.push(`the certificate in ${files.cert} expired on ${new Date(validTo).toISOString()}: browsers refuse it`);
  else if (validTo - now < 14 * DAY_MS) warnings.push(`the certificate in ${files.cert} expires on ${new Date(validTo).toISOString()}`);
  if (Date.parse(leaf.validFrom) > now) warnings.push(`the certificate in ${files.cert} is valid only from ${new Date(Date.parse(leaf.validFrom)).toISOString()}`);
  const host = publicHost.replace(/^\[|\]$/g, '');
  if (!(isIP(host) ? leaf.checkIP(host) : leaf.checkHost(host))) warnings.push(`the certificate in ${files.cert} does not name ${host}, the public_url's host: browsers will refuse it there`);
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (certificates === 1 && leaf.issuer !== leaf.subject) {
    warnings.push(`${files.cert} holds only the server certificate, no intermediates: browsers may cope, but Python, curl and other clients fail (use the full chain, e.g. fullchain.pem)`);
  }
  try {
    if (statSync(files.key).mode & 0o004) warnings.push(`${files.key} can be read by every account on this machine: chmod o-r it`);
  } catch (err) {
    warnings.push(`cannot check who may read ${files.key}: ${(err as Error).message}`);
  }
  return warnings;
}

export function createHttpsServer(pair: TlsPair, options: ServerOptions, handler: RequestListener): Server {
  const https = require('node:https') as typeof import('node:https');
  return https.createServer({ ...options, ...pair }, handler);
}

/** Logs the warnings now and daily, and sets the expiry gauge. `reload` (the gateway's SIGHUP) re-reads the
 *  pair: new connections get it, open ones keep theirs. */
export function watchTls(server: Server, files: TlsFiles, pair: TlsPair, o: { log: Logger; publicHost: string; setExpiry: (epochS: number) => void }): { reload: () => void; stop: () => void } {
  const { X509Certificate } = require('node:crypto') as typeof import('node:crypto');
  let served = pair;
  const report = () => {
    o.setExpiry(Date.parse(new X509Certificate(served.cert).validTo) / 1000);
    for (const w of tlsWarnings(files, served, o.publicHost)) o.log.warn(w);
  };
  const reload = () => {
    let next: TlsPair;
    try {
      next = readTlsPair(files);
    } catch (err) {
      return o.log.error({ err: (err as Error).message }, 'TLS reload failed; still serving the previous certificate');
    }
    server.setSecureContext(next);
    served = next;
    o.log.info({ cert: files.cert, valid_to: new X509Certificate(next.cert).validTo }, 'TLS certificate and key reloaded');
    report();
  };
  report();
  const daily = setInterval(report, DAY_MS).unref();
  return { reload, stop: () => clearInterval(daily) };
}
