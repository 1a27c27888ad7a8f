/**
 * Linearizability of the register workload, per key (P-compositionality: a history is linearizable
 * iff each key's sub-history is), by Wing & Gong's search with Lowe's memoization, as porcupine does:
 * walk the operations' call and return events in time order, try to linearize each pending call
 * in turn (depth-first), backtrack when a return is reached whose operation could not be placed, and
 * never revisit a (set of linearized operations, state) pair already explored.
 *
 * Jepsen's conventions: 'fail' operations had no effect and are dropped; an operation whose outcome
 * is unknown ('info', or never completed) may take effect at any point after its invoke, or never:
 * it has no return event, and the search succeeds once every completed operation is linearized.
 * A sync-read with an unknown outcome constrains nothing and is dropped. Plain reads are not
 * linearizable in ZooKeeper and are left to the monotonic-reads checker.
 */
import type { PairedOp } from '../history.js';
import {
  LINEARIZABLE_FS,
  MISSING_ZNODE,
  showState,
  stateKey,
  step,
  toRegisterOp,
  whyNot,
  type RegisterOp,
  type RegisterState,
} from './register-model.js';
import { versionOrderAnomaly } from './version-order.js';
import { byKey, combineValidity, describeOp, elapsedMs, opIndexes, type Anomaly, type Validity, type Verdict } from './verdict.js';

export interface LinearizabilityOptions {
  /** The register's state before the history, per key. Default: the znode does not exist. */
  initialState?: (key: string) => RegisterState;
  /** Give up (valid: 'unknown') after exploring this many (linearized set, state) pairs per key. */
  maxStates?: number;
  /** Give up (valid: 'unknown') after this many milliseconds per key. */
  maxMs?: number;
  /**
   * When the search gives up, decide by the register's versions instead (version-order.ts: exact
   * for this model, and fast). Default true; false leaves the verdict 'unknown'.
   */
  versionOrderFallback?: boolean;
}

export const DEFAULT_MAX_STATES = 500_000;
export const DEFAULT_MAX_MS = 10_000;

/** The outcome for one key. */
export interface KeyResult {
  key: string;
  valid: Validity;
  /** Operations searched (completed plus indeterminate). */
  ops: number;
  indeterminate: number;
  statesExplored: number;
  /** Which procedure gave the verdict: the search, or the version order after the search gave up. */
  decidedBy: 'search' | 'version-order' | 'none';
  timeMs: number;
  /** When invalid: what could not be linearized. */
  anomaly?: Anomaly;
  /** When the search gave up: why (the verdict is then unknown, or the version order's). */
  reason?: string;
}

export interface LinearizabilityVerdict extends Verdict {
  keys: KeyResult[];
}

interface SearchOp {
  paired: PairedOp;
  model: RegisterOp;
  /** The register version a completed operation must find (see PendingVersions); undefined when indeterminate. */
  needs: number | undefined;
  /** Bit position: among the completed operations, or among the indeterminate ones. */
  bit: number;
  indeterminate: boolean;
}

/** A call or return event in the search's doubly linked list. */
interface Entry {
  op: SearchOp;
  isCall: boolean;
  /** A call's return event (undefined for an indeterminate operation, which never returns). */
  ret: Entry | undefined;
  prev: Entry | null;
  next: Entry | null;
}

/**
 * A bitset that also knows its first word not all ones and its last nonzero word, so that its
 * canonical form is short: the linearized operations are a full prefix plus a window about as wide as
 * the concurrency.
 */
class WindowedBitset {
  private readonly words: Uint32Array;
  private full = 0;
  private high = -1;

  constructor(bits: number) {
    this.words = new Uint32Array(Math.ceil(bits / 32));
  }

  set(bit: number): void {
    const w = bit >>> 5;
    this.words[w] = (this.words[w]! | (1 << (bit & 31))) >>> 0;
    if (w > this.high) this.high = w;
    while (this.full < this.words.length && this.words[this.full] === 0xffffffff) this.full++;
  }

  clear(bit: number): void {
    const w = bit >>> 5;
    this.words[w] = (this.words[w]! & ~(1 << (bit & 31))) >>> 0;
    if (w < this.full) this.full = w;
    while (this.high >= 0 && this.words[this.high] === 0) this.high--;
  }

