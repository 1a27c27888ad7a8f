/**
 * `zkts bench`: a load generator for any ZooKeeper-compatible server, and a side-by-side comparison
 * of zkts with Apache ZooKeeper and with a do-nothing ceiling server (--compare). See docs/benchmarks.md.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { OwnCpu } from './proc.js';
import { renderTables } from './report.js';
import type { HostPort } from './runner.js';
import { BenchEnsemble } from './ensemble.js';
import { ManagedServer, SERVER_KINDS, defaultBaseDir, javaVersion, zookeeperAvailable, type ServerKind, type ServerSettings } from './servers.js';
import { CURVES, PACED_BASE, WORKLOADS, runWorkload, type BenchConfig, type Curve, type RunResult, type Target, type Workload } from './workloads.js';
import { parseSteps, renderCharts, renderCurveTables, stepLabel } from './curves.js';
import { STEP_OF, runCurve } from './scale.js';

export { startCeilingServer } from './ceiling-server.js';
export { CURVES, WORKLOADS, type BenchConfig, type RunResult, type Workload } from './workloads.js';

export const DEFAULTS: BenchConfig & { rounds: number; prewarmMs: number } = {
  sessions: 16,
  outstanding: 100,
  threads: 1,
  warmupMs: 2000,
  durationMs: 10_000,
  keys: 10_000,
  valueSize: 100,
  largeSize: 1_000_000,
  largeSessions: 4,
  largeOutstanding: 2,
  watchers: 10_000,
  fanouts: 5,
  sessionCount: 10_000,
  sessionTimeout: 10_000,
  populate: 1_000_000,
  connectConcurrency: 64,
  prefix: '/bench',
  kills: 5,
  clientAddresses: 1,
  sessionSteps: [100, 1000, 10_000],
  znodeSteps: [1000, 10_000, 100_000, 1_000_000],
  watchSteps: [1000, 10_000],
  watchCountSteps: [1000, 10_000, 100_000, 1_000_000],
  rateSteps: [5000, 10_000, 20_000, 40_000],
  rounds: 3,
  prewarmMs: 5000,
};

/** --smoke: everything tiny, a few seconds in all. Explicit options still win. */
export const SMOKE: Partial<BenchConfig & { rounds: number; prewarmMs: number }> = {
  sessions: 2,
  outstanding: 10,
  warmupMs: 100,
  durationMs: 300,
  keys: 20,
  largeSize: 100_000,
  largeSessions: 1,
  largeOutstanding: 2,
  watchers: 20,
  fanouts: 2,
  sessionCount: 20,
  populate: 300,
  kills: 1,
  sessionSteps: [5, 20],
  znodeSteps: [50, 200],
  watchSteps: [5, 20],
  watchCountSteps: [50, 200],
  rateSteps: [200, 500],
  rounds: 1,
  prewarmMs: 0,
};

export interface BenchCliOptions {
  connect?: string;
  compare?: boolean;
  servers?: string;
  serverPid?: string;
  sessions?: string;
  outstanding?: string;
  threads?: string;
  duration?: string;
  warmup?: string;
  rounds?: string;
  prewarm?: string;
  keys?: string;
  valueSize?: string;
  largeSize?: string;
  largeSessions?: string;
  largeOutstanding?: string;
  watchers?: string;
  fanouts?: string;
  sessionCount?: string;
  sessionTimeout?: string;
  populate?: string;
  connectConcurrency?: string;
  prefix?: string;
  smoke?: boolean;
  json?: string;
  heap?: string;
  tickTime?: string;
  zktsNodeArgs?: string;
  dir?: string;
  keep?: boolean;
  rate?: string;
  ensemble?: string;
  kills?: string;
  chart?: string;
  clientAddresses?: string;
  sessionSteps?: string;
  znodeSteps?: string;
  watchSteps?: string;
  watchCountSteps?: string;
  rateSteps?: string;
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`);
  return n;
}

export function parseConnectString(s: string): HostPort[] {
  const hosts = s.replace(/\/.*$/, '').split(',').filter(Boolean);
  if (hosts.length === 0) throw new Error(`empty connect string '${s}'`);
  return hosts.map((h) => {
    const i = h.lastIndexOf(':');
    const host = i > 0 ? h.slice(0, i).replace(/^\[|\]$/g, '') : h;
    const port = i > 0 ? Number(h.slice(i + 1)) : 2181;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port in connect string '${h}'`);
    return { host, port };
  });
}

