/**
 * What every jepsen-lite checker returns: a verdict (valid, invalid, or unknown when the checker could
 * not decide, e.g. its budget ran out or the history lacks what it needs), the anomalies it found with
 * the history indexes of the operations involved, and how long it took.
 */
import type { Op, PairedOp } from '../history.js';

export type Validity = true | false | 'unknown';

export interface Anomaly {
  /** A short machine-readable name: 'nonlinearizable', 'stale-read', 'lost', 'duplicate', ... */
  kind: string;
  /** History indexes (invoke and completion entries) of the operations involved. */
  ops: number[];
  /** What is wrong, in words a reader of the report understands without the checker's source. */
  explanation: string;
}

export interface Verdict {
  checker: string;
  valid: Validity;
  anomalies: Anomaly[];
  /** One line: what was checked and the outcome, or why the verdict is unknown. */
  summary: string;
  /** Wall-clock time the checker took, in milliseconds. */
  timeMs: number;
}

/** Invalid beats unknown beats valid: one invalid part makes the whole invalid. */
export function combineValidity(parts: readonly Validity[]): Validity {
  if (parts.some((v) => v === false)) return false;
  if (parts.some((v) => v === 'unknown')) return 'unknown';
  return true;
}

/** The history indexes of a paired operation's entries (invoke, then completion when there is one). */
export function opIndexes(op: PairedOp): number[] {
  return op.complete === undefined ? [op.invoke.index] : [op.invoke.index, op.complete.index];
}

function show(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

/** "#12..#15 p3 cas {"expectedVersion":2,"value":7} -> ok {"value":7,"version":3}" and the like. */
export function describeOp(op: PairedOp): string {
  const where = op.complete === undefined ? `#${op.invoke.index}` : `#${op.invoke.index}..#${op.complete.index}`;
  const key = op.key === undefined ? '' : ` [${op.key}]`;
  const session = sessionOf(op);
  const tail = session === undefined ? '' : ` (session ${session})`;
  const outcome = describeCompletion(op.complete);
  return `${where} p${op.process} ${op.f}${key} ${show(op.invoke.value)} -> ${outcome}${tail}`.replace(/ {2,}/g, ' ');
}

function describeCompletion(complete: Op | undefined): string {
  if (complete === undefined) return 'never completed';
  const error = complete.error === undefined ? '' : ` ${complete.error}`;
  if (complete.type === 'ok') return `ok ${show(complete.value)}`;
  return `${complete.type}${error}`;
}

/**
 * The session an operation ran in: the completion's when it names one (the session the request
 * actually ran in, which a client library may have replaced after an expiry), else the invoke's.
 */
export function sessionOf(op: PairedOp): string | undefined {
  return op.complete?.session ?? op.invoke.session;
}

/** Milliseconds elapsed since `start` (a performance.now() reading), rounded to 0.1 ms. */
export function elapsedMs(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/** Operations grouped by key (undefined keys grouped under ''), each group in history order. */
export function byKey(ops: readonly PairedOp[]): Map<string, PairedOp[]> {
  const groups = new Map<string, PairedOp[]>();
  for (const op of ops) {
    const key = op.key ?? '';
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = []));
    group.push(op);
  }
  return groups;
}
