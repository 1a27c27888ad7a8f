import type { records } from '../jute/index.js';
import { DataTree } from '../datatree/index.js';

type ACL = records.ACL;

/** What prep needs to know of a znode to decide a write (ZooKeeper's ChangeRecord). */
export interface NodeRecord {
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  childCount: number;
  acl: ACL[];
}

/**
 * The tree as prep must see it: the committed tree plus the changes of txns prepared but not yet
 * applied. Ops of one multi see the earlier ops of the same multi through a child view, which is
 * dropped if the multi fails (ZooKeeper's rollbackPendingChanges).
 */
export class ChangeView {
  private readonly changes = new Map<string, { record: NodeRecord | null; zxid: number }>();
  /** The zxid of the txn being prepared: its changes stay visible until that txn is applied. */
  zxid = 0;
  /** (zxid, path) in the order changes were made, so that prune() costs what it removes. */
  private order: { zxid: number; path: string }[] = [];
  private orderHead = 0;

  /** `base` is the committed tree, or the view this one layers on (a multi's ops over the pending changes). */
  constructor(private readonly base: DataTree | ChangeView) {}

  get(path: string): NodeRecord | undefined {
    const changed = this.changes.get(path);
    if (changed !== undefined) return changed.record ?? undefined;
    if (this.base instanceof ChangeView) return this.base.get(path);
    const node = this.base.getNode(path);
    if (!node) return undefined;
    return {
      version: node.version,
      cversion: node.cversion,
      aversion: node.aversion,
      ephemeralOwner: node.ephemeralOwner,
      childCount: node.childCount,
      acl: this.base.aclOf(node),
    };
  }

  set(path: string, record: NodeRecord | null): void {
    this.changes.set(path, { record, zxid: this.zxid });
    this.order.push({ zxid: this.zxid, path });
  }

  /** Every path with a pending change and its newest record (null: deleted), by first change. */
  *changed(): IterableIterator<[string, NodeRecord | null]> {
    for (const [path, change] of this.changes) yield [path, change.record];
  }

  /** Folds this view's changes into its parent (a multi that succeeded). */
  commitToParent(): void {
    if (!(this.base instanceof ChangeView)) return;
    for (const [path, change] of this.changes) {
      this.base.changes.set(path, change);
      this.base.order.push({ zxid: change.zxid, path });
    }
  }

  /** Forgets the changes of txns up to `zxid`, which the tree now holds itself. */
  prune(zxid: number): void {
    while (this.orderHead < this.order.length && this.order[this.orderHead]!.zxid <= zxid) {
      const { path, zxid: z } = this.order[this.orderHead++]!;
      // A later txn may have changed the path again: its entry stays until that txn is applied.
      if (this.changes.get(path)?.zxid === z) this.changes.delete(path);
    }
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
  }

  get size(): number {
    return this.changes.size;
  }
}
