/** LeanHistogram renders exactly what prom-client's Histogram renders for the same observations (so dashboards
 *  and alerts see no difference), including values on bucket bounds, above the last bound, and after reset. */
import t from 'tap';
import { Histogram, Registry } from 'prom-client';
import { LeanHistogram } from '../../src/http/lean-histogram.ts';

const buckets = [0.001, 0.01, 0.1, 1];
const values = [0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.99, 1, 1.5, 42];


t.test('same text as prom-client for the same observations', async (t) => {
  const reference = new Registry(), lean = new Registry();
  const h = new Histogram({ name: 'x_seconds', help: 'test', buckets, registers: [reference] });
  const l = new LeanHistogram({ name: 'x_seconds', help: 'test', buckets, registers: [lean] });
  for (const v of values) { h.observe(v); l.observe(v); }
  t.equal(await lean.metrics(), await reference.metrics());
  t.match(await lean.metrics(), /x_seconds_bucket\{le="\+Inf"\} 11\nx_seconds_sum [\d.]+\nx_seconds_count 11/);
});

t.test('reset, and nothing observed', async (t) => {
  const reference = new Registry(), lean = new Registry();
  new Histogram({ name: 'y_seconds', help: 'test', buckets, registers: [reference] });
  const l = new LeanHistogram({ name: 'y_seconds', help: 'test', buckets, registers: [lean] });
  l.observe(0.5);
  l.reset();
  t.equal(await lean.metrics(), await reference.metrics());
});

t.test('buckets that do not increase are refused', async (t) => {
  t.throws(() => new LeanHistogram({ name: 'z', help: 'z', buckets: [0.1, 0.1], registers: [] }), /buckets must increase/);
});