  /** Canonical: words before `full` are all ones and words after `high` all zeros. */
  key(): string {
    return this.high < this.full ? `${this.full}` : `${this.full}:${this.words.subarray(this.full, this.high + 1).join(',')}`;
  }
}

/**
 * The versions the completed operations not yet linearized must find the register at: a sync-read
 * its result's version, a write or cas its result's version minus one. Every effective write bumps
 * the version, so a step taking the register past the smallest of these leaves that operation
 * impossible: the search prunes it at once instead of finding out below. This is what keeps
 * indeterminate writes affordable: they are only tried where the versions leave a gap for them,
 * not in every combination at every point.
 */
class PendingVersions {
  /** The distinct versions needed, ascending, with how many pending operations need each. */
  private readonly levels: number[];
  private readonly index = new Map<number, number>();
  private readonly counts: Uint32Array;
  private lowest = 0;

  constructor(needs: readonly number[]) {
    this.levels = [...new Set(needs)].sort((a, b) => a - b);
    this.levels.forEach((level, i) => this.index.set(level, i));
    this.counts = new Uint32Array(this.levels.length);
    for (const n of needs) this.counts[this.index.get(n)!]!++;
    this.advance();
  }

  private advance(): void {
    while (this.lowest < this.counts.length && this.counts[this.lowest] === 0) this.lowest++;
  }

  /** The smallest version still needed; Infinity when none is. */
  get min(): number {
    return this.lowest < this.counts.length ? this.levels[this.lowest]! : Infinity;
  }

  remove(needs: number): void {
    this.counts[this.index.get(needs)!]!--;
    this.advance();
  }

  add(needs: number): void {
    const i = this.index.get(needs)!;
    this.counts[i]!++;
    this.lowest = Math.min(this.lowest, i);
  }
}

/** The deepest point the search reached, for the report on an invalid history. */
interface Deepest {
  linearized: SearchOp[];
  state: RegisterState;
  blocked: SearchOp;
  candidates: SearchOp[];
}

type SearchOutcome = { valid: true } | { valid: false; deepest: Deepest } | { valid: 'unknown'; reason: string };

function buildEntries(ops: readonly SearchOp[]): Entry {
  const events: { time: number; entry: Entry; order: number }[] = [];
  ops.forEach((op, i) => {
    const call: Entry = { op, isCall: true, ret: undefined, prev: null, next: null };
    events.push({ time: op.paired.invoke.time, entry: call, order: i });
    if (!op.indeterminate) {
      const ret: Entry = { op, isCall: false, ret: undefined, prev: null, next: null };
      call.ret = ret;
      events.push({ time: op.paired.complete!.time, entry: ret, order: i });
    }
  });
  // At equal times calls go first: operations that touch in time count as concurrent (the lenient reading).
  const callsFirst = (e: Entry) => (e.isCall ? 0 : 1);
  events.sort((a, b) => a.time - b.time || callsFirst(a.entry) - callsFirst(b.entry) || a.order - b.order);
  // A sentinel before the first event, so lift and unlift never special-case the list's start (its op is never read).
  const head: Entry = { op: ops[0]!, isCall: false, ret: undefined, prev: null, next: null };
  let last = head;
  for (const { entry } of events) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

/** Removes a call and its return from the list. */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next !== null) call.next.prev = call.prev;
  const ret = call.ret;
  if (ret !== undefined) {
    ret.prev!.next = ret.next;
    if (ret.next !== null) ret.next.prev = ret.prev;
  }
}

/** Puts back what lift removed (in reverse order, so the neighbours' links are the ones lift saw). */
function unlift(call: Entry): void {
  const ret = call.ret;
  if (ret !== undefined) {
    ret.prev!.next = ret;
    if (ret.next !== null) ret.next.prev = ret;
  }
  call.prev!.next = call;
  if (call.next !== null) call.next.prev = call;
}

