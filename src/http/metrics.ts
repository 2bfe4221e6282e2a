/** @module Prometheus metrics (prom-client) with pre-bound label sets; the proxy's hot path pays one
 *  LeanHistogram observation per request (a few array operations) and no label hashing. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FailureKind } from '../../proxy/error-status.ts';
import { LeanHistogram } from './lean-histogram.ts';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  readonly hubRequests = new Histogram({ name: 'kicloud_hub_request_duration_seconds', help: 'Hub pages and REST API, by status class',
    labelNames: ['code'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly #proxy = new LeanHistogram({ name: 'kicloud_proxy_request_duration_seconds', help: 'Proxied requests to user servers, until response headers',
    buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly #proxyErrors = new Counter({ name: 'kicloud_proxy_errors_total', help: 'Proxied requests answered by the gateway with an error',
    labelNames: ['kind'], registers: [this.registry] });
  readonly #spawns = new Histogram({ name: 'kicloud_spawn_duration_seconds', help: 'Spawn request to ready (or failure)',
    labelNames: ['status'], buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300], registers: [this.registry] });
  readonly running = new Gauge({ name: 'kicloud_running_servers', help: 'User servers with a live route', registers: [this.registry] });
  readonly spawnsWaiting = new Gauge({ name: 'kicloud_spawns_waiting', help: 'Spawns waiting for a start slot (spawn.concurrent_spawn_limit)', registers: [this.registry] });
  readonly websockets = new Gauge({ name: 'kicloud_proxy_websockets', help: 'Open proxied WebSocket connections', registers: [this.registry] });
  readonly culls = new Counter({ name: 'kicloud_culls_total', help: 'Servers stopped by the culler', labelNames: ['reason'], registers: [this.registry] });

  readonly observeProxy = this.#proxy.observe;
  readonly #errorCounters = new Map<string, Counter.Internal>();

  constructor() {
    // The event-loop lag metric samples on a libuv timer, every 10 ms by default: an idle gateway then woke 100
    // times a second (6 ms of CPU per second, doing nothing). Every 100 ms still shows a loop that lags.
    collectDefaultMetrics({ register: this.registry, prefix: 'kicloud_', eventLoopMonitoringPrecision: 100 });
  }

  proxyError(kind: FailureKind): void {
    let c = this.#errorCounters.get(kind);
    if (!c) this.#errorCounters.set(kind, (c = this.#proxyErrors.labels(kind)));
    c.inc();
  }

  spawnDone(status: 'success' | 'failure' | 'cancelled', seconds: number): void { this.#spawns.labels(status).observe(seconds); }

  /** When the served TLS certificate expires (Unix time), registered only when the gateway serves TLS. */
  tlsExpiry(): Gauge {
    const name = 'kicloud_tls_certificate_expiry_timestamp_seconds';
    return (this.registry.getSingleMetric(name) as Gauge | undefined)
      ?? new Gauge({ name, help: 'When the served TLS certificate expires (Unix time)', registers: [this.registry] });
  }
}
