import type { records } from '../jute/index.js';

/**
 * One znode: its data, a reference into the ACL cache, the persisted part of its Stat, and the
 * names of its children. dataLength and numChildren are derived, as in ZooKeeper's StatPersisted.
 * `cversion` is the stored value (child creations), which also numbers sequential children.
 */
export class ZNode {
  children: Set<string> = new Set();

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
      ephemeralOwner: this.ephemeralOwner,
      dataLength: this.data === null ? 0 : this.data.length,
      numChildren: this.children.size,
      pzxid: this.pzxid,
    };
  }
}
