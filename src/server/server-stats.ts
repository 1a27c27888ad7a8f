/**
 * What srvr, stat and mntr report about requests, measured as Apache ZooKeeper 3.8 measures it
 * (ServerStats, AvgMinMaxCounter, AvgMinMaxPercentileCounter) and printed in its number formats.
 */

/**
 * ZooKeeper's clock for latencies (Time.currentElapsedTime): whole milliseconds of a monotonic
 * clock. A latency is the difference of two such readings, so a request of 0.3 ms counts 1 ms when
 * it crosses a millisecond boundary and 0 otherwise: the average stays true, the extremes whole.
 */
export function elapsedMs(): number {
  return Math.floor(performance.now());
}

/** Samples kept for percentiles (ZooKeeper's ResettableUniformReservoir). */
const RESERVOIR_SIZE = 4096;

/**
 * A summary of whole-number data points (latencies in ms, batch sizes): count, sum, min, max, the
 * average rounded to 4 places, and, when asked for, percentiles over a uniform sample.
 */
export class Summary {
  private count = 0;
  private total = 0;
  private min = Infinity;
  private max = -Infinity;
  private samples: number[] | undefined;
  /** Also given every data point (the Prometheus provider's summary), when set. */
  mirror: ((value: number) => void) | undefined;

  constructor(readonly name: string, withPercentiles = false) {
    if (withPercentiles) this.samples = [];
  }

  add(value: number): void {
    this.count++;
    this.total += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.mirror) this.mirror(value);
    const samples = this.samples;
    if (!samples) return;
    // Vitter's algorithm R, as the reservoir ZooKeeper's percentiles come from.
    if (samples.length < RESERVOIR_SIZE) samples.push(value);
    else {
      const slot = Math.floor(Math.random() * this.count);
      if (slot < RESERVOIR_SIZE) samples[slot] = value;
    }
  }

  /** Data points and their sum since the last reset. */
  get recorded(): { count: number; sum: number } {
    return { count: this.count, sum: this.total };
  }

  get minimum(): number {
    return this.count === 0 ? 0 : this.min;
  }

  get maximum(): number {
    return this.count === 0 ? 0 : this.max;
  }

  /** total / count rounded half-up to 4 decimals (AvgMinMaxCounter.getAvg); 0 with no data. */
  get average(): number {
    if (this.count === 0) return 0;
    const scaled = this.total * 10000;
    const whole = Math.floor(scaled / this.count);
    const rest = scaled - whole * this.count;
    return (2 * rest >= this.count ? whole + 1 : whole) / 10000;
  }

  reset(): void {
    this.count = 0;
    this.total = 0;
    this.min = Infinity;
    this.max = -Infinity;
    if (this.samples) this.samples = [];
  }

  /** mntr's rows for this summary, in ZooKeeper's order: avg, min, max, cnt, sum, then p50..p999. */
  rows(): [string, string][] {
    return this.values().map(([k, v]) => [k, typeof v === 'number' ? String(v) : v.toString()]);
  }

  /** The same rows as values: the average is a double (JSON and mntr print it as Java does), the rest whole numbers. */
  values(): [string, number | JavaDouble][] {
    const n = this.name;
    const rows: [string, number | JavaDouble][] = [
      [`avg_${n}`, new JavaDouble(this.average)],
      [`min_${n}`, this.minimum],
      [`max_${n}`, this.maximum],
      [`cnt_${n}`, this.count],
      [`sum_${n}`, this.total],
    ];
    if (this.samples) {
      const sorted = Float64Array.from(this.samples).sort();
      for (const [label, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99], ['p999', 0.999]] as const) {
        rows.push([`${label}_${n}`, Math.round(quantile(sorted, q))]);
      }
    }
    return rows;
  }
}

/** A value ZooKeeper holds as a Java double: printed "6.0", not "6" (Double.toString). */
export class JavaDouble {
  constructor(readonly value: number) {}
  toString(): string {
    return javaDouble(this.value);
  }
}

/** A quantile of sorted samples, interpolated as Dropwizard's UniformSnapshot.getValue. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = q * (sorted.length + 1);
  const index = Math.floor(pos);
  if (index < 1) return sorted[0]!;
  if (index >= sorted.length) return sorted[sorted.length - 1]!;
  const lower = sorted[index - 1]!;
  const upper = sorted[index]!;
  return lower + (pos - index) * (upper - lower);
}

/** A double as Java's Double.toString prints it: "0.0", "12.5", "5.0E-4", "1.0E7". */
export function javaDouble(x: number): string {
  if (x === 0) return '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exponent] = x.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

/** One server's request figures (ZooKeeper's ServerStats plus the ServerMetrics summaries zkts measures). */
export class ServerStats {
  /** Frames read from clients, four-letter words included; replies and events queued to them. */
  packetsReceived = 0;
  packetsSent = 0;
  /** Every answered request, from the arrival of its frame to its reply. */
  readonly requestLatency = new Summary('request_latency');
  /** The same, split as ZooKeeper splits it: requests that went through the log, and the others. */
  readonly updateLatency = new Summary('updatelatency', true);
  readonly readLatency = new Summary('readlatency', true);
  /** Each fsync of the txn log, in ms, and the txns each write of the log carried. */
  readonly fsyncTime = new Summary('fsynctime');
  readonly batchSize = new Summary('sync_processor_batch_size');
  /** Each snapshot written, in ms (ZooKeeper's snapshottime). */
  readonly snapshotTime = new Summary('snapshottime');

  /** Records an answered request's latency (ms); `logged`: it went through the txn log. */
  requestAnswered(latency: number, logged: boolean): void {
    this.requestLatency.add(latency);
    (logged ? this.updateLatency : this.readLatency).add(latency);
  }

  /** srst: ZooKeeper's ServerStats.reset, which also resets every ServerMetrics summary. */
  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    for (const s of [this.requestLatency, ...this.summaries()]) s.reset();
  }

  /** The summaries mntr lists after the ServerStats keys. */
  summaries(): Summary[] {
    return [this.fsyncTime, this.snapshotTime, this.batchSize, this.updateLatency, this.readLatency];
  }
}
