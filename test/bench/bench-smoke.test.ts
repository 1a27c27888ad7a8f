/**
 * `zkts bench --smoke` (the built CLI) runs every workload, tiny, and reports well-formed JSON with
 * no errors: once in compare mode against zkts and the ceiling server (the tool starts both, so the
 * populate and restart steps run too), once against a connect string (an in-process ceiling server)
 * with the sessions spread over two worker threads. No speed is asserted. Build first: `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCeilingServer, type CeilingServer } from '../../src/bench/ceiling-server.js';
import { WORKLOADS } from '../../src/bench/index.js';
import { DIST, skipWithout } from '../support/requirements.js';
import { ZKTS_BIN } from '../support/servers.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bench(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ZKTS_BIN, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface RunLine {
  type: 'run';
  workload: string;
  target: string;
  round: number;
  skipped?: string;
  errors: Record<string, number>;
  errorCount: number;
  figures: { name: string; value: number; better: string }[];
  latencyMs?: { count: number; p50: number; p99: number; p999: number; max: number };
  server?: { pid: number; cpuPct: number; rssEndMB: number };
  clientCpuPct?: number;
}

/** Every JSON line of stdout, parsed (a line that starts with '{' and does not parse fails the test). */
function jsonLines(stdout: string): { runs: RunLine[]; summary: { type: 'summary'; runs: number; errorCount: number } } {
  const objs = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string });
  const summary = objs.filter((o) => o.type === 'summary');
  expect(summary).toHaveLength(1);
  return { runs: objs.filter((o): o is RunLine => o.type === 'run'), summary: summary[0] as never };
}

function expectWellFormed(r: RunLine): void {
  expect(typeof r.workload).toBe('string');
  expect(typeof r.target).toBe('string');
  expect(r.errors, `${r.workload} on ${r.target}: ${JSON.stringify(r.errors)}`).toEqual({});
  expect(r.errorCount).toBe(0);
  if (r.skipped) return;
  expect(r.figures.length).toBeGreaterThan(0);
  for (const f of r.figures) {
    expect(typeof f.name).toBe('string');
    expect(Number.isFinite(f.value), `${r.workload} on ${r.target}: ${f.name} = ${f.value}`).toBe(true);
  }
}

