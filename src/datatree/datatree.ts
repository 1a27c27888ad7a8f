import { ErrorCode, EventType, OpCode, Perms, type records } from '../jute/index.js';
import { AclCache } from './acl-cache.js';
import { ephemeralKind, ttlOwner, CONTAINER_OWNER } from './ephemeral-type.js';
import { childNameOf, joinPath, parentOf } from './paths.js';
import { NO_NODE, NodeStore, ROOT, type NodeFields } from './node-store.js';
import type { Txn, TxnBody } from './txn.js';
import { WatchMode, WatchTable, type WatchEvent, type Watcher } from './watches.js';
import { statOf, ZNode } from './znode.js';

type ACL = records.ACL;
type Stat = records.Stat;

export const ZOOKEEPER_PATH = '/zookeeper';
export const QUOTA_PATH = '/zookeeper/quota';
export const CONFIG_PATH = '/zookeeper/config';

const OPEN_ACL_UNSAFE: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const READ_ACL_UNSAFE: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
const EMPTY = Buffer.alloc(0);

/** What applying one txn produced, as ZooKeeper's ProcessTxnResult. */
export interface TxnResult {
  type: number;
  err: number;
  path?: string;
  stat?: Stat;
  multi?: TxnResult[];
}

export interface DataTreeOptions {
  /** zookeeper.extendedTypesEnabled: TTL nodes exist only when it is on. */
  extendedTypesEnabled?: boolean;
}

export const QUOTA_LIMITS_NODE = 'zookeeper_limits';
export const QUOTA_STATS_NODE = 'zookeeper_stats';

/** ZooKeeper's StatsTrack text: "count=N,bytes=M", then "=;key=value" pairs for any other keys. */
function parseStatsTrack(data: Buffer | null): Map<string, number> {
  const stats = new Map<string, number>();
  const text = data?.toString('utf8') ?? '';
  if (text === '') return stats;
  for (const pair of text.split(/[,;]+/)) {
    const [k, v] = pair.split('=');
    if (k) stats.set(k, v ? Number(v) : -1);
  }
  return stats;
}

