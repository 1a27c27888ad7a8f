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
  private readonly changes = new Map<string, NodeRecord | null>();

  /** `base` is the committed tree, or the view this one layers on (a multi's ops over the pending changes). */
  constructor(private readonly base: DataTree | ChangeView) {}

  get(path: string): NodeRecord | undefined {
    const changed = this.changes.get(path);
    if (changed !== undefined) return changed ?? undefined;
    if (this.base instanceof ChangeView) return this.base.get(path);
    const node = this.base.getNode(path);
    if (!node) return undefined;
    return {
      version: node.version,
      cversion: node.cversion,
      aversion: node.aversion,
      ephemeralOwner: node.ephemeralOwner,
      childCount: node.children.size,
      acl: this.base.aclOf(node),
    };
  }

  set(path: string, record: NodeRecord | null): void {
    this.changes.set(path, record);
  }

  /** Folds this view's changes into its parent (a multi that succeeded). */
  commitToParent(): void {
    if (!(this.base instanceof ChangeView)) return;
    for (const [path, record] of this.changes) this.base.set(path, record);
  }
}
