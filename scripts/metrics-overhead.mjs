// What the Prometheus provider adds to each request: the cost of one latency data point in
// ServerStats with no provider, with zkts's provider (a count, a sum and a uniform sample, read at
// scrape time) and with prom-client's own Summary (ZooKeeper's quantiles and 10-minute window),
// in ns per data point. Build first: npm run build; then node scripts/metrics-overhead.mjs
import { Summary as PromSummary, Registry } from 'prom-client';
import { Summary } from '../dist/src/server/server-stats.js';
import { WindowedSummary } from '../dist/src/server/metrics/prometheus.js';

const N = 2_000_000;
const values = Float64Array.from({ length: 4096 }, () => Math.floor(Math.random() * 8));

function nsPerPoint(summary) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) summary.add(values[i & 4095]);
  return Number(process.hrtime.bigint() - t0) / N;
}

const setups = {
  'no provider': () => new Summary('readlatency', true),
  'zkts provider (WindowedSummary)': () => {
    const s = new Summary('readlatency', true);
    const w = new WindowedSummary('readlatency', [0.5, 0.9, 0.99]);
    s.mirror = w.observe.bind(w);
    return s;
  },
  'prom-client Summary': () => {
    const s = new Summary('readlatency', true);
    const p = new PromSummary({ name: 'readlatency', help: 'readlatency', percentiles: [0.5, 0.9, 0.99], maxAgeSeconds: 600, ageBuckets: 5, registers: [new Registry()] });
    s.mirror = (v) => p.observe(v);
    return s;
  },
};

const results = {};
for (let round = 0; round < 5; round++) {
  for (const [name, make] of Object.entries(setups)) (results[name] ??= []).push(nsPerPoint(make()));
}
for (const [name, r] of Object.entries(results)) {
  const sorted = [...r].sort((a, b) => a - b);
  console.log(`${name.padEnd(34)} median ${sorted[2].toFixed(1)} ns per data point (5 rounds of ${N.toLocaleString()})`);
}
