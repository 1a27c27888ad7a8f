/**
 * One jepsen-lite run: an ensemble (cluster.ts), a workload's clients, the nemesis on its seeded
 * schedule for `timeSec`, then everything healed, the workload's final reads, the history checked
 * (verdict.ts) and every server's final state compared. Writes into `outDir`: history.jsonl,
 * nemesis.log, cluster/sN/server.log (each server's output), report.json, report.txt and
 * report.html (html-report.ts).
 * `--workload all` runs each workload in turn on a fresh ensemble, in outDir/<workload>/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, type ServerKind } from './cluster.js';
import { compareFinalState, type FinalState } from './final-state.js';
import { renderHtml } from './html-report.js';
import { NEMESES, Nemesis, type NemesisKind } from './nemesis.js';
import { Recorder } from './recorder.js';
import { Rng } from './rng.js';
import { judge, type RunVerdict } from './verdict.js';
import { makeWorkload, WORKLOADS, type WorkloadName } from './workloads/index.js';

export const SERVER_MIXES = ['zkts', 'zookeeper', 'mix'] as const;

export interface RunOptions {
  servers: (typeof SERVER_MIXES)[number];
  nodes: number;
  workload: WorkloadName;
  nemesis: NemesisKind[];
  timeSec: number;
  seed: number;
  outDir: string;
  clients: number;
  /** Test-only: ZKTS_TEST_BROKEN for the zkts processes (a deliberately broken server). */
  broken?: string;
  log: (line: string) => void;
}

export interface RunReport {
  workload: string;
  servers: string[];
  nemesis: string[];
  seed: number;
  timeSec: number;
  broken?: string;
  ops: { invoked: number; ok: number; fail: number; info: number; open: number };
  faults: Record<string, number>;
  verdict: RunVerdict;
  finalState: FinalState;
  /** The run's verdict: the checker's, made false by servers that disagree at the end. */
  valid: boolean | 'unknown';
  wallSec: number;
  outDir: string;
}

const TICK_MS = 500;
const SESSION_TIMEOUT_MS = 4000;
const OP_TIMEOUT_MS = 5000;

export function serverKinds(mix: RunOptions['servers'], nodes: number): ServerKind[] {
  if (mix === 'mix') return Array.from({ length: nodes }, (_, i) => (i % 2 === 0 ? 'zookeeper' : 'zkts'));
  return Array.from({ length: nodes }, () => mix);
}

