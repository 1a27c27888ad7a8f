/**
 * The workloads: each sets up what it needs on one target, drives it through runners (runner.ts,
 * possibly on worker threads), samples the server's /proc while it runs, and returns one RunResult.
 */
import { ZkClient } from '../client/index.js';
import { ErrorCode, KeeperError, errorName } from '../jute/index.js';
import type { BenchEnsemble } from './ensemble.js';
import { measureFailover } from './failover.js';
import { HostCpu, OwnCpu, ProcGroupSampler, ProcSampler, rssBytes, type ServerUsage } from './proc.js';
import { dataPath, largePath, now, popPath, watchPath, type HostPort, type LoadKind, type LoadParams, type LoadResult, type RunnerSpec } from './runner.js';
import { ManagedServer, type ServerKind } from './servers.js';
import { addCounts, summarize, type LatencySummary } from './stats.js';
import { createRunners, type RunnerHandle } from './worker.js';

export const WORKLOADS = ['read', 'write', 'mixed', 'create-delete', 'read-paced', 'write-paced', 'large-read', 'large-write', 'watch', 'sessions', 'populate', 'restart', 'failover'] as const;
export type Workload = (typeof WORKLOADS)[number];
/** The scale curves (scale.ts): a workload repeated at growing sizes; only run when named. */
export const CURVES = ['scale-sessions', 'scale-znodes', 'scale-watches', 'scale-watch-count', 'scale-load'] as const;
export type Curve = (typeof CURVES)[number];

export interface BenchConfig {
  sessions: number;
  outstanding: number;
  threads: number;
  warmupMs: number;
  durationMs: number;
  keys: number;
  valueSize: number;
  largeSize: number;
  largeSessions: number;
  largeOutstanding: number;
  watchers: number;
  fanouts: number;
  sessionCount: number;
  sessionTimeout: number;
  populate: number;
  connectConcurrency: number;
  prefix: string;
  /**
   * read-paced and write-paced: offered requests per second (open loop). Unset: half the peak that
   * read (write) reached in the same round on Apache ZooKeeper when it is being compared, otherwise
   * on the same target (see pacedRate in index.ts).
   */
  rate?: number;
  /** failover: kills of the leader per run. */
  kills: number;
  /** Sessions connect from 127.0.0.1 .. 127.0.0.<clientAddresses> (loopback targets; 1: the default source). */
  clientAddresses: number;
  /** The steps of the scale curves: idle sessions, znodes, watching sessions, watches held, offered setData/s. */
  sessionSteps: number[];
  znodeSteps: number[];
  watchSteps: number[];
  watchCountSteps: number[];
  rateSteps: number[];
}

/** The closed-loop workload whose peak sets the offered load of a paced one. */
export const PACED_BASE = { 'read-paced': 'read', 'write-paced': 'write' } as const;

/** Where a workload runs: a server we started (compare mode) or any connect string. */
export interface Target {
  /** zkts, zookeeper, ceiling, or the connect string. */
  name: string;
  kind: ServerKind | 'external';
  hosts: HostPort[];
  pid?: number;
  managed?: ManagedServer;
  /** --ensemble: the replicated ensemble behind `hosts` (its members' CPU and RSS are summed). */
  ensemble?: BenchEnsemble;
}

/** One figure of a run: a number, which way is better, and how to print it. */
export interface Figure {
  name: string;
  value: number;
  /** 'up': higher is better; 'down': lower is better; 'none': just information. */
  better: 'up' | 'down' | 'none';
}

export interface RunResult {
  workload: Workload | Curve;
  target: string;
  round: number;
  /** Why it did not run on this target (the ceiling keeps nothing, restart needs a server we started). */
  skipped?: string;
  params: Record<string, number | string>;
  ops?: number;
  opsPerSec?: number;
  latencyMs?: LatencySummary;
  errors: Record<string, number>;
  errorCount: number;
  clientCpuPct?: number;
  server?: ServerUsage;
  figures: Figure[];
  extra?: Record<string, number | string>;
}

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

