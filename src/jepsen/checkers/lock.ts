/**
 * Mutual exclusion for the lock and leader-election workloads (kazoo's Lock and Election recipes):
 * never two holders of the same lock (key) at once.
 *
 * A client believes it holds the lock from its acquire's ok until it invokes release, but ZooKeeper
 * only promises the lock while the holder's session lives: once the leader expires the session, its
 * lock node goes and the next waiter gets the lock, while the old holder may not know yet. So the
 * checker counts a hold only for the time the history PROVES it: from the acquire's ok (time a) to
 * the earliest of the release's invoke and the last instant the session is proven alive at the leader
 * (sessions.ts: the invoke of the session's last ok write; a recorded close or expiry cuts it). A
 * hold whose acquire has no session id proves nothing beyond its acquire.
 *
 * Two holds by different processes conflict when max(a1, a2) + slack < min(end1, end2): at that
 * instant both acquires had completed and both lock nodes provably still existed. In a correct
 * ensemble that cannot happen (the later node's owner saw the earlier node deleted before its
 * acquire's ok, and deletions are permanent), so the rule raises no false alarm; the slack absorbs
 * timestamps taken in different processes.
 */
import type { PairedOp } from '../history.js';
import { lifeProofs, provenAliveUntil, sessionEnds, type SessionEvent } from './sessions.js';
import { byKey, combineValidity, describeOp, elapsedMs, opIndexes, sessionOf, type Anomaly, type Validity, type Verdict } from './verdict.js';

export interface LockOptions {
  /** Overlap tolerated between two proven holds, in the history's time unit (ns). Default 0. */
  slack?: number;
}

interface Hold {
  acquire: PairedOp;
  release: PairedOp | undefined;
  start: number;
  end: number;
  /** What ends the proven hold, for the report. */
  endReason: string;
}

function holds(group: readonly PairedOp[], aliveUntil: (op: PairedOp) => number): Hold[] {
  const result: Hold[] = [];
  const open = new Map<number, Hold>();
  for (const op of group) {
    if (op.f === 'acquire' && op.complete?.type === 'ok') {
      const alive = aliveUntil(op);
      const hold: Hold = { acquire: op, release: undefined, start: op.complete.time, end: alive, endReason: 'the last proof that its session was alive' };
      result.push(hold);
      open.set(op.process, hold);
    } else if (op.f === 'release') {
      const hold = open.get(op.process);
      if (hold === undefined) continue;
      open.delete(op.process);
      hold.release = op;
      if (op.invoke.time <= hold.end) {
        hold.end = op.invoke.time;
        hold.endReason = 'its release';
      }
    }
  }
  return result;
}

function conflicts(list: Hold[], slack: number, anomalies: Anomaly[]): number {
  const sorted = list.filter((h) => h.end > h.start).sort((a, b) => a.start - b.start);
  let found = 0;
  // Sweep by start, keeping the earlier holds that still last past it.
  let active: Hold[] = [];
  for (const h of sorted) {
    active = active.filter((earlier) => earlier.end > h.start + slack);
    for (const first of active) {
      if (first.acquire.process === h.acquire.process || !(h.start + slack < Math.min(first.end, h.end))) continue;
      found++;
      anomalies.push({
        kind: 'two-holders',
        ops: [...opIndexes(first.acquire), ...(first.release === undefined ? [] : opIndexes(first.release)), ...opIndexes(h.acquire)],
        explanation:
          `two holders at once on lock ${JSON.stringify(h.acquire.key ?? '')}: ${describeOp(h.acquire)} acquired it while ${describeOp(first.acquire)} provably still held it ` +
          `(until ${first.endReason}${first.release === undefined ? '' : `, ${describeOp(first.release)}`}); overlap ${Math.min(first.end, h.end) - h.start} time units`,
      });
    }
    active.push(h);
  }
  return found;
}

export function checkLock(ops: readonly PairedOp[], expirations: readonly SessionEvent[], options: LockOptions = {}): Verdict {
  const start = performance.now();
  const proofs = lifeProofs(ops);
  const ends = sessionEnds(ops, expirations);
  const aliveUntil = (op: PairedOp): number => provenAliveUntil(sessionOf(op), proofs, ends);
  const anomalies: Anomaly[] = [];
  const validities: Validity[] = [];
  const lines: string[] = [];
  for (const [key, group] of byKey(ops.filter((op) => op.f === 'acquire' || op.f === 'release'))) {
    const list = holds(group, aliveUntil);
    const proven = list.filter((h) => h.end > h.start).length;
    const found = conflicts(list, options.slack ?? 0, anomalies);
    // Acquires but no hold provable at all: nothing was checked, which is not a pass.
    validities.push(found > 0 ? false : list.length > 0 && proven === 0 ? 'unknown' : true);
    lines.push(`lock ${JSON.stringify(key)}: ${list.length} acquire(s), ${proven} with a proven hold, ${found} overlap(s)`);
  }
  return {
    checker: 'lock',
    valid: validities.length === 0 ? 'unknown' : combineValidity(validities),
    anomalies,
    summary: validities.length === 0 ? 'no acquire or release operations' : lines.join('; '),
    timeMs: elapsedMs(start),
  };
}