function search(ops: readonly SearchOp[], initial: RegisterState, maxStates: number, maxMs: number, counter: { states: number }): SearchOutcome {
  const completed = ops.filter((o) => !o.indeterminate).length;
  if (completed === 0) return { valid: true };
  const head = buildEntries(ops);
  const done = new WindowedBitset(completed);
  const maybe = new WindowedBitset(ops.length - completed);
  const seen = new Set<string>();
  const pending = new PendingVersions(ops.flatMap((o) => (o.needs === undefined ? [] : [o.needs])));
  const stack: { entry: Entry; before: RegisterState }[] = [];
  const deadline = performance.now() + maxMs;
  let state = initial;
  let remaining = completed;
  let deepest: Deepest | undefined;
  let entry = head.next!;

  const bits = (op: SearchOp): WindowedBitset => (op.indeterminate ? maybe : done);

  for (;;) {
    if (entry.isCall) {
      const op = entry.op;
      const next = step(state, op.model);
      // An indeterminate operation without effect here (a cas at another version) is the same as
      // one never applied, which the search allows anyway: not worth a state.
      if (next !== null && !(op.indeterminate && next === state)) {
        if (op.needs !== undefined) pending.remove(op.needs);
        if (next.version <= pending.min) {
          bits(op).set(op.bit);
          const key = `${stateKey(next)}|${done.key()}|${maybe.key()}`;
          if (!seen.has(key)) {
            if (counter.states >= maxStates) return { valid: 'unknown', reason: `budget exhausted: explored ${maxStates} states` };
            seen.add(key);
            counter.states++;
            if ((counter.states & 1023) === 0 && performance.now() > deadline) {
              return { valid: 'unknown', reason: `budget exhausted: ${maxMs} ms elapsed after ${counter.states} states` };
            }
            stack.push({ entry, before: state });
            state = next;
            lift(entry);
            if (!op.indeterminate && --remaining === 0) return { valid: true };
            entry = head.next!;
            continue;
          }
          bits(op).clear(op.bit);
        }
        if (op.needs !== undefined) pending.add(op.needs);
      }
      entry = entry.next!;
      continue;
    }
    // A return whose operation is not linearized: nothing before it fits here, backtrack.
    if (deepest === undefined || stack.length > deepest.linearized.length) deepest = snapshot(head, entry, stack, state);
    const top = stack.pop();
    if (top === undefined) return { valid: false, deepest: deepest };
    state = top.before;
    bits(top.entry.op).clear(top.entry.op.bit);
    if (top.entry.op.needs !== undefined) pending.add(top.entry.op.needs);
    unlift(top.entry);
    if (!top.entry.op.indeterminate) remaining++;
    entry = top.entry.next!;
  }
}

function snapshot(head: Entry, blockedReturn: Entry, stack: readonly { entry: Entry }[], state: RegisterState): Deepest {
  const candidates: SearchOp[] = [];
  for (let e = head.next; e !== null && e !== blockedReturn; e = e.next) if (e.isCall) candidates.push(e.op);
  return { linearized: stack.map((s) => s.entry.op), state, blocked: blockedReturn.op, candidates };
}

const SHOWN_PREFIX = 5;
const SHOWN_CANDIDATES = 10;

/** Why a candidate could not be the next operation at the deepest point. */
function whyNotNext(d: Deepest, op: SearchOp, waiting: readonly SearchOp[]): { text: string; blocker?: SearchOp } {
  const next = step(d.state, op.model);
  if (next === null) return { text: whyNot(d.state, op.model) };
  // It could take effect, but would move the register past a version another operation still needs.
  const blocker = waiting.filter((w) => w !== op && w.needs! < next.version).sort((a, b) => a.needs! - b.needs!)[0];
  if (blocker !== undefined) return { text: `it would make version ${next.version}, after which ${describeOp(blocker.paired)} (needing version ${blocker.needs}) could never take effect`, blocker };
  return { text: 'it could take effect, but no continuation after it works' };
}