export async function runOne(opts: RunOptions): Promise<RunReport> {
  const t0 = Date.now();
  mkdirSync(opts.outDir, { recursive: true });
  const kinds = serverKinds(opts.servers, opts.nodes);
  const rng = new Rng(opts.seed);
  opts.log(`jepsen-lite: workload ${opts.workload}, nemesis ${opts.nemesis.join(',')}, servers ${kinds.join(',')}, ${opts.timeSec}s, seed ${opts.seed}, out ${opts.outDir}`);
  const cluster = await Cluster.create({
    kinds,
    dir: join(opts.outDir, 'cluster'),
    tickTime: TICK_MS,
    initLimit: 10,
    syncLimit: 5,
    ...(opts.broken ? { zktsEnv: { ZKTS_TEST_BROKEN: opts.broken } } : {}),
  });
  try {
    await cluster.startAll();
    await cluster.settled(120_000);
    const rec = new Recorder(join(opts.outDir, 'history.jsonl'));
    const workload = makeWorkload(opts.workload, {
      rec,
      rng: rng.fork(),
      addresses: cluster.clientAddresses(),
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      opTimeoutMs: OP_TIMEOUT_MS,
      timeSec: opts.timeSec,
      clients: opts.clients,
      outDir: opts.outDir,
      log: opts.log,
    });
    await workload.setup();
    const nemesis = new Nemesis(cluster, rec, rng.fork(), {
      kinds: opts.nemesis,
      quietMs: [2000, 4000],
      faultMs: [3000, 7000],
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      logFile: join(opts.outDir, 'nemesis.log'),
    });
    const end = Date.now() + opts.timeSec * 1000;
    const running = () => Date.now() < end;
    await Promise.all([workload.run(running), nemesis.run(running)]);
    await nemesis.healEverything();
    await cluster.settled(120_000);
    await workload.finish();
    const finalState = await compareFinalState(cluster, workload.root, SESSION_TIMEOUT_MS * 3);
    const verdict = judge(opts.workload, rec.ops);
    const valid = verdict.valid === false || !finalState.agree ? false : verdict.valid;
    const report: RunReport = {
      workload: opts.workload,
      servers: kinds,
      nemesis: opts.nemesis,
      seed: opts.seed,
      timeSec: opts.timeSec,
      ...(opts.broken ? { broken: opts.broken } : {}),
      ops: countOps(rec),
      faults: Object.fromEntries(nemesis.counts),
      verdict,
      finalState,
      valid,
      wallSec: Math.round((Date.now() - t0) / 100) / 10,
      outDir: opts.outDir,
    };
    writeFileSync(join(opts.outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(opts.outDir, 'report.txt'), describeReport(report));
    writeFileSync(join(opts.outDir, 'report.html'), renderHtml(`jepsen-lite ${opts.workload}, seed ${opts.seed}`, describeReport(report), rec.ops, verdict.details.anomalies));
    opts.log(describeReport(report));
    return report;
  } finally {
    await cluster.stop();
  }
}

function countOps(rec: Recorder): RunReport['ops'] {
  const c = { invoked: 0, ok: 0, fail: 0, info: 0, open: 0 };
  for (const op of rec.ops) {
    if (op.process < 0) continue;
    if (op.type === 'invoke') c.invoked++;
    else c[op.type]++;
  }
  c.open = c.invoked - c.ok - c.fail - c.info;
  return c;
}

export function describeReport(r: RunReport): string {
  const verdict = r.valid === true ? 'VALID' : r.valid === false ? 'INVALID' : 'UNKNOWN';
  const lines = [
    `${verdict}: workload ${r.workload}, nemesis ${r.nemesis.join(',')}, servers ${r.servers.join(',')}, seed ${r.seed}${r.broken ? `, BROKEN=${r.broken}` : ''}`,
    `  ops: ${r.ops.invoked} invoked, ${r.ops.ok} ok, ${r.ops.fail} fail, ${r.ops.info} indeterminate, ${r.ops.open} open at the end`,
    `  faults: ${Object.entries(r.faults).map(([k, n]) => `${k} x${n}`).join(', ') || 'none'}`,
    `  checkers: ${String(r.verdict.valid)} in ${r.verdict.checkerMs} ms (${r.verdict.details.verdicts.map((v) => `${v.checker}: ${v.summary}`).join('; ')})`,
    `  final state: ${r.finalState.agree ? 'all servers agree' : 'SERVERS DISAGREE'} (${Object.entries(r.finalState.counts).map(([s, n]) => `${s}: ${n} znodes`).join(', ')})`,
    ...r.finalState.differences.map((d) => `    ${d}`),
  ];
  for (const a of r.verdict.details.anomalies.slice(0, 20)) lines.push(`    [${a.checker}: ${a.kind}] history entries ${a.ops.join(', ')}: ${a.explanation.split('\n')[0]}`);
  if (r.verdict.details.anomalies.length > 20) lines.push(`    ... ${r.verdict.details.anomalies.length - 20} more in report.json`);
  lines.push(`  wall time ${r.wallSec}s, files in ${r.outDir}`);
  return lines.join('\n') + '\n';
}

export interface CliOptions {
  servers: string;
  nodes: number;
  workload: string;
  nemesis: string;
  time: number;
  seed?: number;
  out: string;
  clients: number;
}

/** A bad command-line argument: reported as its message alone. */
export class JepsenUsageError extends Error {}

/** `zkts jepsen`: runs the workload(s); resolves with the exit code (1 when any run is INVALID). */
export async function runJepsenCli(o: CliOptions, log: (line: string) => void): Promise<number> {
  if (!(SERVER_MIXES as readonly string[]).includes(o.servers)) throw new JepsenUsageError(`--servers must be one of ${SERVER_MIXES.join(', ')}`);
  if (o.nodes !== 3 && o.nodes !== 5) throw new JepsenUsageError('--nodes must be 3 or 5');
  const workloads = o.workload === 'all' ? [...WORKLOADS] : [o.workload];
  for (const w of workloads) if (!(WORKLOADS as readonly string[]).includes(w)) throw new JepsenUsageError(`--workload must be one of ${WORKLOADS.join(', ')}, all`);
  const nemesis = o.nemesis === 'all' ? [...NEMESES] : o.nemesis.split(',');
  for (const n of nemesis) if (!(NEMESES as readonly string[]).includes(n)) throw new JepsenUsageError(`--nemesis must be a comma-separated list of ${NEMESES.join(', ')}, or all`);
  const seed = o.seed ?? Math.floor(Math.random() * 0x7fffffff);
  log(`seed ${seed} (repeat the schedule with --seed ${seed})`);
  const reports: RunReport[] = [];
  for (const [i, w] of workloads.entries()) {
    reports.push(
      await runOne({
        servers: o.servers as RunOptions['servers'],
        nodes: o.nodes,
        workload: w as WorkloadName,
        nemesis: nemesis as NemesisKind[],
        timeSec: o.time,
        seed: seed + i,
        outDir: workloads.length === 1 ? o.out : join(o.out, w),
        clients: o.clients,
        ...(process.env.ZKTS_TEST_BROKEN ? { broken: process.env.ZKTS_TEST_BROKEN } : {}),
        log,
      }),
    );
  }
  if (workloads.length > 1) writeFileSync(join(o.out, 'report.txt'), reports.map(describeReport).join('\n'));
  return reports.some((r) => r.valid === false) ? 1 : 0;
}
