/**
 * The scale curves: the existing workloads (sessions, populate + read/write, watch, write-paced)
 * repeated at growing sizes on one target, a RunResult per step with `params.step`. curves.ts
 * turns them into tables and charts.
 */
import { maxFileDescriptorCount } from '../server/process-fds.js';
import { rssBytes } from './proc.js';
import type { ManagedServer } from './servers.js';
import { errCount, holdWatches, populate, sessions, timed, watch, type BenchConfig, type Curve, type Figure, type RunResult, type Target } from './workloads.js';
import { addCounts } from './stats.js';
import { popDir } from './runner.js';

/** What the step of each curve counts (the x axis). */
export const STEP_OF: Record<Curve, string> = {
  'scale-sessions': 'idle sessions',
  'scale-znodes': 'znodes of --value-size bytes',
  'scale-watches': 'sessions watching one node',
  'scale-watch-count': 'data watches held by --sessions sessions',
  'scale-load': 'offered setData/s (open loop)',
};

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function asStep(r: RunResult, curve: Curve, step: number): RunResult {
  return { ...r, workload: curve, params: { step, stepOf: STEP_OF[curve], ...r.params } };
}

function skipped(curve: Curve, t: Target, round: number, why: string, step?: number): RunResult[] {
  return [{ workload: curve, target: t.name, round, skipped: why, params: step === undefined ? {} : { step }, errors: {}, errorCount: 0, figures: [] }];
}

/** File descriptors a server and this process need besides one per session (logs, jars, the admin session). */
const FD_MARGIN = 500;

/**
 * Why `sessions` sessions cannot be opened here: each takes a descriptor in this process and one in
 * the server, which inherits this process's limit. Undefined when they fit.
 */
function tooManyFiles(sessions: number): string | undefined {
  const limit = maxFileDescriptorCount();
  if (limit === undefined || sessions + FD_MARGIN <= limit) return undefined;
  return `${sessions} sessions need ${sessions + FD_MARGIN} open files, this process and the servers may have ${limit} (raise it with ulimit -n, where allowed)`;
}

/**
 * A server of the target's kind for one measurement (fresh), started, with its RSS when empty; the
 * target itself when the tool did not start it (then memory figures count from its current RSS).
 */
async function withServer<T>(t: Target, fresh: (() => ManagedServer) | undefined, f: (t: Target, emptyRss: number | undefined) => Promise<T>): Promise<T> {
  if (!fresh || t.kind === 'ceiling' || t.kind === 'external' || t.ensemble) return f(t, t.pid ? rssBytes(t.pid) : undefined);
  const s = fresh();
  try {
    await s.start();
    await pause(500);
    return await f({ name: t.name, kind: t.kind, hosts: s.hosts, pid: s.pid, managed: s }, rssBytes(s.pid));
  } finally {
    await s.destroy();
  }
}

/** Figure `name` of run r, renamed `as`. */
function pick(r: RunResult, name: string, as: string): Figure[] {
  return r.figures.filter((f) => f.name === name).map((f) => ({ ...f, name: as }));
}

/** Throughput and tails of a step's setData run and getData run. */
function readWriteFigures(write: RunResult, read: RunResult): Figure[] {
  return [
    ...pick(write, 'ops/s', 'setData ops/s'),
    ...pick(write, 'p99 ms', 'setData p99 ms'),
    ...pick(write, 'p999 ms', 'setData p999 ms'),
    ...pick(read, 'ops/s', 'getData ops/s'),
    ...pick(read, 'p99 ms', 'getData p99 ms'),
    ...pick(read, 'p999 ms', 'getData p999 ms'),
  ];
}

/** Idle sessions: each step on a fresh server, so that memory freed by an earlier step does not hide the cost. */
async function sessionCurve(t: Target, cfg: BenchConfig, round: number, fresh?: () => ManagedServer): Promise<RunResult[]> {
  const out: RunResult[] = [];
  for (const n of cfg.sessionSteps) {
    const why = tooManyFiles(n);
    if (why) {
      out.push(...skipped('scale-sessions', t, round, why, n));
      continue;
    }
    out.push(asStep(await withServer(t, fresh, (ft) => sessions(ft, { ...cfg, sessionCount: n }, round)), 'scale-sessions', n));
  }
  return out;
}

/**
 * One fresh server grows its tree step by step (populate adds the znodes up to the step); at each
 * step its RSS per znode since it was empty, then closed-loop setData and getData over all of them.
 */
