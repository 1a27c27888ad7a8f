/**
 * ZooKeeper 3.8's PrometheusMetricsProvider: GET /metrics on metricsProvider.httpHost:httpPort, in
 * Prometheus's text format (prom-client), with ZooKeeper's metric names, types, help texts (the
 * name, as ZooKeeper registers them) and summary quantiles.
 *
 * Nothing is done on the request path beyond what ServerStats already does: each summary keeps a
 * count, a sum and a small uniform sample per two minutes (zkts's Summary hands it each value),
 * and quantiles and gauges are computed when Prometheus scrapes. prom-client's own Summary would
 * push every value into five t-digests per request (docs/benchmarks.md has the measurement).
 */
import { createServer } from 'node:http';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { listenHttp, type HttpEndpoint } from '../admin/admin-server.js';
import type { AdminContext } from '../admin/commands.js';
import type { ServerConfig } from '../config.js';
import { monitorValues } from '../four-letter-commands.js';
import type { ServerStats, Summary } from '../server-stats.js';
import { JavaDouble } from '../server-stats.js';

/** ZooKeeperServer.registerMetrics' gauges that zkts measures (mntr's keys of the same names). */
const GAUGES = [
  'avg_latency', 'max_latency', 'min_latency', 'packets_received', 'packets_sent', 'num_alive_connections',
  'outstanding_requests', 'uptime', 'znode_count', 'watch_count', 'ephemerals_count', 'approximate_data_size',
  'global_sessions', 'local_sessions', 'open_file_descriptor_count', 'max_file_descriptor_count',
] as const;

/** The gauges of a quorum's servers: quorum_size (QuorumZooKeeperServer), the leader's and follower's. */
const QUORUM_GAUGES = ['quorum_size', 'learners', 'synced_followers', 'synced_non_voting_followers', 'synced_observers', 'pending_syncs'] as const;

/**
 * A gauge read at scrape time. Unlike prom-client's Gauge, one whose value zkts does not have
 * (a leader's figure on a follower, fd counts without /proc) has no sample rather than a 0.
 */
class ScrapedGauge {
  readonly type = 'gauge';
  readonly help: string;

  constructor(readonly name: string, private readonly value: () => number | undefined) {
    this.help = name;
  }

  get(): { name: string; help: string; type: string; values: { labels: Record<string, never>; value: number }[]; aggregator: string } {
    const v = this.value();
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values: v === undefined ? [] : [{ labels: {}, value: v }] };
  }
}

/** DetailLevel.ADVANCED summaries have these quantiles; BASIC ones only the median (PrometheusSummary). */
const ADVANCED = [0.5, 0.9, 0.99];
const BASIC = [0.5];

/** simpleclient's Summary window: quantiles over the last 10 minutes, in 5 slots of 2 minutes. */
const SLOT_MS = 120_000;
const SLOTS = 5;
const SAMPLES_PER_SLOT = 1024;

/** One slot of a window: how many values arrived, and a uniform sample of them (Vitter's algorithm R). */
class Slot {
  count = 0;
  readonly samples: number[] = [];

  add(value: number): void {
    this.count++;
    if (this.samples.length < SAMPLES_PER_SLOT) this.samples.push(value);
    else {
      const i = Math.floor(Math.random() * this.count);
      if (i < SAMPLES_PER_SLOT) this.samples[i] = value;
    }
  }
}

/**
 * A Prometheus summary fed by one of zkts's Summaries: count and sum since start (a summary's
 * count never goes back, whatever srst does to mntr's), quantiles over the window.
 */
export class WindowedSummary {
  readonly type = 'summary';
  readonly help: string;
  private count = 0;
  private sum = 0;
  private slots: Slot[] = [new Slot()];

  constructor(readonly name: string, private readonly quantiles: number[]) {
    this.help = name;
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    this.slots[0]!.add(value);
  }

  /** Counts what a server recorded before this summary was attached to it (the startup snapshot, a learner's sync). */
  include(recorded: { count: number; sum: number }): void {
    this.count += recorded.count;
    this.sum += recorded.sum;
  }

  /** Starts a new slot; the oldest of SLOTS leaves the window. */
  rotate(): void {
    this.slots = [new Slot(), ...this.slots].slice(0, SLOTS);
  }

