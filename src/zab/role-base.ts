import type { HistoryEntry } from './history.js';
import { emptyReady, type Ready } from './ready.js';

/**
 * What the leader and follower roles share: the Ready they hand out, and the txns they have logged
 * (or are logging) but not applied yet, applied in zxid order once both committed and durable here.
 */
export abstract class RoleBase {
  protected out: Ready = emptyReady();
  /**
   * Logged, in zxid order, not yet applied (the history window may have dropped them already): the
   * entries from `unappliedHead` on. Under load thousands wait here; taking them off the front by
   * an index keeps each commit O(1) rather than a copy of the rest.
   */
  protected unapplied: HistoryEntry[] = [];
  private unappliedHead = 0;
  /** The end of the local log that is durable. */
  lastLogged: number;
  /** The newest txn known committed (by a quorum). */
  lastCommitted: number;
  lastApplied: number;

  constructor(lastZxid: number) {
    this.lastLogged = this.lastCommitted = this.lastApplied = lastZxid;
  }

  /** What to do since the last call (see Ready for the order). */
  ready(): Ready {
    const r = this.out;
    this.out = emptyReady();
    return r;
  }

  /** Forgets what was waiting to be applied (the log was truncated or replaced). */
  protected resetUnapplied(): void {
    this.unapplied = [];
    this.unappliedHead = 0;
  }

  /** Commits every unapplied txn that is both committed and in the local log on disk. */
  protected applyCommitted(): void {
    const upTo = Math.min(this.lastCommitted, this.lastLogged);
    const q = this.unapplied;
    let i = this.unappliedHead;
    while (i < q.length && q[i]!.zxid <= upTo) this.out.commits.push(q[i++]!);
    if (i === this.unappliedHead) return;
    this.lastApplied = q[i - 1]!.zxid;
    this.unappliedHead = i;
    if (i > 1024 && i * 2 > q.length) {
      this.unapplied = q.slice(i);
      this.unappliedHead = 0;
    }
  }
}
