/**
 * Majority quorums over the voting members of one configuration (ZooKeeper's QuorumMaj: every voter
 * weighs 1, a quorum is more than half of them). Election and the ZAB roles both count with it.
 */
export class MajorityQuorum {
  private readonly voters: ReadonlySet<number>;

  constructor(voters: Iterable<number>) {
    this.voters = new Set(voters);
    if (this.voters.size === 0) throw new Error('a quorum needs at least one voting member');
  }

  /** The voting members' sids. */
  get members(): ReadonlySet<number> {
    return this.voters;
  }

  /** How many votes a quorum needs. */
  get size(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  isVoter(sid: number): boolean {
    return this.voters.has(sid);
  }

  /** Whether the voters among `sids` are more than half of all voters (non-voters never count). */
  isQuorum(sids: Iterable<number>): boolean {
    let n = 0;
    // A Set is counted as it is (the leader asks this for every ACK): only other iterables may repeat.
    for (const sid of sids instanceof Set ? (sids as Set<number>) : new Set(sids)) if (this.voters.has(sid)) n++;
    return n >= this.size;
  }
}