  /** The quantile of the window's values: each sample stands for count/samples values of its slot. */
  quantile(q: number): number {
    const weighted: [number, number][] = [];
    let total = 0;
    for (const slot of this.slots) {
      if (slot.samples.length === 0) continue;
      const weight = slot.count / slot.samples.length;
      for (const v of slot.samples) weighted.push([v, weight]);
      total += slot.count;
    }
    if (total === 0) return NaN;
    weighted.sort((a, b) => a[0] - b[0]);
    let seen = 0;
    for (const [v, w] of weighted) {
      seen += w;
      if (seen >= q * total) return v;
    }
    return weighted[weighted.length - 1]![0];
  }

  /**
   * prom-client's Metric.get(), called at scrape time. With no value in the window the quantiles
   * are left out (simpleclient writes NaN; prom-client would write "Nan", which Prometheus rejects).
   */
  get(): { name: string; help: string; type: string; values: { metricName?: string; labels: Record<string, number>; value: number }[]; aggregator: string } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: 'sum',
      values: [
        ...this.quantiles.flatMap((q) => {
          const value = this.quantile(q);
          return Number.isNaN(value) ? [] : [{ labels: { quantile: q }, value }];
        }),
        { metricName: `${this.name}_sum`, labels: {}, value: this.sum },
        { metricName: `${this.name}_count`, labels: {}, value: this.count },
      ],
    };
  }
}

/** The summaries zkts measures, by ZooKeeper's ServerMetrics name. */
function summariesOf(stats: ServerStats): [Summary, number[]][] {
  return [
    [stats.readLatency, ADVANCED],
    [stats.updateLatency, ADVANCED],
    [stats.fsyncTime, BASIC],
    [stats.batchSize, BASIC],
    [stats.snapshotTime, BASIC],
  ];
}

export interface MetricsEndpoint extends HttpEndpoint {
  /** The text Prometheus would scrape now (also what GET /metrics answers). */
  scrape(): Promise<string>;
}

/**
 * Starts /metrics. `context` is read at each scrape; `stats` are the figures the summaries mirror
 * (a quorum peer's server changes with its role: call attach() with each new one).
 */
export async function startPrometheus(config: ServerConfig, log: Logger, context: () => AdminContext): Promise<MetricsEndpoint & { attach(stats: ServerStats): void }> {
  const registry = new Registry();
  // exportJvmInfo: Node's process_* metrics are the same as the JVM's (Prometheus's standard
  // process metrics); Node's runtime (nodejs_*) stands for the jvm_* ones.
  if (config.metricsExportProcessInfo) collectDefaultMetrics({ register: registry });
  // Sampled once per scrape, just before the page is written (ZooKeeper's "little trick").
  let sampled = new Map<string, number>();
  // Only a quorum peer has the quorum gauges.
  for (const name of [...GAUGES, ...(config.servers.length > 0 ? QUORUM_GAUGES : [])]) {
    registry.registerMetric(new ScrapedGauge(name, () => sampled.get(name)) as never);
  }
  const summaries = new Map<string, WindowedSummary>();
  let attached: ServerStats | undefined;
  const attach = (stats: ServerStats) => {
    if (stats === attached) return;
    if (attached) for (const [s] of summariesOf(attached)) s.mirror = undefined;
    attached = stats;
    for (const [s, quantiles] of summariesOf(stats)) {
      let summary = summaries.get(s.name);
      if (!summary) {
        summary = new WindowedSummary(s.name, quantiles);
        summaries.set(s.name, summary);
        registry.registerMetric(summary as never);
      }
      summary.include(s.recorded);
      s.mirror = summary.observe.bind(summary);
    }
  };
  const rotation = setInterval(() => summaries.forEach((s) => s.rotate()), SLOT_MS);
  rotation.unref();

  const scrape = async (): Promise<string> => {
    const ctx = context();
    sampled = new Map();
    if (ctx.server) {
      attach(ctx.server.stats);
      for (const [name, v] of monitorValues({ ...ctx, server: ctx.server })) {
        if (typeof v !== 'string') sampled.set(name, v instanceof JavaDouble ? v.value : v);
      }
    }
    if (config.servers.length > 0) sampled.set('quorum_size', config.servers.filter((s) => s.role === 'participant').length);
    return registry.metrics();
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    scrape().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'metrics: scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed; see the server log\n');
      },
    );
  });
  const endpoint = await listenHttp(server, config.metricsHttpHost, config.metricsHttpPort, 'Prometheus metrics endpoint');
  log.info({ address: endpoint.address, port: endpoint.port }, 'Prometheus metrics served at /metrics');
  const initial = context().server;
  if (initial) attach(initial.stats);
  return {
    ...endpoint,
    scrape,
    attach,
    close: async () => {
      clearInterval(rotation);
      if (attached) for (const [s] of summariesOf(attached)) s.mirror = undefined;
      await endpoint.close();
    },
  };
}
