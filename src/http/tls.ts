/** @module HTTPS on the listen address (config `tls: {cert, key}`), as JupyterHub's `ssl_cert`/`ssl_key`: a
 *  centre without a reverse proxy in front must not send passwords and cookies in clear. The pair is checked
 *  at start (and by `kicloud config check`): files readable, PEM that parses, a key that matches. SIGHUP re-reads
 *  both, as certbot's renewal hook expects; a bad new pair is logged and the served one stays. `node:tls` and
 *  `node:https` load only when TLS is configured. */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:https';
import type { ServerOptions, RequestListener } from 'node:http';
import type { Logger } from '../log.ts';

const require = createRequire(import.meta.url);

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
  const tls = require('node:tls') as typeof import('node:tls');
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsConfigError(`tls: ${files.cert} and ${files.key} are not a usable certificate and key: ${(err as Error).message}`);
  }
  return { cert, key };
}

/** What an admin should hear about a pair that works: expiry, and a key other accounts can read. */
export function tlsWarnings(files: TlsFiles, pair: TlsPair, now = Date.now()): string[] {
  const { X509Certificate } = require('node:crypto') as typeof import('node:crypto');
  const warnings: string[] = [];
  const validTo = Date.parse(new X509Certificate(pair.cert).validTo);
  if (validTo <= now) warnings.push(`the certificate in ${files.cert} expired on ${new Date(validTo).toISOString()}: browsers will refuse it`);
  else if (validTo - now < 14 * 86_400_000) warnings.push(`the certificate in ${files.cert} expires on ${new Date(validTo).toISOString()}`);
  if (statSync(files.key).mode & 0o077) warnings.push(`${files.key} can be read by other accounts than its owner: chmod 600 it`);
  return warnings;
}

export function createHttpsServer(pair: TlsPair, options: ServerOptions, handler: RequestListener): Server {
  const https = require('node:https') as typeof import('node:https');
  return https.createServer({ ...options, ...pair }, handler);
}

/** Re-reads the pair on SIGHUP; new connections get it, open ones keep theirs. Returns the remover. */
export function reloadTlsOnSighup(server: Server, files: TlsFiles, log: Logger): () => void {
  const reload = () => {
    try {
      const pair = readTlsPair(files);
      server.setSecureContext(pair);
      for (const w of tlsWarnings(files, pair)) log.warn(w);
      log.info({ cert: files.cert }, 'TLS certificate and key reloaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'TLS reload failed; still serving the previous certificate');
    }
  };
  process.on('SIGHUP', reload);
  return () => void process.off('SIGHUP', reload);
}
