import type { records } from '../jute/index.js';
import { CONTAINER_OWNER, ephemeralKind } from './ephemeral-type.js';
import type { NodeStore } from './node-store.js';

/**
 * What a client sees as ephemeralOwner: ZooKeeper shows 0 for container and TTL nodes, whose
 * stored owner is only an encoding of their kind (DataNode.getClientEphemeralOwner).
 */
function clientEphemeralOwner(owner: bigint): bigint {
  return owner === 0n ? 0n : owner === CONTAINER_OWNER || ephemeralKind(owner, true) === 'ttl' ? 0n : owner;
}

/**
 * The Stat a client sees of node `id`. dataLength and numChildren are derived, as in ZooKeeper's
 * StatPersisted; cversion is stored as the number of child creations, and ZooKeeper reports
 * creations plus deletions.
 */
export function statOf(store: NodeStore, id: number): records.Stat {
  const children = store.childCount(id);
  return {
    czxid: store.czxid[id]!,
    mzxid: store.mzxid[id]!,
    ctime: store.ctime[id]!,
    mtime: store.mtime[id]!,
    version: store.version[id]!,
    cversion: store.cversion(id) * 2 - children,
    aversion: store.aversion(id),
    ephemeralOwner: clientEphemeralOwner(store.ephemeralOwner(id)),
    dataLength: store.dataLength(id),
    numChildren: children,
    pzxid: store.pzxid(id),
  };
}

/**
 * A read-only view of one znode of a DataTree (see NodeStore for how znodes are stored). It reads
 * the store when asked, so use it at once: after the tree changes it may describe another znode.
 */
export class ZNode {
  constructor(
    private readonly store: NodeStore,
    readonly id: number,
  ) {}

  /** The value, a copy the caller owns. */
  get data(): Buffer | null {
    return this.store.data(this.id);
  }

  /** The value without a copy, valid only until the tree next changes (for a reply written at once). */
  dataView(): Buffer | null {
    return this.store.dataView(this.id);
  }

  get dataLength(): number {
    return this.store.dataLength(this.id);
  }

  get aclRef(): number {
    return this.store.aclRef[this.id]!;
  }

  get czxid(): number {
    return this.store.czxid[this.id]!;
  }

  get mzxid(): number {
    return this.store.mzxid[this.id]!;
  }

  get ctime(): number {
    return this.store.ctime[this.id]!;
  }

  get mtime(): number {
    return this.store.mtime[this.id]!;
  }

  get version(): number {
    return this.store.version[this.id]!;
  }

  /** The stored cversion: the number of child creations (stat() reports creations plus deletions). */
  get cversion(): number {
    return this.store.cversion(this.id);
  }

  get aversion(): number {
    return this.store.aversion(this.id);
  }

  get ephemeralOwner(): bigint {
    return this.store.ephemeralOwner(this.id);
  }

  get pzxid(): number {
    return this.store.pzxid(this.id);
  }

  get childCount(): number {
    return this.store.childCount(this.id);
  }

  /** The children's names, oldest first. */
  get children(): string[] {
    return this.store.childNames(this.id);
  }

  stat(): records.Stat {
    return statOf(this.store, this.id);
  }
}