async function znodeCurve(t: Target, cfg: BenchConfig, round: number, fresh?: () => ManagedServer): Promise<RunResult[]> {
  if (t.kind === 'ceiling') return skipped('scale-znodes', t, round, 'the ceiling server keeps nothing');
  return withServer(t, fresh, async (ft, emptyRss) => {
    const out: RunResult[] = [];
    let prefix: string | undefined;
    let have = 0;
    for (const n of cfg.znodeSteps) {
      const pop = await populate(ft, { ...cfg, populate: n }, round, prefix === undefined ? undefined : { prefix, from: have });
      prefix = pop.prefix;
      have = n;
      const rss = ft.pid ? rssBytes(ft.pid) : undefined;
      const keyed = { ...cfg, keys: n };
      const write = await timed(ft, 'write', keyed, round, popDir(prefix));
      const read = await timed(ft, 'read', keyed, round, popDir(prefix));
      const figures: Figure[] = [
        ...(rss !== undefined && emptyRss !== undefined ? [{ name: 'RSS per znode B', value: (rss - emptyRss) / n, better: 'down' as const }] : []),
        ...pick(pop.result, 'creates/s', 'creates/s'),
        ...readWriteFigures(write, read),
      ];
      const errors: Record<string, number> = {};
      for (const r of [pop.result, write, read]) addCounts(errors, r.errors);
      out.push({
        workload: 'scale-znodes',
        target: t.name,
        round,
        params: { step: n, stepOf: STEP_OF['scale-znodes'], valueSize: cfg.valueSize, sessions: cfg.sessions, outstanding: cfg.outstanding, durationS: cfg.durationMs / 1000 },
        errors,
        errorCount: pop.result.errorCount + write.errorCount + read.errorCount,
        figures,
        ...(rss !== undefined ? { extra: { rssMB: Math.round(rss / 2 ** 20), emptyRssMB: Math.round((emptyRss ?? 0) / 2 ** 20) } } : {}),
      });
    }
    return out;
  });
}

async function watchCurve(t: Target, cfg: BenchConfig, round: number): Promise<RunResult[]> {
  const out: RunResult[] = [];
  for (const n of cfg.watchSteps) {
    const why = tooManyFiles(n);
    out.push(...(why ? skipped('scale-watches', t, round, why, n) : [asStep(await watch(t, { ...cfg, watchers: n }, round), 'scale-watches', n)]));
  }
  return out;
}

/**
 * One fresh server holds more and more data watches (on missing znodes, so no znode is made and
 * none fires): at each step, its RSS per watch since before the first one, how fast they were set,
 * then closed-loop setData and getData on the data nodes, which nobody watches: what a large watch
 * table costs every other request (memory, and major GCs on zkts's JS heap).
 */
async function watchCountCurve(t: Target, cfg: BenchConfig, round: number, fresh?: () => ManagedServer): Promise<RunResult[]> {
  if (t.kind === 'ceiling') return skipped('scale-watch-count', t, round, 'the ceiling server keeps no watches');
  return withServer(t, fresh, (ft) =>
    holdWatches(ft, cfg, `${cfg.prefix}/wc${round}-${Date.now().toString(36)}`, async (armWatches) => {
      const out: RunResult[] = [];
      // The data nodes made and the heap grown by one write and read run first, not charged to the watches.
      await timed(ft, 'write', cfg, round);
      await timed(ft, 'read', cfg, round);
      const before = ft.pid ? rssBytes(ft.pid) : undefined;
      let have = 0;
      for (const n of cfg.watchCountSteps) {
        const armed = await armWatches(n, have);
        have = n;
        const rss = ft.pid ? rssBytes(ft.pid) : undefined;
        const write = await timed(ft, 'write', cfg, round);
        const read = await timed(ft, 'read', cfg, round);
        const errors: Record<string, number> = { ...armed.errors };
        for (const r of [write, read]) addCounts(errors, r.errors);
        out.push({
          workload: 'scale-watch-count',
          target: t.name,
          round,
          params: { step: n, stepOf: STEP_OF['scale-watch-count'], watchesSet: armed.set, sessions: cfg.sessions, outstanding: cfg.outstanding, durationS: cfg.durationMs / 1000 },
          errors,
          errorCount: errCount(errors),
          figures: [
            ...(rss !== undefined && before !== undefined ? [{ name: 'RSS per watch B', value: (rss - before) / n, better: 'down' as const }] : []),
            { name: 'watches set/s', value: armed.set / armed.seconds, better: 'up' },
            ...readWriteFigures(write, read),
          ],
          ...(rss !== undefined ? { extra: { rssMB: Math.round(rss / 2 ** 20), emptyRssMB: Math.round((before ?? 0) / 2 ** 20) } } : {}),
        });
      }
      return out;
    }),
  );
}

/** write-paced at each offered rate: latency from each request's scheduled time, at equal load on every server. */
async function loadCurve(t: Target, cfg: BenchConfig, round: number): Promise<RunResult[]> {
  const out: RunResult[] = [];
  for (const rate of cfg.rateSteps) out.push(asStep(await timed(t, 'write-paced', { ...cfg, rate }, round), 'scale-load', rate));
  return out;
}

/** Runs one curve on one target; `fresh` makes a new server of its kind (sessions and znodes start empty). */
export function runCurve(c: Curve, t: Target, cfg: BenchConfig, round: number, fresh?: () => ManagedServer): Promise<RunResult[]> {
  switch (c) {
    case 'scale-sessions':
      return sessionCurve(t, cfg, round, fresh);
    case 'scale-znodes':
      return znodeCurve(t, cfg, round, fresh);
    case 'scale-watches':
      return watchCurve(t, cfg, round);
    case 'scale-watch-count':
      return watchCountCurve(t, cfg, round, fresh);
    case 'scale-load':
      return loadCurve(t, cfg, round);
  }
}
