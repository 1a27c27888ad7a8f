/**
 * Shared helpers of the zab tests: a seeded generator of valid txn sequences (every txn type), and
 * a canonical dump of a DataTree for comparing trees.
 */
import { expect } from 'vitest';
import { DataTree, ephemeralKind, type Txn, type TxnBody } from '../../src/datatree/index.js';
import { ErrorCode, OpCode, Perms, type records } from '../../src/jute/index.js';

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const OPEN_ACL: records.ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const ACLS: records.ACL[][] = [
  OPEN_ACL,
  [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }],
  [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'alice:Ux1WHzRW4ls0xh6bRJWwV/Fx2Ds=' } }],
  [
    { perms: Perms.READ | Perms.WRITE, id: { scheme: 'digest', id: 'bob:0jXzFdUR1x64mU0u9JhF4+7vBn0=' } },
    { perms: Perms.READ, id: { scheme: 'ip', id: '10.0.0.0/8' } },
  ],
];

export interface GenOptions {
  /** Generate createTTL txns (the tree must have extendedTypesEnabled). */
  ttl?: boolean;
  /** Generate top-level check txns (ZooKeeper 3.8 cannot read them back). */
  topLevelCheck?: boolean;
  /** Generate ACL lists outside ACLS, including the empty list. */
  oddAcls?: boolean;
  /** Wall-clock base of txn times. */
  time0?: number;
  /** First zxid (then consecutive). */
  zxid0?: number;
  /** Every session's timeout (default: random, 4 to 34 s). */
  sessionTimeout?: number;
  /** TTLs are drawn from [ttlMin, ttlMin + 100 s). Default 1 ms. */
  ttlMin?: number;
}

/**
 * A generator of valid txns: it keeps its own DataTree, applies each txn it returns to it, and picks
 * the next from the tree's state, so that most succeed (some are error txns or failing multis).
 */
export class TxnGen {
  tree: DataTree;
  private zxid: number;
  private time: number;
  private readonly live: bigint[] = [];
  private nextSession = 1n;
  private paths: string[] = [];