export function buildConfig(o: BenchCliOptions): BenchConfig & { rounds: number; prewarmMs: number } {
  const base = { ...DEFAULTS, ...(o.smoke ? SMOKE : {}) };
  const set = <K extends keyof typeof base>(k: K, v: (typeof base)[K] | undefined) => {
    if (v !== undefined) base[k] = v;
  };
  set('sessions', num(o.sessions, 'sessions'));
  set('outstanding', num(o.outstanding, 'outstanding'));
  set('threads', num(o.threads, 'threads'));
  const d = num(o.duration, 'duration');
  set('durationMs', d === undefined ? undefined : d * 1000);
  const wu = num(o.warmup, 'warmup');
  set('warmupMs', wu === undefined ? undefined : wu * 1000);
  set('rounds', num(o.rounds, 'rounds'));
  const pw = num(o.prewarm, 'prewarm');
  set('prewarmMs', pw === undefined ? undefined : pw * 1000);
  set('keys', num(o.keys, 'keys'));
  set('valueSize', num(o.valueSize, 'value-size'));
  set('largeSize', num(o.largeSize, 'large-size'));
  set('largeSessions', num(o.largeSessions, 'large-sessions'));
  set('largeOutstanding', num(o.largeOutstanding, 'large-outstanding'));
  set('watchers', num(o.watchers, 'watchers'));
  set('fanouts', num(o.fanouts, 'fanouts'));
  set('sessionCount', num(o.sessionCount, 'session-count'));
  set('sessionTimeout', num(o.sessionTimeout, 'session-timeout'));
  set('populate', num(o.populate, 'populate'));
  set('connectConcurrency', num(o.connectConcurrency, 'connect-concurrency'));
  set('rate', num(o.rate, 'rate'));
  set('kills', num(o.kills, 'kills'));
  set('clientAddresses', num(o.clientAddresses, 'client-addresses'));
  if (!Number.isInteger(base.clientAddresses) || base.clientAddresses < 1 || base.clientAddresses > 254) throw new Error(`--client-addresses must be 1 to 254, got '${o.clientAddresses}'`);
  if (o.sessionSteps !== undefined) base.sessionSteps = parseSteps(o.sessionSteps, 'session-steps');
  if (o.znodeSteps !== undefined) base.znodeSteps = parseSteps(o.znodeSteps, 'znode-steps');
  if (o.watchSteps !== undefined) base.watchSteps = parseSteps(o.watchSteps, 'watch-steps');
  if (o.watchCountSteps !== undefined) base.watchCountSteps = parseSteps(o.watchCountSteps, 'watch-count-steps');
  if (o.rateSteps !== undefined) base.rateSteps = parseSteps(o.rateSteps, 'rate-steps');
  if (o.prefix) base.prefix = o.prefix.replace(/\/$/, '');
  for (const k of ['sessions', 'outstanding', 'threads', 'rounds', 'keys', 'largeSessions', 'largeOutstanding', 'fanouts', 'connectConcurrency', 'kills'] as const) {
    if (base[k] < 1) throw new Error(`${k} must be at least 1`);
  }
  return base;
}

const isCurve = (w: string): w is Curve => (CURVES as readonly string[]).includes(w);