export function errCount(errors: Record<string, number>): number {
  return Object.values(errors).reduce((a, b) => a + b, 0);
}

async function admin(t: Target): Promise<ZkClient> {
  const hp = t.hosts[0]!;
  return ZkClient.connect({ host: hp.host, port: hp.port, timeout: 30_000, connectTimeout: 30_000 });
}

/** Creates each path (ignoring NODEEXISTS), `window` requests in flight. */
async function createAll(c: ZkClient, paths: string[], data: (i: number) => Buffer | null, window = 1000): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      try {
        await c.create(paths[i]!, data(i), OPEN_ACL, 0);
      } catch (e) {
        if (!(e instanceof KeeperError) || e.code !== ErrorCode.NODEEXISTS) throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, paths.length) }, worker));
}

/** The parents of `path` and itself, outermost first: /a/b -> [/a, /a/b]. */
function chain(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

async function ensurePath(c: ZkClient, path: string): Promise<void> {
  for (const p of chain(path)) await createAll(c, [p], () => null);
}

/** What every runner of a workload shares; sessions spread over the client addresses. */
export function runnerBase(t: Target, cfg: BenchConfig, prefix = cfg.prefix): Omit<RunnerSpec, 'sessions'> {
  const localAddresses = cfg.clientAddresses > 1 ? Array.from({ length: cfg.clientAddresses }, (_, i) => `127.0.0.${i + 1}`) : undefined;
  return { hosts: t.hosts, sessionTimeout: cfg.sessionTimeout, connectConcurrency: cfg.connectConcurrency, prefix, ...(localAddresses ? { localAddresses } : {}) };
}

function sampler(t: Target): ProcSampler | ProcGroupSampler | undefined {
  if (t.ensemble) return new ProcGroupSampler(t.ensemble.pids);
  return t.pid ? new ProcSampler(t.pid) : undefined;
}

function serverFigures(u: ServerUsage | undefined): Figure[] {
  if (!u) return [];
  return [
    { name: 'server CPU %', value: u.cpuPct, better: 'down' },
    { name: 'server RSS MB', value: u.rssEndMB, better: 'down' },
  ];
}

function latencyFigures(l: LatencySummary, prefix = ''): Figure[] {
  return [
    { name: `${prefix}p50 ms`, value: l.p50, better: 'down' },
    { name: `${prefix}p99 ms`, value: l.p99, better: 'down' },
    { name: `${prefix}p999 ms`, value: l.p999, better: 'down' },
    { name: `${prefix}max ms`, value: l.max, better: 'down' },
  ];
}

async function withRunners<T>(runners: RunnerHandle[], f: (r: RunnerHandle[]) => Promise<T>): Promise<T> {
  try {
    return await f(runners);
  } finally {
    await Promise.all(runners.map((r) => r.dispose()));
  }
}

async function connectAll(runners: RunnerHandle[], errors: Record<string, number>): Promise<{ connected: number; latencies: Float64Array[] }> {
  const rs = await Promise.all(runners.map((r) => r.connect()));
  for (const r of rs) addCounts(errors, r.errors);
  return { connected: rs.reduce((a, r) => a + r.connected, 0), latencies: rs.map((r) => r.latencies) };
}

async function closeAll(runners: RunnerHandle[], errors: Record<string, number>): Promise<void> {
  for (const e of await Promise.all(runners.map((r) => r.close()))) addCounts(errors, e);
}

/**
 * A counted load (populate, watch-arm) on every runner: the replies that succeeded, the seconds
 * from the first request sent to the last reply, and each runner's result. Errors go to `errors`.
 */
async function countedLoad(runners: RunnerHandle[], p: LoadParams, errors: Record<string, number>): Promise<{ ops: number; seconds: number; results: LoadResult[] }> {
  const results = await Promise.all(runners.map((r) => r.load(p)));
  for (const r of results) addCounts(errors, r.errors);
  const ops = results.reduce((a, r) => a + r.ops, 0);
  const seconds = (Math.max(...results.map((r) => r.lastReply)) - Math.min(...results.map((r) => r.firstSend))) / 1000;
  return { ops, seconds, results };
}

/** Data watches armed by `armWatches`: how many answered, and how long it took. */
export interface Armed {
  set: number;
  seconds: number;
  errors: Record<string, number>;
}

/**
 * Opens cfg.sessions sessions that hold data watches for as long as `f` runs: `armWatches(count,
 * from)` sets watches on the missing znodes from..count-1 under `prefix` (exists with watch, spread
 * over the sessions, cfg.outstanding in flight each). Nothing ever creates them, so no watch fires.
 * Errors of the connects are reported with the first armWatches.
 */
export async function holdWatches<T>(t: Target, cfg: BenchConfig, prefix: string, f: (armWatches: (count: number, from: number) => Promise<Armed>) => Promise<T>): Promise<T> {
  let errors: Record<string, number> = {};
  const runners = createRunners(runnerBase(t, cfg, prefix), cfg.sessions, cfg.threads);
  return withRunners(runners, async () => {
    await connectAll(runners, errors);
    return f(async (count, from) => {
      const mine = errors;
      errors = {};
      const { ops, seconds } = await countedLoad(runners, { kind: 'watch-arm', outstanding: cfg.outstanding, keys: 0, valueSize: 0, largeSize: 0, runTag: '', count, from, totalSessions: cfg.sessions }, mine);
      return { set: ops, seconds, errors: mine };
    });
  });
}

/**
 * read, write, mixed, create-delete, large-read, large-write: N sessions x W outstanding for a fixed
 * time. `keysUnder`: read/write/mixed over `cfg.keys` znodes that exist under it (no set-up).
 */
export async function timed(t: Target, workload: Workload, cfg: BenchConfig, round: number, keysUnder?: string): Promise<RunResult> {
  const paced = workload === 'read-paced' || workload === 'write-paced';
  const w: LoadKind = paced ? PACED_BASE[workload] : (workload as LoadKind);
  const rate = paced ? cfg.rate! : undefined;
  const large = w === 'large-read' || w === 'large-write';
  const sessions = large ? cfg.largeSessions : cfg.sessions;
  const outstanding = large ? cfg.largeOutstanding : cfg.outstanding;
  const c = await admin(t);
  try {
    await ensurePath(c, cfg.prefix);
    if (keysUnder !== undefined) {
      // The keys are there already (populated).
    } else if (w === 'read' || w === 'write' || w === 'mixed') {
      await ensurePath(c, `${cfg.prefix}/data`);
      const value = Buffer.alloc(cfg.valueSize, 0x61);
      await createAll(c, Array.from({ length: cfg.keys }, (_, i) => dataPath(cfg.prefix, i)), () => value);
      // The ceiling sizes its getData replies after the last value it was sent.
      await c.setData(dataPath(cfg.prefix, 0), value);
    } else if (w === 'create-delete') {
      await ensurePath(c, `${cfg.prefix}/cd`);
    } else {
      const big = Buffer.alloc(cfg.largeSize, 0x62);
      await createAll(c, [largePath(cfg.prefix)], () => big);
      await c.setData(largePath(cfg.prefix), big);
    }
  } finally {
    await c.close();
  }

  const errors: Record<string, number> = {};
  const runners = createRunners(runnerBase(t, cfg), sessions, cfg.threads);
  return withRunners(runners, async () => {
    const { connected } = await connectAll(runners, errors);
    const startAt = now() + 100;
    const sample = sampler(t);
    const cpu = new OwnCpu();
    const host = new HostCpu();
    let usage: ServerUsage | undefined;
    let clientCpu = 0;
    let hostCpu: ReturnType<HostCpu['pct']>;
    const windowStart = setTimeout(() => {
      sample?.start();
      cpu.reset();
      host.reset();
    }, startAt + cfg.warmupMs - now());
    let windowEnded = false;
    const endWindow = () => {
      if (windowEnded) return;
      windowEnded = true;
      usage = sample?.stop();
      clientCpu = cpu.pct();
      hostCpu = host.pct();
    };
    const windowEnd = setTimeout(endWindow, startAt + cfg.warmupMs + cfg.durationMs - now());
    const runTag = `${process.pid}-${Date.now().toString(36)}`;
    const results: LoadResult[] = await Promise.all(
      runners.map((r) =>
        r.load({
          kind: w,
          outstanding,
          keys: cfg.keys,
          valueSize: cfg.valueSize,
          largeSize: cfg.largeSize,
          runTag,
          startAt,
          warmupMs: cfg.warmupMs,
          durationMs: cfg.durationMs,
          ...(rate !== undefined ? { rate: rate / runners.length } : {}),
          ...(keysUnder !== undefined ? { keysUnder } : {}),
        }),
      ),
    );
    clearTimeout(windowStart);
    clearTimeout(windowEnd);
    // The runners' loads can resolve before the timer fires (they end at the same instant): the
    // window's figures are then taken here, not left out.
    endWindow();
    await closeAll(runners, errors);
    for (const r of results) addCounts(errors, r.errors);
    const ops = results.reduce((a, r) => a + r.ops, 0);
    const latencyMs = summarize(results.map((r) => r.latencies));
    const opsPerSec = ops / (cfg.durationMs / 1000);
    const figures: Figure[] = [
      { name: 'ops/s', value: opsPerSec, better: 'up' },
      ...latencyFigures(latencyMs),
      ...serverFigures(usage),
      { name: 'client CPU %', value: clientCpu, better: 'none' },
      ...(hostCpu ? [{ name: 'host CPU steal %', value: hostCpu.stealPct, better: 'none' as const }, { name: 'host iowait %', value: hostCpu.iowaitPct, better: 'none' as const }] : []),
    ];
    if (large) figures.splice(1, 0, { name: 'MB/s', value: (opsPerSec * cfg.largeSize) / 1e6, better: 'up' });
    if (rate !== undefined) figures.splice(0, 1, { name: 'offered ops/s', value: rate, better: 'none' }, { name: 'answered ops/s', value: opsPerSec, better: 'up' });
    return {
      workload,
      target: t.name,
      round,
      params: {
        sessions,
        connected,
        outstanding,
        threads: cfg.threads,
        durationS: cfg.durationMs / 1000,
        warmupS: cfg.warmupMs / 1000,
        valueSize: large ? cfg.largeSize : cfg.valueSize,
        keys: large ? 1 : cfg.keys,
        ...(rate !== undefined ? { rate: Math.round(rate) } : {}),
      },
      ops,
      opsPerSec,
      latencyMs,
      errors,
      errorCount: errCount(errors),
      clientCpuPct: clientCpu,
      server: usage,
      figures,
    };
  });
}

/** K sessions watch one node; one setData; the time until every session has its notification. */
export async function watch(t: Target, cfg: BenchConfig, round: number): Promise<RunResult> {
  const c = await admin(t);
  const path = watchPath(cfg.prefix);
  const errors: Record<string, number> = {};
  try {
    await ensurePath(c, path);
    const runners = createRunners(runnerBase(t, cfg), cfg.watchers, cfg.threads);
    return await withRunners(runners, async () => {
      const t0 = now();
      const { connected } = await connectAll(runners, errors);
      const connectS = (now() - t0) / 1000;
      const sample = sampler(t);
      const cpu = new OwnCpu();
      sample?.start();
      const allNotified: number[] = [];
      const setLatency: number[] = [];
      const delays: Float64Array[] = [];
      let missed = 0;
      for (let f = 0; f < cfg.fanouts; f++) {
        for (const e of await Promise.all(runners.map((r) => r.arm()))) addCounts(errors, e);
        const sent = now();
        await c.setData(path, Buffer.from(`fanout ${f}`));
        setLatency.push(now() - sent);
        const times = await Promise.all(runners.map((r) => r.events(r.sessions, 60_000)));
        let got = 0;
        let last = 0;
        for (const ts of times) {
          const d = ts.map((x) => x - sent);
          delays.push(d);
          got += d.length;
          for (const x of d) if (x > last) last = x;
        }
        if (got < connected) missed += connected - got;
        allNotified.push(got < connected ? Infinity : last);
      }
      const usage = sample?.stop();
      const clientCpu = cpu.pct();
      if (missed > 0) errors.MISSED_NOTIFICATION = (errors.MISSED_NOTIFICATION ?? 0) + missed;
      await closeAll(runners, errors);
      const lat = summarize(delays);
      const sortedAll = [...allNotified].sort((a, b) => a - b);
      const medianAll = sortedAll[sortedAll.length >> 1] ?? NaN;
      const figures: Figure[] = [
        { name: 'all notified ms', value: medianAll, better: 'down' },
        { name: 'notify p50 ms', value: lat.p50, better: 'down' },
        { name: 'notify p99 ms', value: lat.p99, better: 'down' },
        { name: 'setData ms', value: setLatency.sort((a, b) => a - b)[setLatency.length >> 1] ?? NaN, better: 'down' },
        { name: 'connect sessions/s', value: connected / connectS, better: 'up' },
        ...serverFigures(usage),
      ];
      return {
        workload: 'watch' as const,
        target: t.name,
        round,
        params: { watchers: cfg.watchers, connected, fanouts: cfg.fanouts, threads: cfg.threads },
        ops: lat.count,
        latencyMs: lat,
        errors,
        errorCount: errCount(errors),
        clientCpuPct: clientCpu,
        server: usage,
        figures,
        extra: { allNotifiedMs: allNotified.map((x) => Math.round(x * 100) / 100).join(' ') },
      };
    });
  } finally {
    await c.close().catch(() => c.disconnect());
  }
}

/** S idle sessions kept alive by pings: what they cost the server in memory and CPU. */
export async function sessions(t: Target, cfg: BenchConfig, round: number): Promise<RunResult> {
  const errors: Record<string, number> = {};
  const runners = createRunners(runnerBase(t, cfg), cfg.sessionCount, cfg.threads);
  return withRunners(runners, async () => {
    const rss0 = t.pid ? rssBytes(t.pid) : undefined;
    const t0 = now();
    const { connected, latencies } = await connectAll(runners, errors);
    const connectS = (now() - t0) / 1000;
    const rss1 = t.pid ? rssBytes(t.pid) : undefined;
    const sample = sampler(t);
    const cpu = new OwnCpu();
    sample?.start();
    await new Promise((r) => setTimeout(r, cfg.durationMs));
    const usage = sample?.stop();
    const clientCpu = cpu.pct();
    const t1 = now();
    await closeAll(runners, errors);
    const closeS = (now() - t1) / 1000;
    const hs = summarize(latencies);
    const figures: Figure[] = [
      { name: 'connect sessions/s', value: connected / connectS, better: 'up' },
      { name: 'handshake p99 ms', value: hs.p99, better: 'down' },
      { name: 'close sessions/s', value: connected / closeS, better: 'up' },
    ];
    if (rss0 !== undefined && rss1 !== undefined && connected > 0) {
      figures.push({ name: 'RSS per session KB', value: (rss1 - rss0) / 1024 / connected, better: 'down' });
    }
    if (usage) {
      figures.push({ name: 'idle server CPU %', value: usage.cpuPct, better: 'down' });
      figures.push({ name: 'server RSS MB', value: usage.rssEndMB, better: 'down' });
    }
    return {
      workload: 'sessions' as const,
      target: t.name,
      round,
      params: { sessions: cfg.sessionCount, connected, sessionTimeoutMs: cfg.sessionTimeout, holdS: cfg.durationMs / 1000, threads: cfg.threads },
      ops: connected,
      latencyMs: hs,
      errors,
      errorCount: errCount(errors),
      clientCpuPct: clientCpu,
      server: usage,
      figures,
    };
  });
}

/**
 * N znodes of valueSize bytes, as fast as N sessions x W outstanding go; RSS growth per znode.
 * `more`: adds znodes `from`..N-1 to an earlier populate's `prefix` (a growing tree, step by step).
 */
export async function populate(t: Target, cfg: BenchConfig, round: number, more?: { prefix: string; from: number }): Promise<{ result: RunResult; prefix: string }> {
  const prefix = more?.prefix ?? `${cfg.prefix}/p${round}-${Date.now().toString(36)}`;
  if (!more) {
    const c = await admin(t);
    try {
      await ensurePath(c, `${prefix}/pop`);
    } finally {
      await c.close();
    }
  }
  const errors: Record<string, number> = {};
  const runners = createRunners(runnerBase(t, cfg, prefix), cfg.sessions, cfg.threads);
  return withRunners(runners, async () => {
    await connectAll(runners, errors);
    const sample = sampler(t);
    const cpu = new OwnCpu();
    sample?.start();
    const { ops, seconds, results } = await countedLoad(
      runners,
      { kind: 'populate', outstanding: cfg.outstanding, keys: 0, valueSize: cfg.valueSize, largeSize: 0, runTag: '', count: cfg.populate, from: more?.from ?? 0, totalSessions: cfg.sessions },
      errors,
    );
    const usage = sample?.stop();
    const clientCpu = cpu.pct();
    await closeAll(runners, errors);
    const latencyMs = summarize(results.map((r) => r.latencies));
    const figures: Figure[] = [
      { name: 'creates/s', value: ops / seconds, better: 'up' },
      { name: 'p99 ms', value: latencyMs.p99, better: 'down' },
      { name: 'max ms', value: latencyMs.max, better: 'down' },
    ];
    if (usage) {
      // The ceiling keeps nothing: its RSS growth would only be noise.
      if (t.kind !== 'ceiling') figures.push({ name: 'RSS growth per znode B', value: ((usage.rssEndMB - usage.rssStartMB) * 1024 * 1024) / Math.max(1, ops), better: 'down' });
      figures.push(...serverFigures(usage));
    }
    figures.push({ name: 'client CPU %', value: clientCpu, better: 'none' });
    const result: RunResult = {
      workload: 'populate',
      target: t.name,
      round,
      params: { znodes: cfg.populate, valueSize: cfg.valueSize, sessions: cfg.sessions, outstanding: cfg.outstanding, threads: cfg.threads },
      ops,
      opsPerSec: ops / seconds,
      latencyMs,
      errors,
      errorCount: errCount(errors),
      clientCpuPct: clientCpu,
      server: usage,
      figures,
      extra: { seconds: Math.round(seconds * 1000) / 1000 },
    };
    return { result, prefix };
  });
}

/**
 * With the populated znodes on disk: a crash (SIGKILL) and restart (snapshot + log replay), then a
 * clean stop (SIGTERM) and restart. Restart time is from spawning the process until it answers a
 * read on a new session.
 */
async function restart(s: ManagedServer, cfg: BenchConfig, round: number, prefix: string, emptyRssMB: number): Promise<RunResult> {
  const errors: Record<string, number> = {};
  const check = async () => {
    const c = await ZkClient.connect({ host: '127.0.0.1', port: s.port, timeout: 30_000 });
    try {
      const last = popPath(prefix, cfg.populate - 1);
      if ((await c.exists(last)) === null) errors.MISSING_ZNODES = (errors.MISSING_ZNODES ?? 0) + 1;
    } catch (e) {
      const name = e instanceof KeeperError ? errorName(e.code) : (e as Error).message;
      errors[name] = (errors[name] ?? 0) + 1;
    } finally {
      await c.close().catch(() => c.disconnect());
    }
  };
  await s.stop('SIGKILL');
  await s.spawn();
  const crashMs = (await s.waitReady()) - s.spawnedAt;
  await check();
  const stopMs = await s.stop('SIGTERM');
  await s.spawn();
  const cleanMs = (await s.waitReady()) - s.spawnedAt;
  await check();
  // Give a collector a moment, then the memory of a server holding just what it loaded.
  await new Promise((r) => setTimeout(r, 1000));
  const rss = (rssBytes(s.pid) ?? 0) / (1024 * 1024);
  return {
    workload: 'restart',
    target: s.kind,
    round,
    params: { znodes: cfg.populate, valueSize: cfg.valueSize },
    errors,
    errorCount: errCount(errors),
    figures: [
      { name: 'crash restart s', value: crashMs / 1000, better: 'down' },
      { name: 'clean stop s', value: stopMs / 1000, better: 'down' },
      { name: 'clean restart s', value: cleanMs / 1000, better: 'down' },
      { name: 'restarted RSS MB', value: rss, better: 'down' },
      { name: 'RSS per znode B (restarted)', value: ((rss - emptyRssMB) * 1024 * 1024) / cfg.populate, better: 'down' },
    ],
  };
}

/** kill -9 of the leader, `cfg.kills` times: ms to the first acknowledged write on the survivors. */
async function failover(t: Target, ens: BenchEnsemble, cfg: BenchConfig, round: number): Promise<RunResult> {
  const { times, failedAttempts } = await measureFailover(ens, cfg.kills, cfg.prefix);
  const l = summarize([Float64Array.from(times)]);
  return {
    workload: 'failover',
    target: t.name,
    round,
    params: { kills: cfg.kills, servers: ens.members.length },
    errors: {},
    errorCount: 0,
    latencyMs: l,
    figures: [
      { name: 'failover p50 ms', value: l.p50, better: 'down' },
      { name: 'failover max ms', value: l.max, better: 'down' },
      { name: 'failed attempts', value: failedAttempts, better: 'none' },
    ],
  };
}

/** Runs one workload on one target; `fresh` makes a new server of the target's kind (populate, restart). */
export async function runWorkload(
  w: Workload,
  t: Target,
  cfg: BenchConfig,
  round: number,
  fresh?: () => ManagedServer,
): Promise<RunResult[]> {
  const skip = (why: string): RunResult[] => [{ workload: w, target: t.name, round, skipped: why, params: {}, errors: {}, errorCount: 0, figures: [] }];
  switch (w) {
    case 'read':
    case 'write':
    case 'mixed':
    case 'create-delete':
    case 'large-read':
    case 'large-write':
      return [await timed(t, w, cfg, round)];
    case 'read-paced':
    case 'write-paced':
      if (cfg.rate === undefined) return skip(`no offered load: give --rate, or run ${PACED_BASE[w]} in the same run`);
      return [await timed(t, w, cfg, round)];
    case 'watch':
      return [await watch(t, cfg, round)];
    case 'sessions':
      return [await sessions(t, cfg, round)];
    case 'failover':
      if (!t.ensemble) return skip('failover needs an ensemble this tool starts (--compare --ensemble 3)');
      return [await failover(t, t.ensemble, cfg, round)];
    case 'populate':
    case 'restart': {
      // populate and restart share one fresh server: restart needs the populated data on disk.
      // restart implies populate (run both and get both results, on one fresh server).
      if (!fresh || t.kind === 'ceiling' || t.kind === 'external') {
        const out: RunResult[] = [(await populate(t, cfg, round)).result];
        if (w === 'restart') out.push(...skip(t.kind === 'ceiling' ? 'the ceiling server keeps nothing' : 'restart needs a server this tool starts (--compare)'));
        return out;
      }
      const s = fresh();
      try {
        await s.start();
        await new Promise((r) => setTimeout(r, 500));
        const emptyRssMB = (rssBytes(s.pid) ?? 0) / (1024 * 1024);
        const ft: Target = { name: t.name, kind: t.kind, hosts: s.hosts, pid: s.pid, managed: s };
        const { result, prefix } = await populate(ft, cfg, round);
        const out = [result];
        if (w === 'restart') out.push(await restart(s, cfg, round, prefix, emptyRssMB));
        return out;
      } finally {
        await s.destroy();
      }
    }
  }
}
