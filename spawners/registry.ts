/** @module The one place that knows backend names: profile.spawner → a Spawner. Backends load lazily, so a
 *  heavy client (Kubernetes' adds 0.3 s and ~55 MB) is paid only when the config uses it. */
import type { GatewayConfig } from '../src/config/load.ts';
import type { Logger } from '../src/log.ts';
import type { Spawner } from './spawner.ts';

export interface SpawnerContext { config: GatewayConfig; log: Logger; privateDir: string }

const FACTORIES: Record<string, (ctx: SpawnerContext) => Promise<Spawner>> = {
  local: async (ctx) => new (await import('./local/local-spawner.ts')).LocalSpawner(ctx),
};

export async function buildSpawners(ctx: SpawnerContext): Promise<Map<string, Spawner>> {
  const kinds = new Set(ctx.config.profiles.map((p) => p.spawner));
  const out = new Map<string, Spawner>();
  for (const kind of kinds) {
    const factory = FACTORIES[kind];
    if (!factory) throw new Error(`no spawner named "${kind}"; known: ${Object.keys(FACTORIES).join(', ')}`);
    out.set(kind, await factory(ctx));
  }
  return out;
}
