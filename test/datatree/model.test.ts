/**
 * Model-based test of the write path's state machine: random sequences of creates (every mode but
 * TTL), deletes and setData with right and wrong versions, and session closes, run through prep and
 * DataTree.apply, and through a tiny reference model written from ZooKeeper's documented rules. The
 * error code of every op and the whole tree after every op must agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataTree, type TxnBody } from '../../src/datatree/index.js';
import { ErrorCode, KeeperError, OpCode } from '../../src/jute/index.js';
import { ChangeView } from '../../src/server/change-view.js';
import { prepCreate, prepDelete, prepSetData, type PrepContext } from '../../src/server/prep.js';

interface MNode {
  data: string;
  version: number;
  cversion: number;
  owner: bigint;
  children: Set<string>;
}

type Op =
  | { kind: 'create'; parent: number; name: string; mode: number; session: number; data: string }
  | { kind: 'delete'; target: number; version: number }
  | { kind: 'set'; target: number; version: number; data: string }
  | { kind: 'close'; session: number };

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const SESSIONS = [0x100n, 0x200n, 0x300n];

class Model {
  nodes = new Map<string, MNode>([['/', { data: '', version: 0, cversion: 0, owner: 0n, children: new Set(['zookeeper']) }]]);
  constructor() {
    this.nodes.set('/zookeeper', { data: '', version: 0, cversion: 0, owner: 0n, children: new Set(['quota', 'config']) });
    this.nodes.set('/zookeeper/quota', { data: '', version: 0, cversion: 0, owner: 0n, children: new Set() });
    this.nodes.set('/zookeeper/config', { data: '', version: 0, cversion: 0, owner: 0n, children: new Set() });
  }
  /** Paths in creation order, so ops can name "the k-th node that exists". */
  pick(i: number): string {
    const all = [...this.nodes.keys()];
    return all[i % all.length]!;
  }
  create(parentPath: string, name: string, mode: number, session: bigint, data: string): number {
    const parent = this.nodes.get(parentPath);
    if (!parent) return ErrorCode.NONODE;
    if (parentPath === '/zookeeper/config') return ErrorCode.NOAUTH;
    const sequential = mode === 2 || mode === 3;
    const base = (parentPath === '/' ? '' : parentPath) + '/' + name;
    const path = sequential ? base + String(parent.cversion).padStart(10, '0') : base;
    if (this.nodes.has(path)) return ErrorCode.NODEEXISTS;
    if (parent.owner !== 0n) return ErrorCode.NOCHILDRENFOREPHEMERALS;
    const owner = mode === 1 || mode === 3 ? session : 0n;
    this.nodes.set(path, { data, version: 0, cversion: 0, owner, children: new Set() });
    parent.children.add(path.substring(path.lastIndexOf('/') + 1));
    parent.cversion++;
    return 0;
  }
  delete(path: string, version: number): number {
    if (path === '/' || path === '/zookeeper' || path === '/zookeeper/quota' || path === '/zookeeper/config') return ErrorCode.BADARGUMENTS;
    const node = this.nodes.get(path);
    if (!node) return ErrorCode.NONODE;
    if (version !== -1 && version !== node.version) return ErrorCode.BADVERSION;
    if (node.children.size > 0) return ErrorCode.NOTEMPTY;
    this.remove(path);
    return 0;
  }
  remove(path: string): void {
    const parentPath = path.lastIndexOf('/') === 0 ? '/' : path.substring(0, path.lastIndexOf('/'));
    this.nodes.get(parentPath)!.children.delete(path.substring(path.lastIndexOf('/') + 1));
    this.nodes.delete(path);
  }
  set(path: string, version: number, data: string): number {
    const node = this.nodes.get(path);
    if (!node) return ErrorCode.NONODE;
    if (path === '/zookeeper/config') return ErrorCode.NOAUTH; // read-only ACL, as ZooKeeper sets it
    if (version !== -1 && version !== node.version) return ErrorCode.BADVERSION;
    node.version++;
    node.data = data;
    return 0;
  }
  close(session: bigint): void {
    for (const [p, n] of [...this.nodes]) if (n.owner === session) this.remove(p);
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('create' as const), parent: fc.nat(20), name: fc.constantFrom('a', 'b', 'c', 'q-'), mode: fc.integer({ min: 0, max: 3 }), session: fc.nat(2), data: fc.constantFrom('', 'x', 'hello') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), target: fc.nat(20), version: fc.integer({ min: -1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), target: fc.nat(20), version: fc.integer({ min: -1, max: 2 }), data: fc.constantFrom('', 'y', 'world') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), session: fc.nat(2) }) },
);

describe('write path against a reference model', () => {
  it('agrees on every error code and on the whole tree after every op', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const tree = new DataTree();
        const model = new Model();
        let zxid = 0;
        const run = (sessionId: bigint, prep: (ctx: PrepContext) => TxnBody): number => {
          let body: TxnBody;
          try {
            body = prep({ view: new ChangeView(tree), sessionId, ids: [], extendedTypesEnabled: false });
          } catch (e) {
            if (!(e instanceof KeeperError)) throw e;
            body = { type: OpCode.error, txn: { err: e.code } };
          }
          return tree.apply({ sessionId, cxid: 0, zxid: ++zxid, time: zxid, body }).err;
        };
        for (const op of ops) {
          let expected: number;
          let actual: number;
          if (op.kind === 'create') {
            const parent = model.pick(op.parent);
            const path = (parent === '/' ? '' : parent) + '/' + op.name;
            const session = SESSIONS[op.session]!;
            expected = model.create(parent, op.name, op.mode, session, op.data);
            actual = run(session, (ctx) => prepCreate(ctx, OpCode.create, { path, data: Buffer.from(op.data), acl: OPEN, flags: op.mode, ttl: -1 }));
          } else if (op.kind === 'delete') {
            const path = model.pick(op.target);
            expected = model.delete(path, op.version);
            actual = run(SESSIONS[0]!, (ctx) => prepDelete(ctx, OpCode.delete, { path, version: op.version }));
          } else if (op.kind === 'set') {
            const path = model.pick(op.target);
            expected = model.set(path, op.version, op.data);
            actual = run(SESSIONS[0]!, (ctx) => prepSetData(ctx, { path, data: Buffer.from(op.data), version: op.version }));
          } else {
            const session = SESSIONS[op.session]!;
            model.close(session);
            actual = run(session, () => ({ type: OpCode.closeSession, txn: { paths2Delete: [...tree.ephemeralsOf(session)] } }));
            expected = 0;
          }
          expect(actual, JSON.stringify(op)).toBe(expected);
          expect(snapshot(tree)).toEqual(modelSnapshot(model));
        }
      }),
      { numRuns: 300 },
    );
  });
});

function snapshot(tree: DataTree) {
  const out: Record<string, unknown> = {};
  let size = 0;
  for (const p of tree.paths()) size += p.length + tree.getNode(p)!.dataLength;
  out.approximateDataSize = size - tree.approximateDataSize; // 0 when kept right
  for (const p of [...tree.paths()].sort()) {
    const n = tree.getNode(p)!;
    out[p] = { data: n.data?.toString() ?? '', version: n.version, cversion: n.cversion, owner: n.ephemeralOwner, children: [...n.children].sort() };
  }
  return out;
}

function modelSnapshot(model: Model) {
  const out: Record<string, unknown> = { approximateDataSize: 0 };
  for (const p of [...model.nodes.keys()].sort()) {
    const n = model.nodes.get(p)!;
    out[p] = { data: n.data, version: n.version, cversion: n.cversion, owner: n.owner, children: [...n.children].sort() };
  }
  return out;
}
