import { ROOT, type NodeStore, type SnapshotRow } from './node-store.js';

interface Frame {
  children: Int32Array;
  next: number;
  /** Length of the parent's path in the walk's path buffer. */
  pathLen: number;
  /** Whether the parent's path has a character outside the BMP (4-byte UTF-8). */
  astral: boolean;
}

const ASTRAL_LEAD = 0xf0;

/**
 * Walks a NodeStore's snapshot view (the live tree outside a snapshot) depth first, parents before
 * children, children oldest first: the order ZooKeeper's DataTree.serialize visits a tree in. Each
 * step leaves the node's id, its path as UTF-8 bytes (empty for the root, as snapshots name it) and
 * its fields in `row`, without building a path string. The walk may be paused between steps while
 * txns are applied: the snapshot view keeps what it visits as it was.
 */
export class TreeWalk {
  id = -1;
  /** The path is path[0, pathLen). */
  path = Buffer.allocUnsafe(1024);
  pathLen = 0;
  /** Whether the path has a character outside the BMP (which Jute writes as CESU-8, not UTF-8). */
  astral = false;
  readonly row: SnapshotRow = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0, aclRef: 0, data: null };
  private readonly stack: Frame[] = [];
  private started = false;

  constructor(private readonly store: NodeStore) {}

  /** Moves to the next node; false when the walk is over. */
  next(): boolean {
    const store = this.store;
    if (!this.started) {
      this.started = true;
      this.visit(ROOT, 0, false);
      return true;
    }
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (top === undefined) return false;
      if (top.next === top.children.length) {
        this.stack.pop();
        continue;
      }
      const id = top.children[top.next++]!;
      const nameLen = store.nameLength(id);
      const need = top.pathLen + 1 + nameLen;
      if (need > this.path.length) {
        const bigger = Buffer.allocUnsafe(Math.max(need, this.path.length * 2));
        this.path.copy(bigger, 0, 0, top.pathLen);
        this.path = bigger;
      }
      this.path[top.pathLen] = 0x2f;
      const end = store.copyName(id, this.path, top.pathLen + 1);
      let astral = top.astral;
      if (!astral) for (let i = top.pathLen + 1; i < end; i++) if (this.path[i]! >= ASTRAL_LEAD) astral = true;
      this.visit(id, end, astral);
      return true;
    }
  }

  private visit(id: number, pathLen: number, astral: boolean): void {
    this.id = id;
    this.pathLen = pathLen;
    this.astral = astral;
    this.store.fillSnapshotRow(id, this.row);
    const children = this.store.snapshotChildren(id);
    if (children.length > 0) this.stack.push({ children, next: 0, pathLen, astral });
  }

  /** The path as a string ("/" for the root). */
  pathString(): string {
    return this.pathLen === 0 ? '/' : this.path.toString('utf8', 0, this.pathLen);
  }
}
