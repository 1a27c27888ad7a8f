import { describe, expect, it } from 'vitest';
import { ServerStats, Summary, javaDouble } from '../../src/server/server-stats.js';

describe('Summary (ZooKeeper AvgMinMaxCounter / AvgMinMaxPercentileCounter)', () => {
  it('reports 0 for min, max and avg before any data', () => {
    const s = new Summary('fsynctime');
    expect(s.rows()).toEqual([
      ['avg_fsynctime', '0.0'],
      ['min_fsynctime', '0'],
      ['max_fsynctime', '0'],
      ['cnt_fsynctime', '0'],
      ['sum_fsynctime', '0'],
    ]);
  });

  it('rounds the average half-up to 4 decimals, as BigDecimal.setScale(4, HALF_UP)', () => {
    const s = new Summary('x');
    s.add(1);
    for (let i = 0; i < 31; i++) s.add(0);
    expect(s.average).toBe(0.0313); // 1/32 = 0.03125
    const t = new Summary('y');
    t.add(2);
    t.add(0);
    t.add(0);
    expect(t.average).toBe(0.6667);
    expect(t.minimum).toBe(0);
    expect(t.maximum).toBe(2);
  });

  it('interpolates percentiles as Dropwizard UniformSnapshot and rounds them as Math.round', () => {
    const s = new Summary('updatelatency', true);
    for (let v = 1; v <= 10; v++) s.add(v);
    const rows = new Map(s.rows());
    // p50: position 0.5 * 11 = 5.5 -> 5 + 0.5 * (6 - 5) = 5.5 -> 6; p95 and above: past the end -> 10
    expect(rows.get('p50_updatelatency')).toBe('6');
    expect(rows.get('p95_updatelatency')).toBe('10');
    expect(rows.get('p999_updatelatency')).toBe('10');
    expect(rows.get('avg_updatelatency')).toBe('5.5');
    expect(rows.get('sum_updatelatency')).toBe('55');
    expect([...rows.keys()]).toEqual([
      'avg_updatelatency',
      'min_updatelatency',
      'max_updatelatency',
      'cnt_updatelatency',
      'sum_updatelatency',
      'p50_updatelatency',
      'p95_updatelatency',
      'p99_updatelatency',
      'p999_updatelatency',
    ]);
  });

  it('keeps a bounded sample for percentiles', () => {
    const s = new Summary('readlatency', true);
    for (let i = 0; i < 100_000; i++) s.add(i % 100);
    const rows = new Map(s.rows());
    expect(rows.get('cnt_readlatency')).toBe('100000');
    expect(Number(rows.get('p50_readlatency'))).toBeGreaterThan(30);
    expect(Number(rows.get('p50_readlatency'))).toBeLessThan(70);
  });
});

describe('javaDouble (Double.toString)', () => {
  it('prints as Java does', () => {
    expect(javaDouble(0)).toBe('0.0');
    expect(javaDouble(12)).toBe('12.0');
    expect(javaDouble(0.3333)).toBe('0.3333');
    expect(javaDouble(0.001)).toBe('0.001');
    expect(javaDouble(0.0005)).toBe('5.0E-4');
    expect(javaDouble(0.00012)).toBe('1.2E-4');
    expect(javaDouble(1e7)).toBe('1.0E7');
    expect(javaDouble(12345678.5)).toBe('1.23456785E7');
  });
});

describe('ServerStats', () => {
  it('splits latencies between logged requests and the others, and srst resets everything', () => {
    const stats = new ServerStats();
    stats.packetsReceived = 5;
    stats.packetsSent = 4;
    stats.requestAnswered(3, true);
    stats.requestAnswered(0, false);
    stats.fsyncTime.add(3);
    stats.batchSize.add(2);
    expect(stats.requestLatency.rows().find(([k]) => k === 'cnt_request_latency')?.[1]).toBe('2');
    expect(new Map(stats.updateLatency.rows()).get('cnt_updatelatency')).toBe('1');
    expect(new Map(stats.readLatency.rows()).get('cnt_readlatency')).toBe('1');
    stats.reset();
    expect(stats.packetsReceived).toBe(0);
    expect(stats.packetsSent).toBe(0);
    for (const s of [stats.requestLatency, ...stats.summaries()]) expect(new Map(s.rows()).get(`cnt_${s.name}`)).toBe('0');
  });
});
