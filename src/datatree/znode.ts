import type { records } from '../jute/index.js';
import { CONTAINER_OWNER, ephemeralKind } from './ephemeral-type.js';

/**
 * What a client sees as ephemeralOwner: ZooKeeper shows 0 for container and TTL nodes, whose
 * stored owner is only an encoding of their kind (DataNode.getClientEphemeralOwner).
 */
function clientEphemeralOwner(owner: bigint): bigint {
  return owner === CONTAINER_OWNER || ephemeralKind(owner, true) === 'ttl' ? 0n : owner;
}

/**
 * One znode: its data, a reference into the ACL cache, the persisted part of its Stat, and the
 * names of its children. dataLength and numChildren are derived, as in ZooKeeper's StatPersisted.
 * `cversion` is the stored value (child creations), which also numbers sequential children.
 */
const NO_CHILDREN: ReadonlySet<string> = new Set();

export class ZNode {
  /** Most znodes are leaves: they get no Set of their own (a Set costs over 100 bytes). */
  private kids: Set<string> | null = null;

  get children(): ReadonlySet<string> {
    return this.kids ?? NO_CHILDREN;
  }

  addChild(name: string): void {
    (this.kids ??= new Set()).add(name);
  }

  removeChild(name: string): void {
    if (!this.kids) return;
    this.kids.delete(name);
    if (this.kids.size === 0) this.kids = null;
  }

  /** A copy of this node's fields and children, for snapshot pre-images. */
  clone(): ZNode {
    const copy = new ZNode(this.data, this.aclRef, this.czxid, this.mzxid, this.ctime, this.mtime, this.version, this.cversion, this.aversion, this.ephemeralOwner, this.pzxid);
    if (this.kids) copy.kids = new Set(this.kids);
    return copy;
  }

  constructor(
    public data: Buffer | null,
    public aclRef: number,
    public czxid: number,
    public mzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
    public ephemeralOwner: bigint,
    public pzxid: number,
  ) {}

  stat(): records.Stat {
    return {
      czxid: this.czxid,
      mzxid: this.mzxid,
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      // ZooKeeper stores the number of child creations and reports creations plus deletions.
      cversion: this.cversion * 2 - this.children.size,
      aversion: this.aversion,
      ephemeralOwner: clientEphemeralOwner(this.ephemeralOwner),
      dataLength: this.data === null ? 0 : this.data.length,
      numChildren: this.children.size,
      pzxid: this.pzxid,
    };
  }
}
