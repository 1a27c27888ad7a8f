/**
 * Monotonic reads for plain (unsynced) reads of the register workload. ZooKeeper does not make plain
 * reads linearizable, but it guarantees a client never goes back in time: a session's view only moves
 * forward, also when it reconnects to another server (the client sends the last zxid it saw and a
 * server behind it refuses the connection). The rule checked, per session and key: a plain read's
 * version is at least every version the same session saw in an operation that completed before the
 * read was invoked (its earlier reads and sync-reads, and its own acknowledged writes and cas).
 *
 * Keyed by session (the `session` of the entry; a client library that replaces an expired session
 * starts a new view, which ZooKeeper does not order with the old one). Entries without a session are
 * keyed by process, which the harness keeps to one connection's lifetime. Versions only grow while
 * a znode is never deleted, which the register workload never does.
 */
import type { PairedOp } from '../history.js';
import { describeOp, elapsedMs, opIndexes, sessionOf, type Anomaly, type Verdict } from './verdict.js';

const VERSION_CARRYING = new Set(['read', 'sync-read', 'write', 'cas']);

function versionOf(op: PairedOp): number | undefined {
  const v = op.complete?.value;
  if (typeof v !== 'object' || v === null || !('version' in v)) return undefined;
  const version = (v as { version: unknown }).version;
  return typeof version === 'number' ? version : undefined;
}

function viewOf(op: PairedOp): string {
  const session = sessionOf(op);
  return session === undefined ? `process ${op.process}` : `session ${session}`;
}

export function checkMonotonicReads(ops: readonly PairedOp[]): Verdict {
  const start = performance.now();
  const seen = ops.filter((op) => VERSION_CARRYING.has(op.f) && op.complete?.type === 'ok');
  for (const op of seen) {
    if (versionOf(op) === undefined) throw new Error(`history entry #${op.complete!.index}: ${op.f} ok needs a value { value, version }, got ${JSON.stringify(op.complete!.value)}`);
  }
  const anomalies: Anomaly[] = [];
  let reads = 0;
  const views = new Map<string, PairedOp[]>();
  for (const op of seen) {
    const view = `${viewOf(op)} key ${JSON.stringify(op.key ?? '')}`;
    let group = views.get(view);
    if (group === undefined) views.set(view, (group = []));
    group.push(op);
  }
  for (const [view, group] of views) {
    const byCompletion = [...group].sort((a, b) => a.complete!.time - b.complete!.time);
    const plainReads = group.filter((op) => op.f === 'read').sort((a, b) => a.invoke.time - b.invoke.time);
    reads += plainReads.length;
    let next = 0;
    let highest: PairedOp | undefined;
    for (const read of plainReads) {
      while (next < byCompletion.length && byCompletion[next]!.complete!.time < read.invoke.time) {
        const candidate = byCompletion[next++]!;
        if (highest === undefined || versionOf(candidate)! > versionOf(highest)!) highest = candidate;
      }
      if (highest !== undefined && versionOf(read)! < versionOf(highest)!) {
        anomalies.push({
          kind: 'stale-read',
          ops: [...opIndexes(highest), ...opIndexes(read)],
          explanation: `${view} went back in time: ${describeOp(read)} saw version ${versionOf(read)} after ${describeOp(highest)} had seen version ${versionOf(highest)}`,
        });
      }
    }
  }
  return {
    checker: 'monotonic-reads',
    valid: anomalies.length === 0,
    anomalies,
    summary: `${reads} plain read(s) in ${views.size} (session, key) view(s): ${anomalies.length === 0 ? 'none went back in time' : `${anomalies.length} went back in time`}`,
    timeMs: elapsedMs(start),
  };
}
