/** @module A label-free histogram for the proxy's hot path. prom-client's `observe()` converts, validates and
 *  hashes labels on every call (about 1 % of the gateway's CPU per proxied request in a profile); this one adds
 *  to an array, and renders the same Prometheus series when the registry is scraped. */
import type { Registry } from 'prom-client';

export class LeanHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #counts: Float64Array;                     // per bucket, not cumulative; the last one is +Inf
  #sum = 0;

  constructor(o: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    if (!o.buckets.every((b, i) => i === 0 || b > o.buckets[i - 1]!)) throw new Error(`${o.name}: buckets must increase`);
    this.name = o.name;
    this.help = o.help;
    this.#bounds = o.buckets;
    this.#counts = new Float64Array(o.buckets.length + 1);
    for (const r of o.registers) r.registerMetric(this as never);
  }

  observe = (seconds: number): void => {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    this.#counts[i]!++;
    this.#sum += seconds;
  };

  /** What prom-client's registry renders: cumulative `_bucket` series with `le`, then `_sum` and `_count`. */
  async get() {
    let cumulative = 0;
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    this.#bounds.forEach((le, i) => {
      cumulative += this.#counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    });
    cumulative += this.#counts[this.#bounds.length]!;
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.#sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: cumulative });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
  }
}