/** The workloads named (default all; failover only in "all" when ensembles are compared; curves only when named). */
function selectWorkloads(names: string[], ensembles: boolean): (Workload | Curve)[] {
  const all = names.length === 0 || (names.length === 1 && names[0] === 'all');
  const out: (Workload | Curve)[] = [];
  for (const n of all ? WORKLOADS.filter((w) => ensembles || w !== 'failover') : names.flatMap((x) => x.split(','))) {
    if (!(WORKLOADS as readonly string[]).includes(n) && !isCurve(n)) throw new Error(`unknown workload '${n}' (one of: ${[...WORKLOADS, ...CURVES].join(', ')}, all)`);
    if (!out.includes(n as Workload)) out.push(n as Workload);
  }
  // restart populates first and reports both: populate on its own would populate a second time.
  if (out.includes('restart')) return out.filter((w) => w !== 'populate');
  return out;
}

export function machineInfo(withJava: boolean): string[] {
  const lines = [
    `date: ${new Date().toISOString()}`,
    `machine: ${availableParallelism()} cpus (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `node: ${process.version}`,
  ];
  if (withJava) lines.push(`java: ${javaVersion()}`);
  return lines;
}

/**
 * The config for one run: read-paced and write-paced offer --rate, or else half the peak that read
 * (write) reached in the same round on Apache ZooKeeper, or on this target when ZooKeeper is not in
 * the run: "p99 at the same offered load, half of ZooKeeper's peak".
 */
function configFor<C extends BenchConfig>(cfg: C, w: Workload, target: string, round: number, results: RunResult[]): C {
  if (cfg.rate !== undefined || !(w in PACED_BASE)) return cfg;
  const base = PACED_BASE[w as keyof typeof PACED_BASE];
  const peak = (name: string) => results.find((r) => r.workload === base && r.target === name && r.round === round && !r.skipped)?.opsPerSec;
  const p = peak('zookeeper') ?? peak(target);
  return p === undefined ? cfg : { ...cfg, rate: p / 2 };
}

/** `[#####---------------]  5/20`: a text bar that reads the same on a terminal and in a log. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total}`;
}

/** Runs the CLI; resolves with the exit status (1 when any run reported an error). */
export async function runBenchCli(workloadNames: string[], o: BenchCliOptions): Promise<number> {
  const cfg = buildConfig(o);
  const workloads = selectWorkloads(workloadNames, o.compare === true && o.ensemble !== undefined);
  const emit = (r: RunResult) => {
    const line = JSON.stringify({ type: 'run', time: new Date().toISOString(), ...r });
    process.stdout.write(line + '\n');
    if (o.json) appendFileSync(o.json, line + '\n');
  };
  const progress = (s: string) => process.stderr.write(s + '\n');
  // A bar before each timed run: how many of the run's runs are done.
  let runsDone = 0;
  const runsTotal = cfg.rounds * workloads.length * (o.compare ? (o.servers ?? SERVER_KINDS.join(',')).split(',').filter(Boolean).length : 1);
  const step = (label: string) => progress(`${progressBar(runsDone++, runsTotal)} ${label}`);
  const results: RunResult[] = [];
  const record = (rs: RunResult[]) => {
    for (const r of rs) {
      results.push(r);
      emit(r);
      const figs = r.figures
        .slice(0, 4)
        .map((f) => `${f.name}=${f.value.toFixed(f.value >= 100 ? 0 : 2)}`)
        .join(' ');
      progress(`  ${r.workload} on ${r.target} (round ${r.round}): ${r.skipped ? `skipped: ${r.skipped}` : figs}${r.errorCount ? ` ERRORS ${JSON.stringify(r.errors)}` : ''}`);
    }
  };
  const ownCpu = new OwnCpu();
  let targets: string[];
  const header: string[] = [];

  if (o.compare) {
    const kinds = (o.servers ?? SERVER_KINDS.join(',')).split(',').filter(Boolean) as ServerKind[];
    for (const k of kinds) if (!SERVER_KINDS.includes(k)) throw new Error(`unknown server '${k}' (zkts, zookeeper, ceiling)`);
    if (kinds.includes('zookeeper') && !zookeeperAvailable()) throw new Error('Apache ZooKeeper is not installed (/usr/share/java/zookeeper.jar); drop it with --servers zkts,ceiling');
    const settings: ServerSettings = {
      tickTime: num(o.tickTime, 'tick-time') ?? 2000,
      heap: o.heap ?? '2g',
      zktsNodeArgs: o.zktsNodeArgs ? o.zktsNodeArgs.split(/\s+/).filter(Boolean) : [],
      baseDir: o.dir ?? defaultBaseDir(),
      keep: o.keep ?? false,
    };
    const ensembleSize = num(o.ensemble, 'ensemble');
    if (ensembleSize !== undefined && (ensembleSize < 1 || !Number.isInteger(ensembleSize))) throw new Error(`--ensemble must be a whole number of servers, got '${o.ensemble}'`);
    if (ensembleSize !== undefined && kinds.includes('ceiling')) throw new Error('the ceiling server has no ensemble mode: use --servers zkts,zookeeper with --ensemble');
    targets = kinds;
    const started = new Map<ServerKind, { target: Target; destroy: () => Promise<void> }>();
    header.push(...machineInfo(kinds.includes('zookeeper')));
    header.push(`config: tickTime=${settings.tickTime} forceSync=yes maxClientCnxns=0 4lw=* admin server off, log level WARN; data under ${settings.baseDir}`);
    if (ensembleSize !== undefined) header.push(`ensembles of ${ensembleSize} servers on loopback: sessions spread over all members, writes go through the leader`);
    try {
      for (const k of kinds) {
        if (ensembleSize !== undefined) {
          const ens = await BenchEnsemble.create(k as 'zkts' | 'zookeeper', ensembleSize, settings, 'main');
          progress(`starting ${k}: ${ens.describe()}`);
          started.set(k, { target: { name: k, kind: k, hosts: ens.hosts, ensemble: ens }, destroy: () => ens.destroy() });
          await ens.start();
          header.push(`${k}: ${ens.describe()}`);
        } else {
          const s = new ManagedServer(k, settings, 'main');
          progress(`starting ${k}: ${s.describe()}`);
          started.set(k, { target: { name: k, kind: k, hosts: [], managed: s }, destroy: () => s.destroy() });
          await s.start();
          Object.assign(started.get(k)!.target, { hosts: s.hosts, pid: s.pid }); // the port is chosen at start
          header.push(`${k}: ${s.describe()}`);
        }
      }
      let tag = 0;
      // The JVM compiles its hot paths after thousands of calls (and V8 too): a first, unrecorded pass.
      // The write curves (scale-load, scale-znodes) are prewarmed by write.
      const warmed = workloads.map((w): Workload | Curve => (w === 'scale-load' || w === 'scale-znodes' ? 'write' : w));
      const prewarm = [...new Set(warmed.filter((w): w is Workload => ['read', 'write', 'mixed', 'create-delete'].includes(w)))];
      if (cfg.prewarmMs > 0 && prewarm.length > 0) {
        const warmCfg = { ...cfg, warmupMs: 0, durationMs: cfg.prewarmMs };
        for (const k of kinds) {
          for (const w of prewarm) {
            progress(`prewarm: ${w} on ${k} for ${cfg.prewarmMs / 1000}s (not recorded)`);
            const r = await runWorkload(w, started.get(k)!.target, warmCfg, 0);
            if (r.some((x) => x.errorCount > 0)) record(r);
          }
        }
        header.push(`prewarm: ${prewarm.join(', ')} for ${cfg.prewarmMs / 1000}s each on every server before round 1, not recorded`);
      }
      for (let round = 1; round <= cfg.rounds; round++) {
        // Alternate which server goes first, so that neither always runs on a warmer (or hotter) machine.
        const order = round % 2 === 1 ? kinds : [...kinds].reverse();
        for (const w of workloads) {
          for (const k of order) {
            const t = started.get(k)!.target;
            // A fresh server for populate/restart; an ensemble target populates itself and skips restart.
            const fresh = t.ensemble ? undefined : () => new ManagedServer(k, settings, `fresh${++tag}`);
            step(`round ${round}/${cfg.rounds}: ${w} on ${k}`);
            record(await (isCurve(w) ? runCurve(w, t, cfg, round, fresh) : runWorkload(w, t, configFor(cfg, w, k, round, results), round, fresh)));
          }
        }
      }
    } finally {
      for (const s of started.values()) await s.destroy();
    }
  } else {
    const connect = o.connect ?? '127.0.0.1:2181';
    const t: Target = { name: connect, kind: 'external', hosts: parseConnectString(connect), pid: num(o.serverPid, 'server-pid') };
    targets = [connect];
    header.push(...machineInfo(false));
    header.push(`target: ${connect}${t.pid ? ` (server pid ${t.pid})` : ' (no --server-pid: no server CPU/RSS)'}`);
    for (let round = 1; round <= cfg.rounds; round++) {
      for (const w of workloads) {
        step(`round ${round}/${cfg.rounds}: ${w} on ${connect}`);
        record(await (isCurve(w) ? runCurve(w, t, cfg, round) : runWorkload(w, t, configFor(cfg, w, connect, round, results), round)));
      }
    }
  }

  const cmd = `zkts bench ${process.argv.slice(3).join(' ')}`.trim();
  header.push(`command: ${cmd}`);
  header.push(
    `load: ${cfg.sessions} sessions x ${cfg.outstanding} outstanding, ${cfg.threads} thread(s), ${cfg.warmupMs / 1000}s warmup + ${cfg.durationMs / 1000}s per run, ${cfg.rounds} round(s); ` +
      `values ${cfg.valueSize} B over ${cfg.keys} keys; large ${cfg.largeSize} B (${cfg.largeSessions}x${cfg.largeOutstanding}); ` +
      `watch ${cfg.watchers} sessions x ${cfg.fanouts} fan-outs; sessions ${cfg.sessionCount}; populate ${cfg.populate}`,
  );
  const curves = workloads.filter(isCurve);
  if (curves.length > 0) {
    const steps: Record<Curve, number[]> = { 'scale-sessions': cfg.sessionSteps, 'scale-znodes': cfg.znodeSteps, 'scale-watches': cfg.watchSteps, 'scale-watch-count': cfg.watchCountSteps, 'scale-load': cfg.rateSteps };
    header.push(`curve steps: ${curves.map((c) => `${c} ${steps[c].map(stepLabel).join(',')} (${STEP_OF[c]})`).join('; ')}${cfg.clientAddresses > 1 ? `; sessions from 127.0.0.1-${cfg.clientAddresses}` : ''}`);
  }
  header.push(`bench process CPU over everything: ${ownCpu.pct().toFixed(0)}% of one core (per-run figures in 'client CPU %')`);
  const total = results.reduce((a, r) => a + r.errorCount, 0);
  const summary = { type: 'summary', runs: results.length, errorCount: total, header };
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (o.json) appendFileSync(o.json, JSON.stringify(summary) + '\n');
  const plain = results.filter((r) => !isCurve(r.workload));
  process.stdout.write('\n' + header.join('\n') + '\n\n' + (plain.length ? renderTables(plain, targets) + '\n' : '') + renderCurveTables(results, curves, targets) + '\n');
  if (o.chart) {
    for (const { file, svg } of renderCharts(results, targets, o.chart, curves, `${new Date().toISOString().slice(0, 10)}; medians over ${cfg.rounds} round(s)`)) {
      writeFileSync(file, svg);
      process.stdout.write(`chart: ${file}\n`);
    }
  }
  if (total > 0) {
    process.stdout.write(`${total} error(s) in ${results.filter((r) => r.errorCount > 0).length} run(s): see the lines marked ! above\n`);
    return 1;
  }
  return 0;
}
