/** Latency samples and the summaries the benchmark reports. */

/** A growable array of samples (milliseconds), cheap to append to and to move between threads. */
export class Samples {
  private buf: Float64Array;
  length = 0;

  constructor(initial = 1024) {
    this.buf = new Float64Array(initial);
  }

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  /** The samples as a compact array (a copy, safe to transfer). */
  toArray(): Float64Array {
    return this.buf.slice(0, this.length);
  }
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Concatenates sample arrays (from several threads) and summarizes them; all values in ms. */
export function summarize(parts: Float64Array[]): LatencySummary {
  let n = 0;
  for (const p of parts) n += p.length;
  const all = new Float64Array(n);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  all.sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += all[i]!;
  const at = (q: number) => (n === 0 ? 0 : all[Math.min(n - 1, Math.ceil(q * n) - 1)]!);
  return { count: n, mean: n === 0 ? 0 : sum / n, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: n === 0 ? 0 : all[n - 1]! };
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Adds counts of `from` into `into` (errors by code name). */
export function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** A tiny deterministic PRNG (xorshift32), one per session: key choice must not cost more than the request. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed * 2654435761) >>> 0 || 1;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s % n;
  }
}
