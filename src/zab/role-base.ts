import type { HistoryEntry } from './history.js';
import { emptyReady, type Ready } from './ready.js';

/**
 * What the leader and follower roles share: the Ready they hand out, and the txns they have logged
 * (or are logging) but not applied yet, applied in zxid order once both committed and durable here.
 */
export abstract class RoleBase {
  protected out: Ready = emptyReady();
  /** Logged, in zxid order, not yet applied (the history window may have dropped them already). */
  protected unapplied: HistoryEntry[] = [];
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

  /** Commits every unapplied txn that is both committed and in the local log on disk. */
  protected applyCommitted(): void {
    const upTo = Math.min(this.lastCommitted, this.lastLogged);
    let n = 0;
    while (n < this.unapplied.length && this.unapplied[n]!.zxid <= upTo) this.out.commits.push(this.unapplied[n++]!);
    if (n === 0) return;
    this.lastApplied = this.unapplied[n - 1]!.zxid;
    this.unapplied = this.unapplied.slice(n);
  }
}
