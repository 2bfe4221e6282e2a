/** @module Calls back when a file is written (inotify through fs.watch): the local spawner's servers write their
 *  output to a log file, and a write there is the cheapest sign that a starting server did something. */
import { watch } from 'node:fs';

/** Returns an unsubscribe function. A file that cannot be watched (gone, no inotify left) gives no calls, never
 *  an error: callers treat the calls as hints and poll anyway. */
export function watchFile(file: string, onChange: () => void): () => void {
  try {
    const watcher = watch(file, { persistent: false }, () => onChange());
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  } catch {
    return () => {};
  }
}