function explain(key: string, ops: readonly SearchOp[], d: Deepest): Anomaly {
  const lines: string[] = [];
  const prefix = d.linearized;
  const linearized = new Set(prefix);
  const waiting = ops.filter((o) => !o.indeterminate && !linearized.has(o));
  lines.push(
    `key ${JSON.stringify(key)}: no linearization exists. The longest linearizable prefix has ${prefix.length} operation(s), ending in state ${showState(d.state)}` +
      (prefix.length > 0 ? `; its last ${Math.min(SHOWN_PREFIX, prefix.length)}:` : '.'),
  );
  for (const op of prefix.slice(-SHOWN_PREFIX)) lines.push(`    ${describeOp(op.paired)}`);
  lines.push(`  Operation ${describeOp(d.blocked.paired)} returned before any of the pending operations could take effect:`);
  const involved: SearchOp[] = [d.blocked];
  for (const op of d.candidates.slice(0, SHOWN_CANDIDATES)) {
    const why = whyNotNext(d, op, waiting);
    lines.push(`    ${describeOp(op.paired)}: ${why.text}`);
    involved.push(op, ...(why.blocker === undefined ? [] : [why.blocker]));
  }
  if (d.candidates.length > SHOWN_CANDIDATES) lines.push(`    ... and ${d.candidates.length - SHOWN_CANDIDATES} more`);
  return { kind: 'nonlinearizable', ops: [...new Set(involved.flatMap((o) => opIndexes(o.paired)))].sort((a, b) => a - b), explanation: lines.join('\n') };
}

function checkKey(key: string, ops: readonly PairedOp[], options: LinearizabilityOptions): KeyResult {
  const start = performance.now();
  const searchOps: SearchOp[] = [];
  let completed = 0;
  let indeterminate = 0;
  for (const paired of ops) {
    const type = paired.complete?.type;
    if (type === 'fail') continue;
    const isIndeterminate = type !== 'ok';
    if (isIndeterminate && paired.f === 'sync-read') continue;
    const model = toRegisterOp(paired);
    const needs = model.result === undefined ? undefined : model.kind === 'sync-read' ? model.result.version : model.result.version - 1;
    searchOps.push({ paired, model, needs, indeterminate: isIndeterminate, bit: isIndeterminate ? indeterminate++ : completed++ });
  }
  const counter = { states: 0 };
  const initial = options.initialState?.(key) ?? MISSING_ZNODE;
  const outcome = search(searchOps, initial, options.maxStates ?? DEFAULT_MAX_STATES, options.maxMs ?? DEFAULT_MAX_MS, counter);
  const result: KeyResult = { key, valid: outcome.valid, ops: searchOps.length, indeterminate, statesExplored: counter.states, decidedBy: 'search', timeMs: 0 };
  if (outcome.valid === false) result.anomaly = explain(key, searchOps, outcome.deepest);
  if (outcome.valid === 'unknown') {
    result.reason = outcome.reason;
    result.decidedBy = 'none';
    if (options.versionOrderFallback ?? true) {
      const anomaly = versionOrderAnomaly(key, searchOps, initial);
      result.decidedBy = 'version-order';
      result.valid = anomaly === null;
      if (anomaly !== null) result.anomaly = anomaly;
    }
  }
  result.timeMs = elapsedMs(start);
  return result;
}

/** Checks the sync-read, write and cas operations of a register history, key by key. */
export function checkLinearizable(ops: readonly PairedOp[], options: LinearizabilityOptions = {}): LinearizabilityVerdict {
  const start = performance.now();
  const register = ops.filter((op) => LINEARIZABLE_FS.has(op.f));
  const keys = [...byKey(register)].map(([key, group]) => checkKey(key, group, options));
  const valid = combineValidity(keys.map((k) => k.valid));
  const anomalies = keys.flatMap((k) => (k.anomaly === undefined ? [] : [k.anomaly]));
  const searched = keys.reduce((n, k) => n + k.ops, 0);
  const states = keys.reduce((n, k) => n + k.statesExplored, 0);
  const unknown = keys.filter((k) => k.valid === 'unknown').map((k) => `${JSON.stringify(k.key)} (${k.reason})`);
  const byVersions = keys.filter((k) => k.decidedBy === 'version-order').map((k) => `${JSON.stringify(k.key)} (search ${k.reason})`);
  const outcome =
    (valid === true ? 'linearizable' : valid === false ? `NOT linearizable on ${anomalies.length} key(s)` : `undecided on ${unknown.join(', ')}`) +
    (byVersions.length === 0 ? '' : `; decided by version order on ${byVersions.join(', ')}`);
  return {
    checker: 'linearizability',
    valid,
    anomalies,
    keys,
    summary: `${searched} sync-read/write/cas operation(s) on ${keys.length} key(s), ${states} states explored: ${outcome}`,
    timeMs: elapsedMs(start),
  };
}
