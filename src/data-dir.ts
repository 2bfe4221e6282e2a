/** @module The data dir's layout and permissions. DATA is 0711 (user accounts may pass through to their homes
 *  when those live here); DATA/private is 0700: the store, secrets and server logs, which no user account can
 *  read. The cookie secret is created once and reused, so sessions survive restarts. */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface DataDir { root: string; private: string; storeFile: string; cookieSecret: Uint8Array }

export function openDataDir(root: string): DataDir {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  chmodSync(root, 0o711);
  const priv = path.join(root, 'private');
  mkdirSync(priv, { recursive: true, mode: 0o700 });
  chmodSync(priv, 0o700);
  const secretFile = path.join(priv, 'cookie_secret');
  let secret: Buffer;
  try {
    secret = readFileSync(secretFile);
    if (secret.length < 32) throw new Error(`${secretFile} is shorter than 32 bytes; remove it to create a new one (logs everyone out)`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    secret = randomBytes(32);
    writeFileSync(secretFile, secret, { mode: 0o600, flag: 'wx' });
  }
  return { root, private: priv, storeFile: path.join(priv, 'kicloud.sqlite'), cookieSecret: new Uint8Array(secret) };
}