function formatStatsTrack(stats: Map<string, number>): Buffer {
  let text = `count=${stats.get('count') ?? -1},bytes=${stats.get('bytes') ?? -1}`;
  const rest = [...stats.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
  if (rest.length > 0) text += '=' + rest.map((k) => `;${k}=${stats.get(k)}`).join('');
  return Buffer.from(text, 'utf8');
}

class TreeError extends Error {
  constructor(readonly code: number) {
    super(`error ${code}`);
  }
}

/**
 * The replicated state machine: znodes, ACLs, ephemerals by session, the session table and the
 * watches. apply(txn) is deterministic and does no IO, so the same log replayed gives the same tree.
 * Znodes are rows of a NodeStore; ZNode is a view of one.
 */
export class DataTree {
  readonly store = new NodeStore();
  readonly acls = new AclCache();
  readonly dataWatches = new WatchTable();
  readonly childWatches = new WatchTable();
  private readonly ephemerals = new Map<bigint, Set<string>>();
  private readonly ephemeralTableSize = new Map<bigint, number>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  /** Live sessions and their negotiated timeouts, changed only by createSession/closeSession txns. */
  readonly sessions = new Map<bigint, number>();
  lastProcessedZxid = 0;
  readonly extendedTypesEnabled: boolean;
  /** Paths with a quota (a zookeeper_limits node under /zookeeper/quota): ZooKeeper's pTrie. */
  private readonly quotaPaths = new Set<string>();
  /**
   * The sum of every znode's path length and value length, as ZooKeeper's approximateDataSize (mntr
   * reports it): kept as znodes change, since a walk would stall a big tree on every scrape.
   */
  approximateDataSize = 1; // the root: "/" and no data

  constructor(options: DataTreeOptions = {}) {
    this.extendedTypesEnabled = options.extendedTypesEnabled ?? false;
    this.store.setAcl(ROOT, this.acls.intern(OPEN_ACL_UNSAFE), 0);
    this.addSystemNodes();
  }

  /** /zookeeper, /zookeeper/quota and /zookeeper/config, those of them that are missing. */
  private addSystemNodes(): void {
    this.addSystemNode(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE);
    this.addSystemNode(QUOTA_PATH, OPEN_ACL_UNSAFE);
    const config = this.addSystemNode(CONFIG_PATH, READ_ACL_UNSAFE);
    // ZooKeeper sets this node's ACL with setACL(path, acl, -1), which leaves aversion at -1.
    if (config !== NO_NODE) this.store.setAversion(config, -1);
  }

  /** Adds a special node if it is missing; returns its id, or NO_NODE if it was there. */
  private addSystemNode(path: string, acl: ACL[]): number {
    if (this.store.lookup(path) !== NO_NODE) return NO_NODE;
    const parent = this.store.lookup(parentOf(path)!);
    const fields: NodeFields = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0, aclRef: this.acls.intern(acl) };
    this.approximateDataSize += path.length;
    return this.store.addChildNamed(parent, childNameOf(path), fields, EMPTY);
  }

  /**
   * /zookeeper/config takes the ensemble's config (ZKDatabase.initConfigInZKDatabase): data set with
   * version -1 and mzxid = the config's version, outside any txn (each server does it on its own).
   */
  initConfig(data: Buffer, version: number, time: number): void {
    this.addSystemNodes();
    this.setData(CONFIG_PATH, data, -1, version, time, []);
  }

  /** ZooKeeper's special paths: never deleted or replaced by clients. */
  static isSpecialPath(path: string): boolean {
    return path === '/' || path === ZOOKEEPER_PATH || path === QUOTA_PATH || path === CONFIG_PATH;
  }

  getNode(path: string): ZNode | undefined {
    const id = this.store.lookup(path);
    return id === NO_NODE ? undefined : new ZNode(this.store, id);
  }

  get nodeCount(): number {
    return this.store.size;
  }

  /** Every path, parents before children. */
  *paths(): IterableIterator<string> {
    const stack: { id: number; path: string }[] = [{ id: ROOT, path: '/' }];
    while (stack.length > 0) {
      const { id, path } = stack.pop()!;
      yield path;
      const ids = this.store.childIds(id);
      for (let i = ids.length - 1; i >= 0; i--) stack.push({ id: ids[i]!, path: joinPath(path, this.store.name(ids[i]!)) });
    }
  }

  aclOf(node: ZNode): ACL[] {
    return this.acls.get(node.aclRef);
  }

  /**
   * The table size a Java HashSet holding this session's ephemerals would have (it grows past 3/4
   * full and never shrinks). Only ZooKeeper's iteration order depends on it: see java-order.ts.
   */
  ephemeralTableSizeOf(sessionId: bigint): number {
    return this.ephemeralTableSize.get(sessionId) ?? 16;
  }

  ephemeralsOf(sessionId: bigint): ReadonlySet<string> {
    return this.ephemerals.get(sessionId) ?? new Set();
  }

  ephemeralSessions(): IterableIterator<[bigint, Set<string>]> {
    return this.ephemerals.entries();
  }

  kindOf(node: ZNode) {
    return ephemeralKind(node.ephemeralOwner, this.extendedTypesEnabled);
  }

  // ---- reads, which may leave watches behind (DataTree.getData / statNode / getChildren) ----

  /** The data watch getData leaves: only once the read found the node and passed its ACL check. */
  watchData(path: string, watcher: Watcher): void {
    this.dataWatches.add(path, watcher);
  }

  /** exists: unlike getData, the watch stays even when the node is missing (it fires on creation). */
  exists(path: string, watcher?: Watcher): ZNode | undefined {
    if (watcher) this.dataWatches.add(path, watcher);
    return this.getNode(path);
  }

  /** The child watch getChildren leaves: only once the read found the node and passed its ACL check. */
  watchChildren(path: string, watcher: Watcher): void {
    this.childWatches.add(path, watcher);
  }

  /** Number of descendants, as getAllChildrenNumber counts them (the root's count includes /zookeeper's). */
  countDescendants(path: string): number {
    if (path === '/') return this.store.size - 1;
    const id = this.store.lookup(path);
    if (id === NO_NODE) return 0;
    let n = 0;
    const stack = [id];
    while (stack.length > 0) {
      for (let c = this.store.firstChildOf(stack.pop()!); c !== NO_NODE; c = this.store.nextSibling(c)) {
        n++;
        stack.push(c);
      }
    }
    return n;
  }

  addWatch(path: string, watcher: Watcher, mode: WatchMode): void {
    this.dataWatches.add(path, watcher, mode);
    this.childWatches.add(path, watcher, mode);
  }

  removeWatcher(watcher: Watcher): void {
    this.dataWatches.removeWatcher(watcher);
    this.childWatches.removeWatcher(watcher);
  }

  // ---- the state machine ----

  /** Applies one txn; watch events it fires are appended to `events` in the order ZooKeeper fires them. */
  apply(txn: Txn, events: WatchEvent[] = []): TxnResult {
    const result = this.applyBody(txn, txn.body, events);
    if (txn.zxid > this.lastProcessedZxid) this.lastProcessedZxid = txn.zxid;
    return result;
  }

  private applyBody(txn: Txn, body: TxnBody, events: WatchEvent[]): TxnResult {
    const rc: TxnResult = { type: body.type, err: 0 };
    try {
      switch (body.type) {
        case OpCode.create:
        case OpCode.create2: {
          const t = body.txn;
          const owner = t.ephemeral ? txn.sessionId : 0n;
          rc.path = t.path;
          try {
            rc.stat = this.createNode(t.path, t.data, t.acl, owner, t.parentCVersion, txn.zxid, txn.time, events);
          } catch (e) {
            // Replaying a log over a fuzzy snapshot (ZooKeeper's are): the node may already be there,
            // but the parent must still end up with this txn's cversion and pzxid (DataTree.processTxn).
            if (body.type === OpCode.create && e instanceof TreeError && e.code === ErrorCode.NODEEXISTS) {
              this.raiseCversion(this.store.lookup(parentOf(t.path) ?? '/'), t.parentCVersion, txn.zxid);
            }
            throw e;
          }
          break;
        }
        case OpCode.createContainer: {
          const t = body.txn;
          rc.stat = this.createNode(t.path, t.data, t.acl, CONTAINER_OWNER, t.parentCVersion, txn.zxid, txn.time, events);
          rc.path = t.path;
          break;
        }
        case OpCode.createTTL: {
          const t = body.txn;
          rc.stat = this.createNode(t.path, t.data, t.acl, ttlOwner(t.ttl), t.parentCVersion, txn.zxid, txn.time, events);
          rc.path = t.path;
          break;
        }
        case OpCode.delete:
        case OpCode.deleteContainer:
          rc.path = body.txn.path;
          this.deleteNode(body.txn.path, txn.zxid, events);
          break;
        case OpCode.setData:
        case OpCode.reconfig: {
          const t = body.txn;
          rc.path = t.path;
          rc.stat = this.setData(t.path, t.data, t.version, txn.zxid, txn.time, events);
          break;
        }
        case OpCode.setACL: {
          const t = body.txn;
          rc.path = t.path;
          rc.stat = this.setAcl(t.path, t.acl, t.version);
          break;
        }
        case OpCode.check:
          rc.path = body.txn.path;
          break;
        case OpCode.createSession:
          this.sessions.set(txn.sessionId, body.txn.timeOut);
          break;
        case OpCode.closeSession:
          this.killSession(txn.sessionId, body.txn.paths2Delete, txn.zxid, events);
          break;
        case OpCode.error:
          rc.err = body.txn.err;
          break;
        case OpCode.multi:
          rc.multi = this.applyMulti(txn, body.txns, events);
          rc.err = rc.multi.find((r) => r.err !== 0)?.err ?? 0;
          break;
      }
    } catch (e) {
      if (!(e instanceof TreeError)) throw e;
      rc.err = e.code;
    }
    return rc;
  }

  /**
   * A multi is all or nothing. If any op failed in prep, none is applied: ops before the failed one
   * answer OK, the failed one its error, the rest RUNTIMEINCONSISTENCY (ZooKeeper's DataTree does the
   * same rewrite, so logs written by either server replay alike).
   */
  private applyMulti(txn: Txn, ops: TxnBody[], events: WatchEvent[]): TxnResult[] {
    const failed = ops.some((op) => op.type === OpCode.error);
    if (!failed) return ops.map((op) => this.applyBody(txn, op, events));
    let afterFailure = false;
    return ops.map((op) => {
      if (op.type === OpCode.error) {
        afterFailure = true;
        return { type: OpCode.error, err: op.txn.err };
      }
      return { type: OpCode.error, err: afterFailure ? ErrorCode.RUNTIMEINCONSISTENCY : ErrorCode.OK };
    });
  }

  /** ZooKeeper's setCversionPzxid: raises a parent's cversion (and pzxid) to a create's. */
  private raiseCversion(parent: number, parentCVersion: number, zxid: number): void {
    if (parent === NO_NODE) return;
    const cversion = this.store.cversion(parent);
    if (parentCVersion === -1) parentCVersion = cversion + 1;
    if (parentCVersion > cversion) this.store.setCversionPzxid(parent, parentCVersion, zxid);
  }

  private createNode(
    path: string,
    data: Buffer | null,
    acl: ACL[],
    owner: bigint,
    parentCVersion: number,
    zxid: number,
    time: number,
    events: WatchEvent[],
  ): Stat {
    const existing = this.store.resolve(path);
    const parent = this.store.resolvedParent;
    if (parent === NO_NODE) throw new TreeError(ErrorCode.NONODE);
    if (existing !== NO_NODE) throw new TreeError(ErrorCode.NODEEXISTS);
    const parentPath = parentOf(path)!;
    const name = childNameOf(path);
    this.raiseCversion(parent, parentCVersion, zxid);
    const aclRef = this.acls.intern(acl);
    const fields: NodeFields = { czxid: zxid, mzxid: zxid, ctime: time, mtime: time, version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, pzxid: zxid, aclRef };
    const id = this.store.addResolved(path, fields, data);
    this.approximateDataSize += path.length + (data === null ? 0 : data.length);
    this.indexByOwner(path, owner, true);
    if (parentPath.startsWith(QUOTA_PATH)) {
      const quotaFor = parentPath.substring(QUOTA_PATH.length);
      if (name === QUOTA_LIMITS_NODE) this.quotaPaths.add(quotaFor);
      if (name === QUOTA_STATS_NODE) this.recountQuota(quotaFor);
    }
    this.updateQuotaStats(path, data === null ? 0 : data.length, 1);
    this.dataWatches.trigger(path, EventType.NodeCreated, acl, events);
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, this.acls.get(this.store.aclRef[parent]!), events);
    return statOf(this.store, id);
  }

  /** Files an ephemeral, container or TTL node under its kind, as DataTree.createNode/deserialize do. */
  private indexByOwner(path: string, owner: bigint, countTableSize: boolean): void {
    if (owner === 0n) return;
    switch (ephemeralKind(owner, this.extendedTypesEnabled)) {
      case 'container':
        this.containers.add(path);
        break;
      case 'ttl':
        this.ttls.add(path);
        break;
      case 'normal': {
        let set = this.ephemerals.get(owner);
        if (!set) this.ephemerals.set(owner, (set = new Set()));
        set.add(path);
        if (countTableSize) {
          const capacity = this.ephemeralTableSize.get(owner) ?? 16;
          if (set.size > capacity * 0.75) this.ephemeralTableSize.set(owner, capacity * 2);
        }
        break;
      }
      case 'void':
        break;
    }
  }

  /** Undoes indexByOwner for a deleted node. */
  private unindexByOwner(path: string, owner: bigint): void {
    if (owner === 0n) return;
    switch (ephemeralKind(owner, this.extendedTypesEnabled)) {
      case 'container':
        this.containers.delete(path);
        break;
      case 'ttl':
        this.ttls.delete(path);
        break;
      case 'normal':
        this.ephemerals.get(owner)?.delete(path);
        break;
      case 'void':
        break;
    }
  }

  private deleteNode(path: string, zxid: number, events: WatchEvent[]): void {
    const id = this.store.resolve(path);
    const parent = this.store.resolvedParent;
    if (parent === NO_NODE) throw new TreeError(ErrorCode.NONODE);
    const parentPath = parentOf(path)!;
    // As ZooKeeper: the parent's pzxid moves even when the child is already gone (a delete replayed
    // over a fuzzy snapshot), and only then is the missing child an error.
    if (zxid > this.store.pzxid(parent)) this.store.setCversionPzxid(parent, this.store.cversion(parent), zxid);
    if (id === NO_NODE) throw new TreeError(ErrorCode.NONODE);
    const aclRef = this.store.aclRef[id]!;
    const owner = this.store.ephemeralOwner(id);
    const length = this.store.dataLength(id);
    this.store.remove(id);
    this.approximateDataSize -= path.length + length;
    const acl = this.acls.get(aclRef); // kept for the watch events below
    this.releaseAcl(aclRef);
    this.unindexByOwner(path, owner);
    if (parentPath.startsWith(ZOOKEEPER_PATH) && childNameOf(path) === QUOTA_LIMITS_NODE) {
      this.quotaPaths.delete(parentPath.substring(QUOTA_PATH.length));
    }
    this.updateQuotaStats(path, -length, -1);
    const notified = this.dataWatches.trigger(path, EventType.NodeDeleted, acl, events);
    this.childWatches.trigger(path, EventType.NodeDeleted, acl, events, notified);
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, this.acls.get(this.store.aclRef[parent]!), events);
  }

  private setData(path: string, data: Buffer | null, version: number, zxid: number, time: number, events: WatchEvent[]): Stat {
    const id = this.store.lookup(path);
    if (id === NO_NODE) throw new TreeError(ErrorCode.NONODE);
    this.updateQuotaStats(path, (data === null ? 0 : data.length) - this.store.dataLength(id), 0);
    this.setValue(id, data);
    this.store.setModified(id, zxid, time, version);
    const stat = statOf(this.store, id);
    this.dataWatches.trigger(path, EventType.NodeDataChanged, this.acls.get(this.store.aclRef[id]!), events);
    return stat;
  }

  private setValue(id: number, data: Buffer | null): void {
    this.approximateDataSize += (data === null ? 0 : data.length) - this.store.dataLength(id);
    this.store.setData(id, data);
  }

  private setAcl(path: string, acl: ACL[], aversion: number): Stat {
    const id = this.store.lookup(path);
    if (id === NO_NODE) throw new TreeError(ErrorCode.NONODE);
    this.releaseAcl(this.store.aclRef[id]!);
    this.store.setAcl(id, this.acls.intern(acl), aversion);
    return statOf(this.store, id);
  }

  // ---- consistent snapshots while txns keep being applied ----
  //
  // A snapshot is written in slices while the server goes on. Instead of a fuzzy snapshot that log
  // replay must repair, the store keeps, for the duration of a snapshot, the state each znode had
  // when the snapshot began (NodeStore.beginSnapshot). ACL refs that existed then stay valid until
  // it ends. The snapshot is exactly the tree at its zxid.

  private snapshotting = false;
  private deferredAclReleases: number[] = [];

  /** Starts a consistent view: store.snapshotRow/snapshotChildren answer as of now until endSnapshot(). */
  beginSnapshot(): void {
    this.store.beginSnapshot(this.lastProcessedZxid);
    this.snapshotting = true;
  }

  endSnapshot(): void {
    this.store.endSnapshot();
    this.snapshotting = false;
    const releases = this.deferredAclReleases;
    this.deferredAclReleases = [];
    for (const ref of releases) this.acls.release(ref);
  }

  private releaseAcl(ref: number): void {
    if (this.snapshotting) this.deferredAclReleases.push(ref);
    else this.acls.release(ref);
  }

  // ---- snapshot support (used by src/zab's snapshot reader; apply() does not use any of this) ----

  /**
   * Empties the tree before a restore: nodes, ACL cache, ephemerals, containers, TTLs and sessions.
   * Watches are kept. Follow with restoreRoot, restoreChild for every other node (parents first),
   * then finishRestore.
   */
  beginRestore(): void {
    this.store.reset();
    this.acls.clear();
    this.ephemerals.clear();
    this.containers.clear();
    this.ttls.clear();
    this.sessions.clear();
    this.quotaPaths.clear();
    this.restoredRoot = false;
    this.approximateDataSize = 1;
  }

  private restoredRoot = false;

  /** The root's fields and data, read from a snapshot. Its ACL ref must be in `acls` (AclCache.restore). */
  restoreRoot(fields: NodeFields, data: Uint8Array | null, dataStart = 0, dataLen = data === null ? 0 : data.length): void {
    if (this.restoredRoot) throw new Error('snapshot has node / twice');
    this.restoredRoot = true;
    this.store.restoreRoot(fields, data, dataStart, dataLen);
    this.approximateDataSize += data === null ? 0 : dataLen;
    this.acls.addUsage(fields.aclRef);
  }

  /**
   * Adds a node read from a snapshot: named name[start, end) (UTF-8) under `parent`, its path
   * hashing to `hash` (store.childHash), its path `pathLength` characters long. Counts its ACL ref (which must be in `acls`, see
   * AclCache.restore) and files it as ephemeral, container or TTL node by its ephemeralOwner, as
   * ZooKeeper's DataTree.deserialize does. Returns its id.
   */
  restoreChild(parent: number, name: Uint8Array, start: number, end: number, hash: number, fields: NodeFields, data: Uint8Array | null, dataStart: number, dataLen: number, pathLength: number): number {
    const id = this.store.addChild(parent, name, start, end, hash, fields, data, dataStart, dataLen);
    if (id === NO_NODE) throw new Error(`snapshot has node ${joinPath(this.store.path(parent), Buffer.from(name.subarray(start, end)).toString('utf8'))} twice`);
    this.acls.addUsage(fields.aclRef);
    this.approximateDataSize += pathLength + (data === null ? 0 : dataLen);
    if (fields.ephemeralOwner !== 0n) this.indexByOwner(this.store.path(id), fields.ephemeralOwner, false);
    return id;
  }

  /**
   * Ends a restore: drops ACL lists no node uses, adds the special nodes /zookeeper,
   * /zookeeper/quota and /zookeeper/config if the snapshot had none (snapshots of ZooKeeper before
   * 3.5 have no /zookeeper/config), and sets up quotas as DataTree.setupQuota does: every leaf
   * .../zookeeper_limits under /zookeeper/quota names a quota, whose zookeeper_stats node is
   * recounted from the tree. Throws if there was no root.
   */
  finishRestore(): void {
    if (!this.restoredRoot) throw new Error('snapshot has no root node');
    this.acls.purgeUnused();
    this.addSystemNodes();
    const limitSuffix = '/' + QUOTA_LIMITS_NODE;
    const stack: { id: number; path: string }[] = [{ id: this.store.lookup(QUOTA_PATH), path: QUOTA_PATH }];
    while (stack.length > 0) {
      const { id, path } = stack.pop()!;
      if (this.store.childCount(id) === 0) {
        if (path.endsWith(limitSuffix)) {
          const quotaFor = path.substring(QUOTA_PATH.length, path.indexOf(limitSuffix));
          this.quotaPaths.add(quotaFor);
          this.recountQuota(quotaFor);
        }
        continue;
      }
      for (const c of this.store.childIds(id)) stack.push({ id: c, path: joinPath(path, this.store.name(c)) });
    }
  }

  // ---- quotas: usage kept in /zookeeper/quota/<path>/zookeeper_stats, as ZooKeeper does ----

  /** The deepest path with a quota that contains `path` (ZooKeeper's getMaxPrefixWithQuota), if any. */
  private quotaPrefixOf(path: string): string | undefined {
    if (this.quotaPaths.size === 0) return undefined;
    let found: string | undefined;
    for (let i = path.indexOf('/', 1); ; i = path.indexOf('/', i + 1)) {
      const prefix = i === -1 ? path : path.substring(0, i);
      if (this.quotaPaths.has(prefix)) found = prefix;
      if (i === -1) return found;
    }
  }

  /** Adds to the usage recorded for the quota over `path`; not a txn of its own, no watch fires. */
  private updateQuotaStats(path: string, bytesDiff: number, countDiff: number): void {
    const prefix = this.quotaPrefixOf(path);
    if (prefix === undefined) return;
    const statNode = this.store.lookup(QUOTA_PATH + prefix + '/' + QUOTA_STATS_NODE);
    if (statNode === NO_NODE) return;
    const stats = parseStatsTrack(this.store.dataView(statNode));
    stats.set('count', (stats.get('count') ?? -1) + countDiff);
    stats.set('bytes', (stats.get('bytes') ?? -1) + bytesDiff);
    this.setValue(statNode, formatStatsTrack(stats));
  }

  /** Sets a quota's recorded usage to the subtree's current count and bytes. */
  private recountQuota(path: string): void {
    const statNode = this.store.lookup(QUOTA_PATH + path + '/' + QUOTA_STATS_NODE);
    if (statNode === NO_NODE) return;
    let count = 0;
    let bytes = 0;
    const top = this.store.lookup(path);
    const stack = top === NO_NODE ? [] : [top];
    while (stack.length > 0) {
      const id = stack.pop()!;
      count++;
      bytes += this.store.dataLength(id);
      for (let c = this.store.firstChildOf(id); c !== NO_NODE; c = this.store.nextSibling(c)) stack.push(c);
    }
    this.setValue(statNode, formatStatsTrack(new Map([['count', count], ['bytes', bytes]])));
  }

  private killSession(sessionId: bigint, paths2Delete: string[], zxid: number, events: WatchEvent[]): void {
    this.sessions.delete(sessionId);
    const own = this.ephemerals.get(sessionId);
    this.ephemerals.delete(sessionId);
    this.ephemeralTableSize.delete(sessionId);
    // A CloseSessionTxn names the paths it deletes; any ephemeral of the session it missed goes too.
    const listed = new Set(paths2Delete);
    const paths = [...paths2Delete];
    for (const p of own ?? []) if (!listed.has(p)) paths.push(p);
    for (const p of paths) {
      try {
        this.deleteNode(p, zxid, events);
      } catch (e) {
        if (!(e instanceof TreeError)) throw e;
      }
    }
  }
}
