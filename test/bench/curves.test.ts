/**
 * The pure parts of the scale curves (src/bench/curves.ts): step lists, medians and zkts/ZooKeeper
 * ratios per step, the tables, chart files and the line charts; and the CLI's step options.
 */
import { describe, expect, test } from 'vitest';
import { curveChartFile, curveSeries, parseSteps, renderCurveSvg, renderCurveTables, stepLabel, xScale } from '../../src/bench/curves.js';
import { buildConfig } from '../../src/bench/index.js';
import type { RunResult } from '../../src/bench/workloads.js';

function run(target: string, step: number, round: number, figures: Record<string, number>): RunResult {
  return {
    workload: 'scale-sessions',
    target,
    round,
    params: { step, stepOf: 'idle sessions' },
    errors: {},
    errorCount: 0,
    figures: Object.entries(figures).map(([name, value]) => ({ name, value, better: name.endsWith('/s') ? 'up' : 'down' })),
  };
}

describe('parseSteps', () => {
  test('k and M suffixes, underscores, spaces', () => {
    expect(parseSteps('100, 1k,10_000,20K,2M', 'x')).toEqual([100, 1000, 10_000, 20_000, 2_000_000]);
  });
  test('fractions that make whole numbers are fine; others are not', () => {
    expect(parseSteps('1.5k,2.5M', 'x')).toEqual([1500, 2_500_000]);
    expect(() => parseSteps('1.5', 'znode-steps')).toThrow(/--znode-steps: '1.5'/);
  });
  test('bad input is a clear error', () => {
    expect(() => parseSteps('10,abc', 'session-steps')).toThrow(/--session-steps: 'abc' is not a whole number/);
    expect(() => parseSteps('0,10', 'x')).toThrow(/'0'/);
    expect(() => parseSteps('', 'x')).toThrow(/no steps/);
    expect(() => parseSteps('1k,1000', 'x')).toThrow(/must grow, got 1000 then 1000/);
    expect(() => parseSteps('10k,1k', 'x')).toThrow(/must grow/);
  });
});

test('stepLabel', () => {
  expect([5, 100, 1000, 1500, 10_000, 1_000_000, 2_500_000, 1234].map(stepLabel)).toEqual(['5', '100', '1k', '1.5k', '10k', '1M', '2.5M', '1234']);
});

test('curveChartFile: the file itself when it is the only chart, else one per curve', () => {
  expect(curveChartFile('docs/scale.svg', 'scale-znodes', true)).toBe('docs/scale.svg');
  expect(curveChartFile('docs/scale.svg', 'scale-znodes', false)).toBe('docs/scale-scale-znodes.svg');
  expect(curveChartFile('out', 'scale-load', false)).toBe('out-scale-load.svg');
});

describe('curveSeries', () => {
  const results = [
    run('zkts', 1000, 1, { 'RSS per session KB': 4, 'connect sessions/s': 900 }),
    run('zkts', 1000, 2, { 'RSS per session KB': 6, 'connect sessions/s': 1100 }),
    run('zkts', 1000, 3, { 'RSS per session KB': 100, 'connect sessions/s': 1000 }),
    run('zookeeper', 1000, 1, { 'RSS per session KB': 10, 'connect sessions/s': 500 }),
    run('zkts', 100, 1, { 'RSS per session KB': 8 }),
    run('zookeeper', 100, 1, { 'RSS per session KB': 16, 'connect sessions/s': 250 }),
    { ...run('zookeeper', 10_000, 1, {}), skipped: 'no' },
    { ...run('zkts', 100, 1, { 'RSS per session KB': 1 }), workload: 'scale-znodes' as const },
  ];

  test('steps ascending, the median over rounds per target and step, ratios where both have one', () => {
    const [rss, rate] = curveSeries(results, 'scale-sessions', ['zkts', 'zookeeper']);
    expect(rss!.figure).toBe('RSS per session KB');
    expect(rss!.better).toBe('down');
    expect(rss!.steps).toEqual([100, 1000]);
    expect(rss!.values.get('zkts')).toEqual([8, 6]);
    expect(rss!.values.get('zookeeper')).toEqual([16, 10]);
    expect(rss!.ratios).toEqual([0.5, 0.6]);
    expect(rate!.figure).toBe('connect sessions/s');
    expect(rate!.values.get('zkts')).toEqual([undefined, 1000]);
    expect(rate!.ratios).toEqual([undefined, 2]);
  });

  test('the table lists each figure per step with the ratio', () => {
    const text = renderCurveTables(results, ['scale-sessions'], ['zkts', 'zookeeper']);
    expect(text).toContain('scale-sessions (step: idle sessions)');
    const row = text.split('\n').find((l) => l.trim().startsWith('1k') && l.includes('0.600'));
    expect(row).toBeDefined();
    expect(row!.trim().split(/\s+/)).toEqual(['1k', '6.00', '10.0', '0.600']);
  });

  test('the chart: a panel per figure, a line per target through its points', () => {
    const svg = renderCurveSvg(results, 'scale-sessions', ['zkts', 'zookeeper'], 'title & <more>');
    expect(svg).toContain('title &amp; &lt;more&gt;');
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg).toContain('RSS per session KB ↓ (zkts/zk at 1k: 0.600)');
    expect(svg).toContain('<title>zookeeper at 1k: 10.0</title>');
    // connect sessions/s has one zkts point: a line of one point, still drawn as a dot.
    expect(svg.match(/<title>zkts at 100: /g)).toHaveLength(1);
  });
});

test('xScale: linear over a small span, logarithmic over a large one', () => {
  const lin = xScale([100, 200, 300], 200);
  expect([lin(100), lin(200), lin(300)]).toEqual([0, 100, 200]);
  const log = xScale([1000, 10_000, 100_000], 200);
  expect([log(1000), log(10_000), log(100_000)].map((x) => Math.round(x))).toEqual([0, 100, 200]);
  expect(xScale([5], 200)(5)).toBe(100);
});

describe('buildConfig: the curve options', () => {
  test('defaults, and each list parsed', () => {
    const d = buildConfig({});
    expect(d.sessionSteps).toEqual([100, 1000, 10_000]);
    expect(d.clientAddresses).toBe(1);
    const c = buildConfig({ sessionSteps: '1k,50k', znodeSteps: '1k,2M', watchSteps: '100', rateSteps: '5k,10k', clientAddresses: '3' });
    expect([c.sessionSteps, c.znodeSteps, c.watchSteps, c.rateSteps, c.clientAddresses]).toEqual([[1000, 50_000], [1000, 2_000_000], [100], [5000, 10_000], 3]);
  });
  test('bad values are clear errors', () => {
    expect(() => buildConfig({ clientAddresses: '0' })).toThrow(/--client-addresses must be 1 to 254/);
    expect(() => buildConfig({ clientAddresses: '300' })).toThrow(/--client-addresses/);
    expect(() => buildConfig({ rateSteps: '10k,5k' })).toThrow(/--rate-steps: steps must grow/);
  });
});
