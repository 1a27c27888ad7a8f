import { ErrorCode, EventType, OpCode, Perms, type records } from '../jute/index.js';
import { AclCache } from './acl-cache.js';
import { ephemeralKind, ttlOwner, CONTAINER_OWNER } from './ephemeral-type.js';
import { childNameOf, joinPath, parentOf } from './paths.js';
import type { Txn, TxnBody } from './txn.js';
import { WatchMode, WatchTable, type WatchEvent, type Watcher } from './watches.js';
import { ZNode } from './znode.js';

type ACL = records.ACL;
type Stat = records.Stat;

export const ZOOKEEPER_PATH = '/zookeeper';
export const QUOTA_PATH = '/zookeeper/quota';
export const CONFIG_PATH = '/zookeeper/config';

const OPEN_ACL_UNSAFE: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const READ_ACL_UNSAFE: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];

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
 */
export class DataTree {
  private readonly nodes = new Map<string, ZNode>();
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

  constructor(options: DataTreeOptions = {}) {
    this.extendedTypesEnabled = options.extendedTypesEnabled ?? false;
    const root = new ZNode(Buffer.alloc(0), AclCache.OPEN, 0, 0, 0, 0, 0, 0, 0, 0n, 0);
    root.aclRef = this.acls.intern(OPEN_ACL_UNSAFE);
    this.nodes.set('/', root);
    this.addSystemNode(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE);
    this.addSystemNode(QUOTA_PATH, OPEN_ACL_UNSAFE);
    this.addSystemNode(CONFIG_PATH, READ_ACL_UNSAFE);
    // ZooKeeper sets this node's ACL with setACL(path, acl, -1), which leaves aversion at -1.
    this.nodes.get(CONFIG_PATH)!.aversion = -1;
  }

  private addSystemNode(path: string, acl: ACL[]): void {
    const node = new ZNode(Buffer.alloc(0), this.acls.intern(acl), 0, 0, 0, 0, 0, 0, 0, 0n, 0);
    this.nodes.get(parentOf(path)!)!.addChild(childNameOf(path));
    this.nodes.set(path, node);
  }

  /** ZooKeeper's special paths: never deleted or replaced by clients. */
  static isSpecialPath(path: string): boolean {
    return path === '/' || path === ZOOKEEPER_PATH || path === QUOTA_PATH || path === CONFIG_PATH;
  }

