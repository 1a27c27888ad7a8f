/**
 * The checkers of jepsen-lite, one per guarantee, and the workload -> checkers table the harness and
 * the check CLI use. Each checker returns a Verdict (verdict.ts); a workload's result is invalid if
 * any of its checkers says invalid, unknown if any cannot decide, else valid.
 */
import type { Op } from '../history.js';
import { checkEphemerals, type EphemeralOptions } from './ephemeral.js';
import { checkLinearizable, type LinearizabilityOptions } from './linearizability.js';
import { checkLock, type LockOptions } from './lock.js';
import { checkMonotonicReads } from './monotonic-reads.js';
import { pairWithSessionEvents } from './sessions.js';
import { checkSet } from './set.js';
import { combineValidity, elapsedMs, type Anomaly, type Validity, type Verdict } from './verdict.js';

export type { Anomaly, Validity, Verdict } from './verdict.js';

export interface CheckOptions {
  linearizability?: LinearizabilityOptions;
  lock?: LockOptions;
  ephemeral?: EphemeralOptions;
}

export interface CheckResult {
  workload: string;
  valid: Validity;
  verdicts: Verdict[];
  /** Every verdict's anomalies in one list, each with its checker's name. */
  anomalies: (Anomaly & { checker: string })[];
  /** History entries read (nemesis entries included). */
  entries: number;
  timeMs: number;
}

/** The workloads and what checks them; 'queue' and 'election' are the set's and lock's other names. */
const CHECKERS: Record<string, (history: readonly Op[], options: CheckOptions) => Verdict[]> = {
  register: (history, o) => {
    const { ops } = pairWithSessionEvents(history);
    return [checkLinearizable(ops, o.linearizability), checkMonotonicReads(ops)];
  },
  set: (history) => [checkSet(pairWithSessionEvents(history).ops)],
  lock: (history, o) => {
    const { ops, expirations } = pairWithSessionEvents(history);
    return [checkLock(ops, expirations, o.lock)];
  },
  session: (history, o) => {
    const { ops, expirations } = pairWithSessionEvents(history);
    return [checkEphemerals(ops, expirations, o.ephemeral)];
  },
};
CHECKERS.queue = CHECKERS.set!;
CHECKERS.election = CHECKERS.lock!;

export const WORKLOADS: readonly string[] = Object.keys(CHECKERS);

const TYPES = new Set(['invoke', 'ok', 'fail', 'info']);

/** Throws an Error naming the first entry that does not have history.ts's shape. */
function assertWellFormed(history: readonly unknown[]): void {
  history.forEach((entry, i) => {
    const bad = (what: string) => new Error(`history entry at position ${i}: ${what}, got ${JSON.stringify(entry)?.slice(0, 200)}`);
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad('expected an object');
    const op = entry as Record<string, unknown>;
    for (const field of ['index', 'time'] as const) if (typeof op[field] !== 'number' || !Number.isFinite(op[field])) throw bad(`${field} must be a number`);
    if (!Number.isInteger(op.process)) throw bad('process must be an integer');
    if (typeof op.type !== 'string' || !TYPES.has(op.type)) throw bad('type must be invoke, ok, fail or info');
    if (typeof op.f !== 'string') throw bad('f must be a string');
    for (const field of ['key', 'session'] as const) if (op[field] !== undefined && typeof op[field] !== 'string') throw bad(`${field} must be a string`);
  });
}

/** Checks a workload's history. Throws an Error saying what is wrong for an unknown workload or a malformed history. */
export function checkHistory(workload: string, history: readonly Op[], options: CheckOptions = {}): CheckResult {
  const start = performance.now();
  const run = CHECKERS[workload];
  if (run === undefined) throw new Error(`unknown workload ${JSON.stringify(workload)}: expected one of ${WORKLOADS.join(', ')}`);
  assertWellFormed(history);
  const verdicts = run(history, options);
  const anomalies = verdicts.flatMap((v) => v.anomalies.map((a) => ({ checker: v.checker, ...a })));
  return { workload, valid: combineValidity(verdicts.map((v) => v.valid)), verdicts, anomalies, entries: history.length, timeMs: elapsedMs(start) };
}

function word(valid: Validity): string {
  return valid === true ? 'VALID' : valid === false ? 'INVALID' : 'UNKNOWN';
}

/** The result as a report for people: the verdict, each checker's summary, every anomaly. */
export function formatReport(result: CheckResult): string {
  const lines = [`${result.workload}: ${word(result.valid)} (${result.entries} history entries, checked in ${result.timeMs} ms)`];
  for (const v of result.verdicts) {
    lines.push(`  ${v.checker}: ${word(v.valid)} in ${v.timeMs} ms; ${v.summary}`);
    for (const a of v.anomalies) {
      lines.push(`    [${a.kind}] ops ${a.ops.join(', ')}`);
      for (const l of a.explanation.split('\n')) lines.push(`      ${l}`);
    }
  }
  return lines.join('\n');
}
