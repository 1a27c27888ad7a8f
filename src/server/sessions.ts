/**
 * Session expiry, as ZooKeeper's ExpiryQueue: sessions are kept in buckets of tickTime width and a
 * whole bucket expires at once, so a tick costs O(expired) and not O(sessions). Sans-IO: the caller
 * says what time it is; this never reads a clock.
 */
export class SessionExpiry {
  private readonly buckets = new Map<number, Set<bigint>>();
  private readonly deadlines = new Map<bigint, number>();
  private nextExpiration: number;

  constructor(private readonly tickTime: number, now: number) {
    this.nextExpiration = this.roundUp(now);
  }

  private roundUp(time: number): number {
    return (Math.floor(time / this.tickTime) + 1) * this.tickTime;
  }

  /** (Re)arms a session: it expires once `timeout` ms pass without another touch. */
  touch(sessionId: bigint, timeout: number, now: number): void {
    const deadline = this.roundUp(now + timeout);
    const previous = this.deadlines.get(sessionId);
    if (previous === deadline) return;
    if (previous !== undefined) this.buckets.get(previous)?.delete(sessionId);
    let bucket = this.buckets.get(deadline);
    if (!bucket) this.buckets.set(deadline, (bucket = new Set()));
    bucket.add(sessionId);
    this.deadlines.set(sessionId, deadline);
  }

  remove(sessionId: bigint): void {
    const deadline = this.deadlines.get(sessionId);
    if (deadline === undefined) return;
    this.buckets.get(deadline)?.delete(sessionId);
    this.deadlines.delete(sessionId);
  }

  has(sessionId: bigint): boolean {
    return this.deadlines.has(sessionId);
  }

  /** Sessions whose deadline is at or before `now`; they are forgotten here. */
  expire(now: number): bigint[] {
    const out: bigint[] = [];
    while (this.nextExpiration <= now) {
      const bucket = this.buckets.get(this.nextExpiration);
      if (bucket) {
        this.buckets.delete(this.nextExpiration);
        for (const id of bucket) {
          this.deadlines.delete(id);
          out.push(id);
        }
      }
      this.nextExpiration += this.tickTime;
    }
    return out;
  }

  /** Expiry time -> the sessions expiring then (the admin server's dump). */
  byDeadline(): ReadonlyMap<number, ReadonlySet<bigint>> {
    return this.buckets;
  }

  /** Milliseconds until the next bucket is due. */
  msUntilNextCheck(now: number): number {
    return Math.max(0, this.nextExpiration - now);
  }
}
