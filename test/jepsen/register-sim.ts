/**
 * Generates register histories that are linearizable by construction: processes invoke operations
 * with random durations (the concurrency windows), each operation takes effect at a random instant
 * inside its window, and the results come from running the model sequentially in the order of those
 * instants. Some writes and cas end indeterminate (info), having taken effect or not; some cas fail
 * because the version moved on.
 */
import type { Op, OpType } from '../../src/jepsen/history.js';
import { prng } from '../zab/helpers.js';

/** The seeded PRNG the ZAB tests use, so a failing seed can be replayed. */
export { prng };

export interface SimOptions {
  seed: number;
  ops: number;
  processes: number;
  keys: number;
  /** Longest operation duration (time units); the longer, the more concurrency. */
  maxDuration: number;
  /** Probability that a write or cas ends indeterminate. */
  infoRate: number;
}


interface Planned {
  process: number;
  key: string;
  f: 'write' | 'cas' | 'sync-read';
  invoke: number;
  complete: number;
  at: number;
  indeterminate: boolean;
  /** An indeterminate write or cas that never reached the register. */
  lost: boolean;
  arg?: unknown;
  outcome?: { type: OpType; value?: unknown };
}

export function simulateRegister(o: SimOptions): Op[] {
  const rnd = prng(o.seed);
  const int = (n: number) => Math.floor(rnd() * n);
  let nextProcess = o.processes;
  const lanes = Array.from({ length: o.processes }, (_, i) => ({ process: i, free: 0 }));
  const planned: Planned[] = [];
  for (let i = 0; i < o.ops; i++) {
    const lane = lanes[int(lanes.length)]!;
    const invoke = lane.free + int(3);
    const duration = 1 + int(o.maxDuration);
    const complete = invoke + duration;
    const f = (['write', 'cas', 'sync-read'] as const)[int(3)]!;
    const indeterminate = f !== 'sync-read' && rnd() < o.infoRate;
    planned.push({ process: lane.process, key: `k${int(o.keys)}`, f, invoke, complete, at: invoke + rnd() * duration, indeterminate, lost: indeterminate && rnd() < 0.5 });
    lane.free = complete + 1;
    if (indeterminate) lane.process = nextProcess++;
  }
  const states = new Map<string, { value: unknown; version: number }>();
  let nextValue = 1;
  for (const p of [...planned].sort((a, b) => a.at - b.at)) {
    const s = states.get(p.key) ?? { value: null, version: -1 };
    if (p.f === 'sync-read') {
      p.outcome = { type: 'ok', value: { ...s } };
      continue;
    }
    const value = nextValue++;
    // A cas expects the current version most of the time, else an older one (and fails).
    const expectedVersion = rnd() < 0.7 ? s.version : s.version - 1;
    p.arg = p.f === 'write' ? value : { expectedVersion, value };
    const applies = !p.lost && (p.f === 'write' || expectedVersion === s.version);
    const next = applies ? { value, version: s.version + 1 } : s;
    states.set(p.key, next);
    p.outcome = p.indeterminate ? { type: 'info' } : applies ? { type: 'ok', value: { ...next } } : { type: 'fail' };
  }
  const entries: Omit<Op, 'index'>[] = [];
  for (const p of planned) {
    const base = { process: p.process, f: p.f, key: p.key };
    entries.push({ ...base, time: p.invoke, type: 'invoke', ...(p.arg === undefined ? {} : { value: p.arg }) });
    const done = p.outcome!;
    const value = done.type === 'ok' ? done.value : p.arg;
    entries.push({ ...base, time: p.complete, type: done.type, ...(value === undefined ? {} : { value }) });
  }
  // Stable sort: an operation's invoke stays before its completion.
  entries.sort((a, b) => a.time - b.time);
  return entries.map((e, index) => ({ index, ...e }) as Op);
}

/** A copy of the history where the first ok sync-read at or after `from` returns a value never written; null if there is none. */
export function corruptSyncRead(history: readonly Op[], from: number): { history: Op[]; index: number } | null {
  const copy = history.map((op) => ({ ...op }));
  const n = copy.length;
  for (let i = 0; i < n; i++) {
    const op = copy[(from + i) % n]!;
    if (op.f === 'sync-read' && op.type === 'ok') {
      op.value = { value: -1 - i, version: (op.value as { version: number }).version };
      return { history: copy, index: op.index };
    }
  }
  return null;
}
