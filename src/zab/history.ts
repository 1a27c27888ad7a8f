import type { Txn } from '../datatree/index.js';

/**
 * The tail of a peer's txn log kept in memory: what a leader streams to a learner that is only a
 * little behind, instead of a whole snapshot. It holds exactly the txns of the log after `base`,
 * in zxid order; payloads are the bytes of a log entry, which are also a PROPOSAL's data.
 */
export interface HistoryEntry {
  zxid: number;
  payload: Buffer;
  /** The decoded txn, when the server has it at hand (saves decoding the payload again). */
  txn?: Txn;
}

/**
 * How many txns are kept. ZooKeeper keeps 500 in memory (zookeeper.commitLogCount) and, for a
 * learner further behind, reads its on-disk log (up to a third of a snapshot's size) before it
 * sends a snapshot. zkts has no on-disk fallback yet, so it keeps more in memory: under a steady
 * write load a restarted follower is thousands of txns behind, and a SNAP of a large tree can
 * outlast initLimit, after which the learner is further behind still and gets another SNAP (a
 * 1,000-kill run livelocked that way). The byte bound keeps large values from costing memory.
 */
export const DEFAULT_HISTORY_SIZE = 10_000;
export const DEFAULT_HISTORY_BYTES = 16 * 1024 * 1024;

export class History {
  private entries: HistoryEntry[] = [];
  /** Payload bytes of `entries`. */
  private bytes = 0;

  /** `base`: the log's last zxid before the first entry added (its whole content when empty). */
  constructor(
    public base: number,
    private readonly capacity = DEFAULT_HISTORY_SIZE,
    private readonly byteBudget = DEFAULT_HISTORY_BYTES,
  ) {}

  /** The log's last zxid. */
  get lastZxid(): number {
    return this.maxZxid ?? this.base;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The oldest zxid kept, or undefined when empty. */
  get minZxid(): number | undefined {
    return this.entries[0]?.zxid;
  }

  get maxZxid(): number | undefined {
    return this.entries.at(-1)?.zxid;
  }

  add(entry: HistoryEntry): void {
    const last = this.maxZxid;
    if (last !== undefined && entry.zxid <= last) throw new Error(`history out of order: 0x${entry.zxid.toString(16)} after 0x${last.toString(16)}`);
    this.entries.push(entry);
    this.bytes += entry.payload.length;
    // Trim in batches (down to the bounds once twice past one) so that adding stays O(1) amortized.
    if (this.entries.length > this.capacity * 2 || this.bytes > this.byteBudget * 2) {
      let dropped = Math.max(0, this.entries.length - this.capacity);
      let bytes = this.bytes;
      for (let i = 0; i < dropped; i++) bytes -= this.entries[i]!.payload.length;
      // Always keep the newest entry.
      while (bytes > this.byteBudget && dropped < this.entries.length - 1) bytes -= this.entries[dropped++]!.payload.length;
      if (dropped > 0) {
        this.base = this.entries[dropped - 1]!.zxid;
        this.entries = this.entries.slice(dropped);
        this.bytes = bytes;
      }
    }
  }

  /** Drops every entry after `zxid` (a TRUNC). */
  truncateAfter(zxid: number): void {
    let n = this.entries.length;
    while (n > 0 && this.entries[n - 1]!.zxid > zxid) this.bytes -= this.entries[--n]!.payload.length;
    this.entries.length = n;
    if (zxid < this.base) this.base = zxid;
  }

  /** Forgets everything: the log now ends at `base` (a snapshot received from the leader). */
  reset(base: number): void {
    this.entries = [];
    this.bytes = 0;
    this.base = base;
  }

  has(zxid: number): boolean {
    return this.indexOf(zxid) >= 0;
  }

  /** Entries with zxid > `after`, in order. */
  after(after: number): HistoryEntry[] {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.zxid <= after) lo = mid + 1;
      else hi = mid;
    }
    return this.entries.slice(lo);
  }

  /** The newest zxid kept that is <= `zxid`, or undefined. */
  floor(zxid: number): number | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.zxid <= zxid) return this.entries[i]!.zxid;
    return undefined;
  }

  private indexOf(zxid: number): number {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const z = this.entries[mid]!.zxid;
      if (z === zxid) return mid;
      if (z < zxid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
