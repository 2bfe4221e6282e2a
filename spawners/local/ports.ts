/** @module A free loopback port. Another process could take it before the server binds; the core checks who
 *  owns the listener before sending it a token (spawner.ownsListener), so that race cannot leak a token. */
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