  getNode(path: string): ZNode | undefined {
    return this.nodes.get(path);
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  paths(): IterableIterator<string> {
    return this.nodes.keys();
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

  /** getData: the node, leaving a data watch when asked. undefined when it does not exist (no watch then). */
  getData(path: string, watcher?: Watcher): ZNode | undefined {
    const node = this.nodes.get(path);
    if (node && watcher) this.dataWatches.add(path, watcher);
    return node;
  }

  /** exists: unlike getData, the watch stays even when the node is missing (it fires on creation). */
  exists(path: string, watcher?: Watcher): ZNode | undefined {
    if (watcher) this.dataWatches.add(path, watcher);
    return this.nodes.get(path);
  }

  getChildren(path: string, watcher?: Watcher): ZNode | undefined {
    const node = this.nodes.get(path);
    if (node && watcher) this.childWatches.add(path, watcher);
    return node;
  }

  /** Number of descendants, as getAllChildrenNumber counts them (the root's count includes /zookeeper's). */
  countDescendants(path: string): number {
    if (path === '/') return this.nodes.size - 1;
    let n = 0;
    const node = this.nodes.get(path);
    if (!node) return 0;
    const stack: string[] = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      for (const c of this.nodes.get(p)!.children) {
        n++;
        stack.push(joinPath(p, c));
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
              this.raiseCversion(t.path, t.parentCVersion, txn.zxid);
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
        case OpCode.setData: {
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

  /** ZooKeeper's setCversionPzxid: raises a parent's cversion (and pzxid) to a replayed create's. */
  private raiseCversion(childPath: string, parentCVersion: number, zxid: number): void {
    const parentPath = parentOf(childPath);
    const parent = parentPath === undefined ? undefined : this.nodes.get(parentPath);
    if (!parent || parentPath === undefined) return;
    this.preserve(parentPath, parent);
    if (parentCVersion === -1) parentCVersion = parent.cversion + 1;
    if (parentCVersion > parent.cversion) {
      parent.cversion = parentCVersion;
      parent.pzxid = zxid;
    }
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
    const parentPath = parentOf(path);
    const parent = parentPath === undefined ? undefined : this.nodes.get(parentPath);
    if (!parent || parentPath === undefined) throw new TreeError(ErrorCode.NONODE);
    const name = childNameOf(path);
    if (parent.children.has(name)) throw new TreeError(ErrorCode.NODEEXISTS);
    this.preserve(parentPath, parent);
    if (parentCVersion === -1) parentCVersion = parent.cversion + 1;
    if (parentCVersion > parent.cversion) {
      parent.cversion = parentCVersion;
      parent.pzxid = zxid;
    }
    const node = new ZNode(data, this.acls.intern(acl), zxid, zxid, time, time, 0, 0, 0, owner, zxid);
    parent.addChild(name);
    this.nodes.set(path, node);
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
        const capacity = this.ephemeralTableSize.get(owner) ?? 16;
        if (set.size > capacity * 0.75) this.ephemeralTableSize.set(owner, capacity * 2);
        break;
      }
      case 'void':
        break;
    }
    if (parentPath.startsWith(QUOTA_PATH)) {
      const quotaFor = parentPath.substring(QUOTA_PATH.length);
      if (name === QUOTA_LIMITS_NODE) this.quotaPaths.add(quotaFor);
      if (name === QUOTA_STATS_NODE) this.recountQuota(quotaFor);
    }
    this.updateQuotaStats(path, data === null ? 0 : data.length, 1);
    this.dataWatches.trigger(path, EventType.NodeCreated, acl, events);
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, this.aclOf(parent), events);
    return node.stat();
  }

  private deleteNode(path: string, zxid: number, events: WatchEvent[]): void {
    const parentPath = parentOf(path);
    const parent = parentPath === undefined ? undefined : this.nodes.get(parentPath);
    if (!parent || parentPath === undefined) throw new TreeError(ErrorCode.NONODE);
    this.preserve(parentPath, parent);
    parent.removeChild(childNameOf(path));
    // As ZooKeeper: the parent's pzxid moves even when the child is already gone (a delete replayed
    // over a fuzzy snapshot), and only then is the missing child an error.
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    const node = this.nodes.get(path);
    if (!node) throw new TreeError(ErrorCode.NONODE);
    this.preserve(path, node);
    this.nodes.delete(path);
    const acl = this.acls.get(node.aclRef); // kept for the watch events below
    this.releaseAcl(node.aclRef);
    switch (ephemeralKind(node.ephemeralOwner, this.extendedTypesEnabled)) {
      case 'container':
        this.containers.delete(path);
        break;
      case 'ttl':
        this.ttls.delete(path);
        break;
      case 'normal':
        this.ephemerals.get(node.ephemeralOwner)?.delete(path);
        break;
      case 'void':
        break;
    }
    if (parentPath.startsWith(ZOOKEEPER_PATH) && childNameOf(path) === QUOTA_LIMITS_NODE) {
      this.quotaPaths.delete(parentPath.substring(QUOTA_PATH.length));
    }
    this.updateQuotaStats(path, -(node.data === null ? 0 : node.data.length), -1);
    const notified = this.dataWatches.trigger(path, EventType.NodeDeleted, acl, events);
    this.childWatches.trigger(path, EventType.NodeDeleted, acl, events, notified);
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, this.aclOf(parent), events);
  }

  private setData(path: string, data: Buffer | null, version: number, zxid: number, time: number, events: WatchEvent[]): Stat {
    const node = this.nodes.get(path);
    if (!node) throw new TreeError(ErrorCode.NONODE);
    this.preserve(path, node);
    this.updateQuotaStats(path, (data === null ? 0 : data.length) - (node.data === null ? 0 : node.data.length), 0);
    node.data = data;
    node.mtime = time;
    node.mzxid = zxid;
    node.version = version;
    const stat = node.stat();
    this.dataWatches.trigger(path, EventType.NodeDataChanged, this.aclOf(node), events);
    return stat;
  }

  private setAcl(path: string, acl: ACL[], aversion: number): Stat {
    const node = this.nodes.get(path);
    if (!node) throw new TreeError(ErrorCode.NONODE);
    this.preserve(path, node);
    this.releaseAcl(node.aclRef);
    node.aversion = aversion;
    node.aclRef = this.acls.intern(acl);
    return node.stat();
  }

  // ---- consistent snapshots while txns keep being applied ----
  //
  // A snapshot is written in slices while the server goes on. Instead of a fuzzy snapshot that log
  // replay must repair, the tree keeps, for the duration of a snapshot, the state each znode had
  // when the snapshot began, taken the first time a txn touches it (copy on write). ACL refs that
  // existed then stay valid until it ends. The snapshot is exactly the tree at its zxid.

  private frozen: Map<string, ZNode> | undefined;
  private deferredAclReleases: number[] = [];

  /** Starts a consistent view: snapshotNode() answers as of now until endSnapshot(). */
  beginSnapshot(): void {
    if (this.frozen) throw new Error('a snapshot is already being taken');
    this.frozen = new Map();
    this.frozenZxid = this.lastProcessedZxid;
  }

  endSnapshot(): void {
    this.frozen = undefined;
    const releases = this.deferredAclReleases;
    this.deferredAclReleases = [];
    for (const ref of releases) this.acls.release(ref);
  }

  /** The node at `path` as it was when beginSnapshot() was called (undefined if it did not exist then). */
  snapshotNode(path: string): ZNode | undefined {
    const kept = this.frozen?.get(path);
    if (kept) return kept;
    const node = this.nodes.get(path);
    // A node created since the snapshot began is not reachable through the kept parents; this
    // guards a direct lookup.
    return node && this.frozen && node.czxid > this.frozenZxid ? undefined : node;
  }

  private frozenZxid = 0;

  private preserve(path: string, node: ZNode): void {
    if (!this.frozen || this.frozen.has(path) || node.czxid > this.frozenZxid) return;
    this.frozen.set(path, node.clone());
  }

  private releaseAcl(ref: number): void {
    if (this.frozen) this.deferredAclReleases.push(ref);
    else this.acls.release(ref);
  }

  // ---- snapshot support (used by src/zab's snapshot reader; apply() does not use any of this) ----

  /**
   * Empties the tree before a restore: nodes, ACL cache, ephemerals, containers, TTLs and sessions.
   * Watches are kept. Follow with restoreNode for every node, parents first, then finishRestore.
   */
  beginRestore(): void {
    this.nodes.clear();
    this.acls.clear();
    this.ephemerals.clear();
    this.containers.clear();
    this.ttls.clear();
    this.sessions.clear();
    this.quotaPaths.clear();
  }

  /**
   * Adds a node read from a snapshot under `path` ("/" for the root): links it into its parent's
   * children (the parent must be there already), counts its ACL ref (which must be in `acls`, see
   * AclCache.restore) and indexes it as ephemeral, container or TTL node by its ephemeralOwner, as
   * ZooKeeper's DataTree.deserialize does. `node.children` must be empty.
   */
  restoreNode(path: string, node: ZNode): void {
    if (this.nodes.has(path)) throw new Error(`snapshot has node ${path} twice`);
    const parentPath = parentOf(path);
    if (parentPath !== undefined) {
      const parent = this.nodes.get(parentPath);
      if (!parent) throw new Error(`snapshot has node ${path} before (or without) its parent ${parentPath}`);
      parent.addChild(childNameOf(path));
    }
    this.acls.addUsage(node.aclRef);
    this.nodes.set(path, node);
    if (parentPath === undefined) return;
    switch (ephemeralKind(node.ephemeralOwner, this.extendedTypesEnabled)) {
      case 'container':
        this.containers.add(path);
        break;
      case 'ttl':
        this.ttls.add(path);
        break;
      case 'normal': {
        let set = this.ephemerals.get(node.ephemeralOwner);
        if (!set) this.ephemerals.set(node.ephemeralOwner, (set = new Set()));
        set.add(path);
        break;
      }
      case 'void':
        break;
    }
  }

  /**
   * Ends a restore: drops ACL lists no node uses, adds the special nodes /zookeeper,
   * /zookeeper/quota and /zookeeper/config if the snapshot had none (snapshots of ZooKeeper before
   * 3.5 have no /zookeeper/config), and sets up quotas as DataTree.setupQuota does: every leaf
   * .../zookeeper_limits under /zookeeper/quota names a quota, whose zookeeper_stats node is
   * recounted from the tree. Throws if there was no root.
   */
  finishRestore(): void {
    if (!this.nodes.has('/')) throw new Error('snapshot has no root node');
    this.acls.purgeUnused();
    if (!this.nodes.has(ZOOKEEPER_PATH)) this.addSystemNode(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE);
    if (!this.nodes.has(QUOTA_PATH)) this.addSystemNode(QUOTA_PATH, OPEN_ACL_UNSAFE);
    if (!this.nodes.has(CONFIG_PATH)) {
      this.addSystemNode(CONFIG_PATH, READ_ACL_UNSAFE);
      this.nodes.get(CONFIG_PATH)!.aversion = -1;
    }
    const limitSuffix = '/' + QUOTA_LIMITS_NODE;
    const stack = [QUOTA_PATH];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const node = this.nodes.get(p)!;
      if (node.children.size === 0) {
        if (p.endsWith(limitSuffix)) {
          const quotaFor = p.substring(QUOTA_PATH.length, p.indexOf(limitSuffix));
          this.quotaPaths.add(quotaFor);
          this.recountQuota(quotaFor);
        }
        continue;
      }
      for (const c of node.children) stack.push(joinPath(p, c));
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
    const statPath = QUOTA_PATH + prefix + '/' + QUOTA_STATS_NODE;
    const statNode = this.nodes.get(statPath);
    if (!statNode) return;
    this.preserve(statPath, statNode);
    const stats = parseStatsTrack(statNode.data);
    stats.set('count', (stats.get('count') ?? -1) + countDiff);
    stats.set('bytes', (stats.get('bytes') ?? -1) + bytesDiff);
    statNode.data = formatStatsTrack(stats);
  }

  /** Sets a quota's recorded usage to the subtree's current count and bytes. */
  private recountQuota(path: string): void {
    const statPath = QUOTA_PATH + path + '/' + QUOTA_STATS_NODE;
    const statNode = this.nodes.get(statPath);
    if (!statNode) return;
    this.preserve(statPath, statNode);
    let count = 0;
    let bytes = 0;
    const stack = this.nodes.has(path) ? [path] : [];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.nodes.get(p)!;
      count++;
      bytes += n.data === null ? 0 : n.data.length;
      for (const c of n.children) stack.push(joinPath(p, c));
    }
    statNode.data = formatStatsTrack(new Map([['count', count], ['bytes', bytes]]));
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