describe.skipIf(skipWithout(DIST))('zkts bench --smoke', () => {
  let ceiling: CeilingServer;
  beforeAll(async () => {
    ceiling = await startCeilingServer(0);
  });
  afterAll(async () => {
    await ceiling?.close();
  });

  test('compare mode on zkts and the ceiling server: every workload, zero errors', async () => {
    const r = await bench(['--smoke', '--compare', '--servers', 'zkts,ceiling']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const { runs, summary } = jsonLines(r.stdout);
    expect(summary.errorCount).toBe(0);
    expect(summary.runs).toBe(runs.length);
    for (const run of runs) expectWellFormed(run);
    // Every workload ran on zkts (restart reports populate too), with the server's /proc figures;
    // failover needs ensembles (next test).
    expect(runs.some((x) => x.workload === 'failover')).toBe(false);
    for (const w of WORKLOADS.filter((x) => x !== 'failover')) {
      const run = runs.find((x) => x.workload === w && x.target === 'zkts');
      expect(run, `no ${w} run on zkts`).toBeDefined();
      expect(run!.skipped).toBeUndefined();
    }
    const read = runs.find((x) => x.workload === 'read' && x.target === 'zkts')!;
    expect(read.latencyMs!.count).toBeGreaterThan(0);
    expect(read.server!.pid).toBeGreaterThan(0);
    expect(read.server!.rssEndMB).toBeGreaterThan(0);
    // The machine's steal and iowait over the window, read from /proc/stat beside each timed run.
    for (const name of ['host CPU steal %', 'host iowait %']) {
      const f = read.figures.find((x) => x.name === name);
      expect(f, name).toBeDefined();
      expect(f!.value).toBeGreaterThanOrEqual(0);
      expect(f!.value).toBeLessThanOrEqual(100);
    }
    expect(runs.find((x) => x.workload === 'read' && x.target === 'ceiling')!.latencyMs!.count).toBeGreaterThan(0);
    // The ceiling notifies watchers too (summary.errorCount above counts any MISSED_NOTIFICATION).
    expect(runs.find((x) => x.workload === 'watch' && x.target === 'ceiling')!.latencyMs!.count).toBeGreaterThan(0);
    // The readable table follows the JSON.
    expect(r.stdout).toMatch(/zkts\/ceiling/);
  }, 90_000);

  test('compare mode on 3-server zkts ensembles: writes spread over the members, failover after kill -9 of the leader', async () => {
    const r = await bench(['--smoke', '--compare', '--ensemble', '3', '--servers', 'zkts', 'write', 'failover']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const { runs } = jsonLines(r.stdout);
    for (const run of runs) expectWellFormed(run);
    const write = runs.find((x) => x.workload === 'write')!;
    expect(write.latencyMs!.count).toBeGreaterThan(0);
    // CPU and RSS are the three members' summed: more than one server's ~40 MB.
    expect(write.server!.rssEndMB).toBeGreaterThan(3 * 30);
    const failover = runs.find((x) => x.workload === 'failover')!;
    expect(failover.skipped).toBeUndefined();
    expect(failover.latencyMs!.count).toBe(1); // --smoke: one kill
    expect(failover.figures.find((f) => f.name === 'failover p50 ms')!.value).toBeGreaterThan(0);
  }, 120_000);

  test('the scale curves on zkts and the ceiling: a run per step, sessions from two loopback addresses, a chart per curve', async () => {
    const chart = join(mkdtempSync(join(tmpdir(), 'zkts-bench-chart-')), 'scale.svg');
    const curves = ['scale-sessions', 'scale-znodes', 'scale-watches', 'scale-watch-count', 'scale-load'];
    const r = await bench(['--smoke', '--compare', '--servers', 'zkts,ceiling', '--client-addresses', '2', '--chart', chart, ...curves]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const { runs, summary } = jsonLines(r.stdout);
    expect(summary.errorCount).toBe(0);
    for (const run of runs) expectWellFormed(run);
    const steps = (w: string, target: string) => runs.filter((x) => x.workload === w && x.target === target && !x.skipped).map((x) => (x as unknown as { params: { step: number } }).params.step);
    // --smoke's steps; every step's run on zkts (and the tree's reads and writes found every znode: no NONODE).
    expect(steps('scale-sessions', 'zkts')).toEqual([5, 20]);
    expect(steps('scale-znodes', 'zkts')).toEqual([50, 200]);
    expect(steps('scale-watches', 'zkts')).toEqual([5, 20]);
    expect(steps('scale-watch-count', 'zkts')).toEqual([50, 200]);
    // Every exists() of a step answered (NONODE, with its watch set): 50, then 150 more.
    const armed = runs.filter((x) => x.workload === 'scale-watch-count' && x.target === 'zkts').map((x) => (x as unknown as { params: { watchesSet: number } }).params.watchesSet);
    expect(armed).toEqual([50, 150]);
    expect(steps('scale-load', 'zkts')).toEqual([200, 500]);
    expect(steps('scale-load', 'ceiling')).toEqual([200, 500]);
    // The ceiling notifies its watchers (the floor of a fan-out), and every one was notified: no MISSED_NOTIFICATION.
    expect(steps('scale-watches', 'ceiling')).toEqual([5, 20]);
    for (const w of ['scale-znodes', 'scale-watch-count']) expect(runs.find((x) => x.workload === w && x.target === 'ceiling')!.skipped).toBeDefined();
    const big = runs.find((x) => x.workload === 'scale-sessions' && x.target === 'zkts' && (x as unknown as { params: { connected: number } }).params.connected === 20);
    expect(big, 'all 20 sessions connected').toBeDefined();
    const tree = runs.filter((x) => x.workload === 'scale-znodes' && x.target === 'zkts');
    for (const t of tree) {
      const names = t.figures.map((f) => f.name);
      expect(names).toEqual(expect.arrayContaining(['RSS per znode B', 'creates/s', 'setData ops/s', 'setData p99 ms', 'setData p999 ms', 'getData ops/s', 'getData p99 ms']));
    }
    expect(r.stdout).toContain('scale-znodes (step: znodes of --value-size bytes)');
    for (const c of curves) {
      const svg = readFileSync(chart.replace(/\.svg$/, `-${c}.svg`), 'utf8');
      expect(svg).toContain('<polyline ');
    }
  }, 120_000);

  test('a connect string, sessions on two worker threads', async () => {
    const chart = join(mkdtempSync(join(tmpdir(), 'zkts-bench-chart-')), 'bench.svg');
    const r = await bench(['read', 'write', 'mixed', 'create-delete', 'write-paced', 'populate', '--smoke', '--threads', '2', '--rate', '2000', '--connect', `127.0.0.1:${ceiling.port}`, '--chart', chart]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // A progress bar before each of the 6 runs, and the chart: a panel per workload, a bar per figure.
    expect(r.stderr).toMatch(/^\[-{20}\] 0\/6 round 1\/1: read on /m);
    expect(r.stderr).toMatch(/^\[#{17}-{3}\] 5\/6 round 1\/1: populate on /m);
    const svg = readFileSync(chart, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const w of ['read', 'write', 'mixed', 'create-delete', 'write-paced', 'populate']) expect(svg).toContain(`>${w}</text>`);
    expect(svg.match(/<rect /g)!.length).toBeGreaterThan(12);
    const { runs, summary } = jsonLines(r.stdout);
    expect(summary.errorCount).toBe(0);
    expect(runs.map((x) => x.workload)).toEqual(['read', 'write', 'mixed', 'create-delete', 'write-paced', 'populate']);
    // The open loop offers what --rate says, split over the threads, and never more.
    const paced = runs.find((x) => x.workload === 'write-paced')!;
    expect(paced.figures.find((f) => f.name === 'offered ops/s')!.value).toBe(2000);
    expect(paced.figures.find((f) => f.name === 'answered ops/s')!.value).toBeLessThanOrEqual(2000 * 1.05 + 20);
    for (const run of runs) {
      expectWellFormed(run);
      expect(run.latencyMs!.count).toBeGreaterThan(0);
      // No --server-pid: no server figures, but the client's own CPU.
      expect(run.server).toBeUndefined();
      expect(run.clientCpuPct).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);
});
