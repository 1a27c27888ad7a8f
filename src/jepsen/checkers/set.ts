/**
 * The set / queue workload: clients add elements as sequential znodes, then one client reads them all.
 * History conventions (as the harness records them): 'add' invokes with the element and its ok
 * carries { value: element, seq } (seq: the sequence number ZooKeeper appended); 'read-all' is ok
 * with [{ value: element, seq }]. The last ok read-all (per key) is the final state.
 *
 * Checked: every add acknowledged before the final read began is in it (else lost); no element is in
 * it twice; nothing is in it that no add attempted, or whose every attempt failed (unexpected);
 * sequence numbers are unique and agree with what the add was told; and they increase in real-time
 * order: when add A completed before add B was invoked, seq(A) < seq(B) (ZooKeeper numbers children
 * in commit order). An add with an unknown outcome may be present or absent; when present its
 * sequence number from the final read takes part in the order check, with an open-ended interval.
 */
import type { PairedOp } from '../history.js';
import { valueKey } from './register-model.js';
import { byKey, combineValidity, describeOp, elapsedMs, opIndexes, type Anomaly, type Validity, type Verdict } from './verdict.js';

interface Entry {
  element: unknown;
  seq: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function addResult(op: PairedOp): Entry {
  const v = op.complete!.value;
  if (!isRecord(v) || typeof v.seq !== 'number') throw new Error(`history entry #${op.complete!.index}: add ok needs a value { value, seq }, got ${JSON.stringify(v)}`);
  return { element: v.value ?? op.invoke.value, seq: v.seq };
}

function readEntries(op: PairedOp): Entry[] {
  const v = op.complete!.value;
  const bad = () => new Error(`history entry #${op.complete!.index}: read-all ok needs a value [{ value, seq }], got ${JSON.stringify(v)?.slice(0, 200)}`);
  if (!Array.isArray(v)) throw bad();
  return v.map((e: unknown) => {
    if (!isRecord(e) || typeof e.seq !== 'number') throw bad();
    return { element: e.value, seq: e.seq };
  });
}

/** An add whose sequence number is known, with the interval in which it took effect. */
interface Placed {
  op: PairedOp;
  seq: number;
  invoked: number;
  completed: number;
}

function checkOrder(placed: Placed[], anomalies: Anomaly[]): void {
  const byInvoke = [...placed].sort((a, b) => a.invoked - b.invoked);
  const byCompletion = [...placed].sort((a, b) => a.completed - b.completed);
  let next = 0;
  let highest: Placed | undefined;
  for (const b of byInvoke) {
    while (next < byCompletion.length && byCompletion[next]!.completed < b.invoked) {
      const a = byCompletion[next++]!;
      if (highest === undefined || a.seq > highest.seq) highest = a;
    }
    if (highest !== undefined && highest.seq > b.seq) {
      anomalies.push({
        kind: 'seq-order',
        ops: [...opIndexes(highest.op), ...opIndexes(b.op)],
        explanation: `sequence numbers out of real-time order: ${describeOp(highest.op)} got seq ${highest.seq} and completed before ${describeOp(b.op)} began, which got the smaller seq ${b.seq}`,
      });
    }
  }
}

function checkKey(key: string, ops: readonly PairedOp[], anomalies: Anomaly[]): { valid: Validity; line: string } {
  const reads = ops.filter((op) => op.f === 'read-all' && op.complete?.type === 'ok');
  const final = reads.at(-1);
  const where = key === '' ? '' : ` on ${JSON.stringify(key)}`;
  if (final === undefined) return { valid: 'unknown', line: `no successful final read-all${where}: nothing to compare the adds with` };
  const adds = ops.filter((op) => op.f === 'add');
  const entries = readEntries(final);
  const before = anomalies.length;

  const present = new Map<string, Entry[]>();
  const seqOwners = new Map<number, string[]>();
  for (const e of entries) {
    const k = valueKey(e.element);
    present.set(k, [...(present.get(k) ?? []), e]);
    seqOwners.set(e.seq, [...(seqOwners.get(e.seq) ?? []), k]);
  }
  const attempts = new Map<string, PairedOp[]>();
  for (const add of adds) {
    const k = valueKey(add.invoke.value);
    attempts.set(k, [...(attempts.get(k) ?? []), add]);
  }

  for (const [k, found] of present) {
    const tried = attempts.get(k) ?? [];
    if (found.length > 1) {
      anomalies.push({ kind: 'duplicate', ops: [...tried.flatMap(opIndexes), ...opIndexes(final)], explanation: `element ${k} is in the final read ${found.length} times (seq ${found.map((e) => e.seq).join(', ')})` });
    }
    if (tried.length === 0) {
      anomalies.push({ kind: 'unexpected', ops: opIndexes(final), explanation: `element ${k} (seq ${found[0]!.seq}) is in the final read but no add attempted it` });
    } else if (tried.every((op) => op.complete?.type === 'fail')) {
      anomalies.push({ kind: 'unexpected', ops: [...tried.flatMap(opIndexes), ...opIndexes(final)], explanation: `element ${k} is in the final read but its add failed: ${describeOp(tried[0]!)}` });
    }
  }
  for (const [seq, owners] of seqOwners) {
    if (owners.length > 1) anomalies.push({ kind: 'duplicate-seq', ops: opIndexes(final), explanation: `sequence number ${seq} belongs to ${owners.length} entries of the final read (${owners.join(', ')})` });
  }

  const placed: Placed[] = [];
  const acknowledgedSeqs = new Map<number, PairedOp>();
  let lost = 0;
  for (const add of adds) {
    const k = valueKey(add.invoke.value);
    const found = present.get(k)?.[0];
    if (add.complete?.type === 'ok') {
      const result = addResult(add);
      const other = acknowledgedSeqs.get(result.seq);
      if (other !== undefined) {
        anomalies.push({ kind: 'duplicate-seq', ops: [...opIndexes(other), ...opIndexes(add)], explanation: `${describeOp(other)} and ${describeOp(add)} were both given seq ${result.seq}` });
      }
      acknowledgedSeqs.set(result.seq, add);
      placed.push({ op: add, seq: result.seq, invoked: add.invoke.time, completed: add.complete.time });
      if (found === undefined && add.complete.time < final.invoke.time) {
        lost++;
        anomalies.push({ kind: 'lost', ops: [...opIndexes(add), ...opIndexes(final)], explanation: `acknowledged element ${k} is missing from the final read: ${describeOp(add)}` });
      } else if (found !== undefined && found.seq !== result.seq) {
        anomalies.push({ kind: 'seq-mismatch', ops: [...opIndexes(add), ...opIndexes(final)], explanation: `${describeOp(add)} was told seq ${result.seq} but the final read has element ${k} at seq ${found.seq}` });
      }
    } else if (add.complete?.type !== 'fail' && found !== undefined) {
      placed.push({ op: add, seq: found.seq, invoked: add.invoke.time, completed: Infinity });
    }
  }
  checkOrder(placed, anomalies);

  const ok = adds.filter((op) => op.complete?.type === 'ok').length;
  const indeterminate = adds.filter((op) => op.complete?.type !== 'ok' && op.complete?.type !== 'fail').length;
  const found = anomalies.length - before;
  return {
    valid: found === 0,
    line: `${adds.length} add(s)${where} (${ok} ok, ${indeterminate} indeterminate), final read of ${entries.length}: ${found === 0 ? 'all acknowledged present, unique, in order' : `${found} anomalies (${lost} lost)`}`,
  };
}

export function checkSet(ops: readonly PairedOp[]): Verdict {
  const start = performance.now();
  const anomalies: Anomaly[] = [];
  const results = [...byKey(ops.filter((op) => op.f === 'add' || op.f === 'read-all'))].map(([key, group]) => checkKey(key, group, anomalies));
  return {
    checker: 'set',
    valid: results.length === 0 ? 'unknown' : combineValidity(results.map((r) => r.valid)),
    anomalies,
    summary: results.length === 0 ? 'no add or read-all operations' : results.map((r) => r.line).join('; '),
    timeMs: elapsedMs(start),
  };
}
