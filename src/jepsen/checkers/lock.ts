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
 * Two acquires X and Y by different processes, X's ok first (aX <= aY), conflict when Y's ok comes
 * inside X's proven hold (aY + slack < endX) and either
 *  - Y's acquire was invoked after X's completed (aX + slack < invokeY): Y decided it held the lock at
 *    some instant of [invokeY, aY], inside X's hold; or
 *  - Y's own hold is proven past its ok too (aY + slack < endY): at aY both did.
 * In a correct ensemble neither can happen. Sequence numbers follow commit order; say nX was created
 * first: Y saw its own node lowest in a committed state containing nY, hence nX's creation, so nX
 * had been deleted before Y's decision, yet nX provably still existed then. Say nY was created first:
 * X's deciding state contained nX, so nY's creation, and lacked nY, so nY was deleted before aX; in
 * the first case nY did not even exist before invokeY > aX, in the second it provably existed at aY.
 * Deletions are permanent, so the rule raises no false alarm; the slack absorbs timestamps taken
 * in different processes.
 */
import type { PairedOp } from '../history.js';
import { lifeProofs, provenAliveUntil, sessionEnds, type SessionEvent } from './sessions.js';
import { byKey, combineValidity, describeOp, elapsedMs, opIndexes, sessionOf, type Anomaly, type Validity, type Verdict } from './verdict.js';

export interface LockOptions {
  /** Overlap tolerated, in the history's time unit (ns). Default DEFAULT_LOCK_SLACK_NS. */
  slack?: number;
}

/**
 * 100 ms. The lock workload's events are timestamped by the kazoo script's threads, in another
 * process, and the harness moves an entry later when its line arrives after a later-stamped one
 * (history times must not go back): an end of hold may appear up to that much later than it was.
 * Real double holds last about a session timeout (seconds), far above it.
 */
export const DEFAULT_LOCK_SLACK_NS = 100_000_000;

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
  const sorted = [...list].sort((a, b) => a.start - b.start);
  let found = 0;
  sorted.forEach((x, i) => {
    for (let j = i + 1; j < sorted.length; j++) {
      const y = sorted[j]!;
      if (!(y.start + slack < x.end)) break;
      if (x.acquire.process === y.acquire.process) continue;
      const invokedInside = x.start + slack < y.acquire.invoke.time;
      if (!invokedInside && !(y.start + slack < y.end)) continue;
      found++;
      const why = invokedInside ? 'was invoked and acquired it while' : 'acquired it, and provably held it past that, while';
      anomalies.push({
        kind: 'two-holders',
        ops: [...opIndexes(x.acquire), ...(x.release === undefined ? [] : opIndexes(x.release)), ...opIndexes(y.acquire)],
        explanation:
          `two holders at once on lock ${JSON.stringify(y.acquire.key ?? '')}: ${describeOp(y.acquire)} ${why} ${describeOp(x.acquire)} provably still held it ` +
          `(until ${x.endReason}${x.release === undefined ? '' : `, ${describeOp(x.release)}`})`,
      });
    }
  });
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
    const found = conflicts(list, options.slack ?? DEFAULT_LOCK_SLACK_NS, anomalies);
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