  constructor(readonly rand: () => number, readonly opts: GenOptions = {}) {
    this.tree = new DataTree({ extendedTypesEnabled: !!opts.ttl });
    this.zxid = opts.zxid0 ?? 1;
    this.time = opts.time0 ?? 1_700_000_000_000;
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  private data(): Buffer | null {
    const r = this.rand();
    if (r < 0.1) return null;
    if (r < 0.2) return Buffer.alloc(0);
    const b = Buffer.alloc(this.int(r < 0.95 ? 40 : 3000));
    for (let i = 0; i < b.length; i++) b[i] = this.int(256);
    return b;
  }
  private acl(): records.ACL[] {
    if (this.opts.oddAcls && this.rand() < 0.1) {
      if (this.rand() < 0.3) return [];
      return [{ perms: 1 + this.int(31), id: { scheme: 'digest', id: `u${this.int(5)}:x` } }];
    }
    return this.pick(ACLS);
  }
  /** An existing path, refreshed lazily. */
  private existing(): string {
    if (this.paths.length === 0 || this.rand() < 0.05) this.paths = [...this.tree.paths()];
    for (;;) {
      const p = this.pick(this.paths);
      if (this.tree.getNode(p)) return p;
      this.paths = [...this.tree.paths()];
    }
  }
  private parentForCreate(): string {
    for (let i = 0; i < 10; i++) {
      const p = this.existing();
      const node = this.tree.getNode(p)!;
      if (p.startsWith('/zookeeper')) continue;
      if (node.ephemeralOwner !== 0n && ephemeralKind(node.ephemeralOwner, this.tree.extendedTypesEnabled) === 'normal') continue;
      return p;
    }
    return '/';
  }
  private childPath(parent: string): string {
    const name = this.rand() < 0.2 ? `seq-${String(this.tree.getNode(parent)!.cversion).padStart(10, '0')}` : `n${this.int(1000)}`;
    return parent === '/' ? `/${name}` : `${parent}/${name}`;
  }
  private deletable(): string | undefined {
    for (let i = 0; i < 10; i++) {
      const p = this.existing();
      if (DataTree.isSpecialPath(p)) continue;
      if (this.tree.getNode(p)!.childCount === 0) return p;
    }
    return undefined;
  }
  private session(): bigint {
    if (this.live.length === 0 || this.rand() < 0.02) return this.openSessionId();
    return this.pick(this.live);
  }
  private openSessionId(): bigint {
    return 0x0100_0000_0000_0000n + this.nextSession;
  }

  /** The body of a create of some kind under an existing parent (it may fail: NODEEXISTS). */
  private createBody(inMulti: boolean): TxnBody {
    const parent = this.parentForCreate();
    const path = this.childPath(parent);
    const parentCVersion = this.tree.getNode(parent)!.cversion + 1;
    const r = this.rand();
    if (r < 0.15 && !inMulti) return { type: OpCode.create2, txn: { path, data: this.data(), acl: this.acl(), ephemeral: this.rand() < 0.5, parentCVersion } };
    if (r < 0.25) return { type: OpCode.createContainer, txn: { path, data: this.data(), acl: this.acl(), parentCVersion } };
    if (r < 0.35 && this.opts.ttl) return { type: OpCode.createTTL, txn: { path, data: this.data(), acl: this.acl(), parentCVersion, ttl: (this.opts.ttlMin ?? 1) + this.int(100_000) } };
    return { type: OpCode.create, txn: { path, data: this.data(), acl: this.acl(), ephemeral: this.rand() < 0.3, parentCVersion } };
  }

  private body(sessionId: bigint): TxnBody {
    const r = this.rand();
    if (!this.live.includes(sessionId)) return { type: OpCode.createSession, txn: { timeOut: this.opts.sessionTimeout ?? 4000 + this.int(30000) } };
    if (r < 0.4) return this.createBody(false);
    if (r < 0.55) {
      const p = this.existing();
      return { type: OpCode.setData, txn: { path: p, data: this.data(), version: this.tree.getNode(p)!.version + 1 } };
    }
    if (r < 0.65) {
      const p = this.deletable();
      if (p) return { type: this.rand() < 0.2 ? OpCode.deleteContainer : OpCode.delete, txn: { path: p } };
      return { type: OpCode.error, txn: { err: ErrorCode.NOTEMPTY } };
    }
    if (r < 0.72) {
      const p = this.existing();
      return { type: OpCode.setACL, txn: { path: p, acl: this.acl(), version: this.tree.getNode(p)!.aversion + 1 } };
    }
    if (r < 0.8) return this.multiBody();
    if (r < 0.84) return { type: OpCode.error, txn: { err: this.pick([ErrorCode.NONODE, ErrorCode.NODEEXISTS, ErrorCode.BADVERSION, ErrorCode.NOAUTH]) } };
    if (r < 0.86 && this.opts.topLevelCheck) return { type: OpCode.check, txn: { path: this.existing(), version: 0 } };
    if (r < 0.9) {
      const own = [...this.tree.ephemeralsOf(sessionId)];
      // Sometimes list them all, sometimes a part (apply deletes the rest too), sometimes none.
      const listed = this.rand() < 0.6 ? own : own.slice(0, this.int(own.length + 1));
      return { type: OpCode.closeSession, txn: { paths2Delete: listed } };
    }
    return this.createBody(false);
  }

  private multiBody(): TxnBody {
    const n = 1 + this.int(5);
    const txns: TxnBody[] = [];
    const fail = this.rand() < 0.25;
    const failAt = this.int(n);
    for (let i = 0; i < n; i++) {
      if (fail && i === failAt) {
        txns.push({ type: OpCode.error, txn: { err: ErrorCode.BADVERSION } });
        continue;
      }
      if (fail && i > failAt) {
        txns.push({ type: OpCode.error, txn: { err: ErrorCode.RUNTIMEINCONSISTENCY } });
        continue;
      }
      if (fail) {
        // Before the failure, ZooKeeper logs error(OK) for each op.
        txns.push({ type: OpCode.error, txn: { err: ErrorCode.OK } });
        continue;
      }
      const r = this.rand();
      const p = this.existing();
      if (r < 0.5) txns.push(this.createBody(true));
      else if (r < 0.75) txns.push({ type: OpCode.setData, txn: { path: p, data: this.data(), version: this.tree.getNode(p)!.version + 1 } });
      else txns.push({ type: OpCode.check, txn: { path: p, version: this.tree.getNode(p)!.version } });
    }
    return { type: OpCode.multi, txns };
  }

  /** The next txn, already applied to this.tree. */
  next(): Txn {
    const sessionId = this.session();
    const body = this.body(sessionId);
    const txn: Txn = { sessionId, cxid: this.int(1 << 30), zxid: this.zxid++, time: (this.time += this.int(1000)), body };
    if (body.type === OpCode.createSession) {
      this.live.push(sessionId);
      this.nextSession++;
    } else if (body.type === OpCode.closeSession) {
      this.live.splice(this.live.indexOf(sessionId), 1);
    }
    this.tree.apply(txn);
    return txn;
  }

  /**
   * Prepares what follows against the state these txns build (a new leader's log), as a leader's
   * prep works against its own state: txns generated for a log that lost some of them (a deposed
   * leader's proposals) would be ones no prep makes, such as deleting a node that has children.
   */
  restartFrom(txns: Iterable<Txn>): void {
    this.tree = new DataTree({ extendedTypesEnabled: !!this.opts.ttl });
    for (const t of txns) this.tree.apply(t);
    this.live.splice(0, this.live.length, ...this.tree.sessions.keys());
    this.paths = [];
  }

  take(n: number): Txn[] {
    const out: Txn[] = [];
    for (let i = 0; i < n; i++) out.push(this.next());
    return out;
  }
}

/** A canonical, comparable view of everything a snapshot must preserve. */
export function dumpTree(tree: DataTree) {
  const nodes: Record<string, unknown> = {};
  const uses = new Map<number, number>();
  for (const path of [...tree.paths()].sort()) {
    const n = tree.getNode(path)!;
    uses.set(n.aclRef, (uses.get(n.aclRef) ?? 0) + 1);
    nodes[path] = {
      data: n.data === null ? null : n.data.toString('hex'),
      acl: tree.aclOf(n),
      czxid: n.czxid,
      mzxid: n.mzxid,
      ctime: n.ctime,
      mtime: n.mtime,
      version: n.version,
      cversion: n.cversion,
      aversion: n.aversion,
      ephemeralOwner: n.ephemeralOwner,
      pzxid: n.pzxid,
      numChildren: n.childCount,
      children: [...n.children].sort(),
    };
  }
  // mntr's approximate data size is kept as the tree changes: it is the sum over the whole tree.
  let size = 0;
  for (const path of tree.paths()) size += path.length + tree.getNode(path)!.dataLength;
  expect(tree.approximateDataSize, 'approximateDataSize').toBe(size);
  // The ACL cache holds exactly the lists in use, with the right counts.
  for (const [ref] of tree.acls.entries()) expect(tree.acls.usesOf(ref), `uses of ACL ref ${ref}`).toBe(uses.get(ref) ?? 0);
  const ephemerals: Record<string, string[]> = {};
  for (const [owner, paths] of tree.ephemeralSessions()) if (paths.size > 0) ephemerals[owner.toString(16)] = [...paths].sort();
  return {
    nodes,
    ephemerals,
    containers: [...tree.containers].sort(),
    ttls: [...tree.ttls].sort(),
    sessions: [...tree.sessions].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
  };
}

/** The Stat a client sees for a node (DataNode.copyStat): cversion counts deletes too; container and TTL owners read 0. */
export function clientStat(tree: DataTree, path: string): records.Stat {
  const n = tree.getNode(path)!;
  const kind = ephemeralKind(n.ephemeralOwner, tree.extendedTypesEnabled);
  return {
    czxid: n.czxid,
    mzxid: n.mzxid,
    ctime: n.ctime,
    mtime: n.mtime,
    version: n.version,
    cversion: n.cversion * 2 - n.childCount,
    aversion: n.aversion,
    ephemeralOwner: kind === 'normal' ? n.ephemeralOwner : 0n,
    dataLength: n.data === null ? 0 : n.data.length,
    numChildren: n.childCount,
    pzxid: n.pzxid,
  };
}

/** Normalizes a txn as it reads back from disk: a create2 inside a multi is stored as create. */
export function asStored(txn: Txn): Txn {
  const fix = (b: TxnBody): TxnBody => (b.type === OpCode.multi ? { type: OpCode.multi, txns: b.txns.map((s) => (s.type === OpCode.create2 ? { ...s, type: OpCode.create } : s)) } : b);
  return { ...txn, body: fix(txn.body) };
}
