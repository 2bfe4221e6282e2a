/** @module What the hub's routes share: passed in at composition (src/main.ts), never imported as singletons. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Principal } from '../auth/authenticator.ts';
import type { GroupIndex } from '../auth/group-index.ts';
import type { RateLimiter } from '../auth/rate-limit.ts';
import type { SessionCodec } from '../auth/session.ts';
import type { GatewayConfig } from '../config/load.ts';
import type { ActivityTracker } from '../culler/activity.ts';
import type { Logger } from '../log.ts';
import type { RouteTable } from '../routes/route-table.ts';
import type { Orchestrator } from '../spawn/orchestrator.ts';
import type { Store } from '../store/store.ts';
import type { Metrics } from './metrics.ts';

export interface HubContext {
  config: GatewayConfig;
  store: Store;
  auth: Authenticator;
  groups: GroupIndex;
  sessions: SessionCodec;
  loginLimiter: RateLimiter;
  orchestrator: Orchestrator;
  routes: RouteTable;
  activity: ActivityTracker;
  metrics: Metrics;
  log: Logger;
  isolated: boolean;
  version: string;
}

declare module 'fastify' {
  interface FastifyRequest { principal: Principal | null }
  /** For scope checks on a user: their groups, for `!group=` filters. */
  interface FastifyInstance { groupsOf: (user: string) => readonly string[] }
}

export type Req = FastifyRequest;
export type Reply = FastifyReply;
