import { epochOf } from '../jute/quorum.js';
import type { History, HistoryEntry } from './history.js';

/**
 * How a leader brings a learner up to date (ZooKeeper's LearnerHandler.syncFollower):
 *  - diff: the learner's log is a prefix of ours: send what follows it;
 *  - trunc: the learner has txns we lack, after `zxid`: it drops them, then gets what follows `zxid`;
 *  - snap: neither can be proven safe, or the learner is older than our in-memory history.
 */
export type SyncPlan =
  | { mode: 'diff'; zxid: number; entries: HistoryEntry[] }
  | { mode: 'trunc'; zxid: number; entries: HistoryEntry[] }
  | { mode: 'snap' };

/**
 * `history` holds every txn of the leader's log after `history.base`; `peerLastZxid` is the
 * learner's last logged zxid (from ACKEPOCH).
 *
 * Truncation is only safe inside one epoch: within an epoch every server's txns are a prefix of
 * that epoch's leader's proposals, so a learner whose last txn is e.k and a leader whose newest txn
 * before it is e.j agree on everything up to e.j. Across epochs they may not (the learner may lack
 * an uncommitted txn of an older epoch that this leader kept), so ZooKeeper sends a snapshot
 * instead, and so do we; ZooKeeper's TRUNC to its last zxid when the learner is ahead skips that
 * check, which can leave a learner without a txn it is then believed to have.
 */
export function planSync(history: History, peerLastZxid: number): SyncPlan {
  const leaderLast = history.lastZxid;
  if (peerLastZxid === leaderLast) return { mode: 'diff', zxid: leaderLast, entries: [] };
  if (peerLastZxid < history.base) return { mode: 'snap' };
  if (peerLastZxid === history.base || history.has(peerLastZxid)) {
    return { mode: 'diff', zxid: leaderLast, entries: history.after(peerLastZxid) };
  }
  // The learner has a txn we do not: truncate it back to our newest txn before it, if that is safe.
  const prev = history.floor(peerLastZxid) ?? history.base;
  if (epochOf(prev) !== epochOf(peerLastZxid)) return { mode: 'snap' };
  return { mode: 'trunc', zxid: prev, entries: history.after(prev) };
}
