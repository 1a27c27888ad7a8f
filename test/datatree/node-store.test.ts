/**
 * NodeStore against a plain Map model: the hash index (growth, deletions that shift probe chains),
 * arena reuse, child order, names outside ASCII, values on both sides of the arena's limit, and the
 * snapshot view (what a walk sees is the store as it was at beginSnapshot, whatever changes after).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteArena } from '../../src/datatree/byte-arena.js';
import { NO_NODE, NodeStore, ROOT, TreeWalk, type NodeFields } from '../../src/datatree/index.js';
import type { SnapshotRow } from '../../src/datatree/node-store.js';

interface ModelNode {
  data: string | null;
  version: number;
  czxid: number;
  children: string[];
}

const NAMES = ['a', 'b', 'c', 'node-0000000001', 'é', 'ünïcödé-long-name', '日本', 'x'.repeat(200)];
const VALUES: (string | null)[] = [null, '', 'v', 'x'.repeat(ByteArena.MAX_BYTES), 'y'.repeat(ByteArena.MAX_BYTES + 1), 'z'.repeat(9000)];

type Op =
  | { kind: 'add'; parent: number; name: number; value: number }
  | { kind: 'remove'; target: number }
  | { kind: 'set'; target: number; value: number }
  | { kind: 'snapshot' }
  | { kind: 'probe'; target: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), parent: fc.nat(500), name: fc.nat(NAMES.length - 1), value: fc.nat(VALUES.length - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), target: fc.nat(500) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), target: fc.nat(500), value: fc.nat(VALUES.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('probe' as const), target: fc.nat(500) }) },
);

function fields(zxid: number): NodeFields {
  return { czxid: zxid, mzxid: zxid, ctime: zxid * 10, mtime: zxid * 10, version: 0, cversion: 0, aversion: 0, ephemeralOwner: zxid % 3 === 0 ? BigInt(zxid) << 40n : 0n, pzxid: zxid, aclRef: -1 };
}

function join(parent: string, name: string): string {
  return parent === '/' ? '/' + name : parent + '/' + name;
}

class Model {
  nodes = new Map<string, ModelNode>([['/', { data: '', version: 0, czxid: 0, children: [] }]]);
  pick(i: number): string {
    const all = [...this.nodes.keys()];
    return all[i % all.length]!;
  }
  clone(): Map<string, ModelNode> {
    return new Map([...this.nodes].map(([p, n]) => [p, { ...n, children: [...n.children] }]));
  }
}

function walkAll(store: NodeStore): Map<string, ModelNode> {
  const seen = new Map<string, ModelNode>();
  const walk = new TreeWalk(store);
  while (walk.next()) {
    const path = walk.pathString();
    const data = walk.row.data;
    seen.set(path, { data: data === null ? null : data.toString('utf8'), version: walk.row.version, czxid: walk.row.czxid, children: Array.from(store.snapshotChildren(walk.id), (c) => store.name(c)) });
  }
  return seen;
}

function expectStoreMatches(store: NodeStore, model: Model): void {
  expect(store.size).toBe(model.nodes.size);
  for (const [path, m] of model.nodes) {
    const id = store.lookup(path);
    expect(id, path).not.toBe(NO_NODE);
    expect(store.path(id)).toBe(path);
    const data = store.data(id);
    expect(data === null ? null : data.toString('utf8'), path).toBe(m.data);
    expect(store.dataLength(id)).toBe(m.data === null ? 0 : Buffer.byteLength(m.data));
    expect(store.version[id]).toBe(m.version);
    expect(store.childNames(id), path).toEqual(m.children);
    expect(store.childCount(id)).toBe(m.children.length);
    if (path !== '/') expect(store.ephemeralOwner(id)).toBe(fields(m.czxid).ephemeralOwner);
    expect(store.resolve(path)).toBe(id);
    expect(store.resolvedParent).toBe(path === '/' ? NO_NODE : store.parent[id]);
    // Paths that differ only slightly from existing ones are not found.
    expect(store.lookup(path + 'q')).toBe(NO_NODE);
    expect(store.resolve(join(path, 'q'))).toBe(NO_NODE);
    expect(store.resolvedParent).toBe(id);
    expect(store.resolve(join(path, 'q/r'))).toBe(NO_NODE);
    expect(store.resolvedParent).toBe(NO_NODE);
    expect(store.lookupBytes(Buffer.from(path === '/' ? '' : path), 0, Buffer.byteLength(path === '/' ? '' : path))).toBe(id);
  }
}

describe('NodeStore', () => {
  it('agrees with a Map model through adds, removes, value changes and snapshots', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 300 }), (ops) => {
        const store = new NodeStore();
        const model = new Model();
        let zxid = 0;
        let frozen: Map<string, ModelNode> | undefined;
        const removed: string[] = [];
        for (const op of ops) {
          if (op.kind === 'probe') {
            // Paths under removed nodes (whose rows may hold other nodes now) resolve as the model says.
            if (removed.length === 0) continue;
            const parentPath = removed[op.target % removed.length]!;
            const path = join(parentPath, 'a');
            expect(store.resolve(path)).toBe(model.nodes.has(path) ? store.lookup(path) : NO_NODE);
            expect(store.resolvedParent).toBe(model.nodes.has(parentPath) ? store.lookup(parentPath) : NO_NODE);
            expect(store.lookup(path) === NO_NODE).toBe(!model.nodes.has(path));
            continue;
          }
          if (op.kind === 'snapshot') {
            if (frozen) {
              expect(walkAll(store)).toEqual(frozen);
              store.endSnapshot();
              frozen = undefined;
            } else {
              store.beginSnapshot(zxid);
              frozen = model.clone();
            }
            continue;
          }
          if (op.kind === 'add') {
            const parentPath = model.pick(op.parent);
            const name = NAMES[op.name]!;
            const path = join(parentPath, name);
            const value = VALUES[op.value]!;
            const data = value === null ? null : Buffer.from(value);
            // Half the adds go the way DataTree.createNode goes: resolve, then addResolved.
            let id: number;
            if (op.value % 2 === 0) {
              const found = store.resolve(path);
              expect(store.resolvedParent).toBe(store.lookup(parentPath));
              id = found === NO_NODE ? store.addResolved(path, fields(++zxid), data) : NO_NODE;
              if (found !== NO_NODE) zxid++;
            } else {
              id = store.addChildNamed(store.lookup(parentPath), name, fields(++zxid), data);
            }
            if (model.nodes.has(path)) {
              expect(id).toBe(NO_NODE);
              continue;
            }
            expect(id).not.toBe(NO_NODE);
            model.nodes.set(path, { data: value, version: 0, czxid: zxid, children: [] });
            model.nodes.get(parentPath)!.children.push(name);
          } else if (op.kind === 'remove') {
            const path = model.pick(op.target);
            if (path === '/' || model.nodes.get(path)!.children.length > 0) continue;
            store.remove(store.lookup(path));
            model.nodes.delete(path);
            removed.push(path);
            const parentPath = path.lastIndexOf('/') === 0 ? '/' : path.substring(0, path.lastIndexOf('/'));
            const siblings = model.nodes.get(parentPath)!.children;
            siblings.splice(siblings.indexOf(path.substring(path.lastIndexOf('/') + 1)), 1);
          } else {
            const path = model.pick(op.target);
            const value = VALUES[op.value]!;
            const id = store.lookup(path);
            const m = model.nodes.get(path)!;
            store.setData(id, value === null ? null : Buffer.from(value));
            store.setModified(id, ++zxid, zxid, m.version + 1);
            m.data = value;
            m.version++;
          }
          expect(store.lookup(model.pick(zxid))).not.toBe(NO_NODE);
        }
        if (frozen) {
          expect(walkAll(store)).toEqual(frozen);
          store.endSnapshot();
        }
        expectStoreMatches(store, model);
        expect(walkAll(store)).toEqual(model.nodes);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps 100,000 siblings findable through growth and removal of every other one', () => {
    const store = new NodeStore();
    const parent = store.addChildNamed(ROOT, 'p', fields(1), null);
    store.reserve(60_000); // room for part of them up front (as a snapshot load does), then growth
    expect(store.lookup('/p')).toBe(parent);
    for (let i = 0; i < 100_000; i++) store.addChildNamed(parent, `n${i}`, fields(i + 2), Buffer.from(`v${i}`));
    for (let i = 0; i < 100_000; i += 2) store.remove(store.lookup(`/p/n${i}`));
    expect(store.size).toBe(2 + 50_000);
    expect(store.childCount(parent)).toBe(50_000);
    for (let i = 0; i < 100_000; i++) {
      const id = store.lookup(`/p/n${i}`);
      if (i % 2 === 0) expect(id).toBe(NO_NODE);
      else expect(store.data(id)!.toString()).toBe(`v${i}`);
    }
    expect(store.childNames(parent).slice(0, 3)).toEqual(['n1', 'n3', 'n5']);
    // Freed rows and arena space are reused.
    const before = store.footprint().arena;
    for (let i = 0; i < 100_000; i += 2) store.addChildNamed(parent, `n${i}`, fields(i + 200_000), Buffer.from(`v${i}`));
    expect(store.footprint().arena).toBe(before);
  });

  it('forgets a cached parent once it is removed, even when its row holds another node', () => {
    const store = new NodeStore();
    const x = store.addChildNamed(ROOT, 'x', fields(1), null);
    const xa = store.addChildNamed(x, 'a', fields(2), null);
    expect(store.lookup('/x/a')).toBe(xa); // the lookup remembers /x
    store.remove(xa);
    store.remove(x);
    expect(store.addChildNamed(ROOT, 'y', fields(3), null)).toBe(x); // rows are reused last freed first
    expect(store.resolve('/x/b')).toBe(NO_NODE);
    expect(store.resolvedParent).toBe(NO_NODE);
    expect(store.lookup('/x')).toBe(NO_NODE);
  });

  it('holds names longer than an arena chunk (jute.maxbuffer can be raised past the chunk size)', () => {
    const store = new NodeStore(1 << 20);
    const small = store.addChildNamed(ROOT, 'a', fields(1), Buffer.from('x'));
    const long = 'n'.repeat(3 * 1024 * 1024 + 5);
    const id = store.addChildNamed(ROOT, long, fields(2), Buffer.from('v'));
    const after = store.addChildNamed(id, 'b', fields(3), Buffer.from('y'));
    expect(store.lookup('/' + long)).toBe(id);
    expect(store.name(id)).toBe(long);
    expect(store.lookup(`/${long}/b`)).toBe(after);
    expect(store.data(small)!.toString()).toBe('x');
    store.remove(after);
    store.remove(id);
    expect(store.lookup('/' + long)).toBe(NO_NODE);
    expect(store.addChildNamed(ROOT, long, fields(4), null)).not.toBe(NO_NODE);
    expect(store.childNames(ROOT)).toEqual(['a', long]);
  });

  it('a snapshot view keeps rows, values and child lists of removed and changed nodes', () => {
    const store = new NodeStore();
    const a = store.addChildNamed(ROOT, 'a', fields(1), Buffer.from('old'));
    const b = store.addChildNamed(a, 'b', fields(2), Buffer.from('x'.repeat(5000)));
    store.beginSnapshot(2);
    store.remove(b);
    store.setData(a, Buffer.from('new'));
    store.setModified(a, 3, 30, 1);
    // A node created since is not in the view, even where a removed one's row could be reused.
    const c = store.addChildNamed(a, 'c', fields(3), Buffer.from('c'));
    expect(c).not.toBe(b);
    const seen = walkAll(store);
    expect([...seen.keys()]).toEqual(['/', '/a', '/a/b']);
    expect(seen.get('/a')).toEqual({ data: 'old', version: 0, czxid: 1, children: ['b'] });
    expect(seen.get('/a/b')!.data).toBe('x'.repeat(5000));
    store.endSnapshot();
    expect([...walkAll(store).keys()]).toEqual(['/', '/a', '/a/c']);
    expect(store.data(a)!.toString()).toBe('new');
  });

  it('keeps each row\'s aversion (a Map beside the columns) through setACL, snapshots and row reuse', () => {
    const store = new NodeStore();
    const a = store.addChildNamed(ROOT, 'a', fields(1), null);
    const b = store.addChildNamed(ROOT, 'b', { ...fields(2), aversion: 5 }, null);
    expect([store.aversion(a), store.aversion(b), store.aversion(ROOT)]).toEqual([0, 5, 0]);
    store.setAcl(a, 7, 3);
    expect(store.aversion(a)).toBe(3);
    store.beginSnapshot(2);
    store.setAversion(a, 4);
    const row = {} as SnapshotRow;
    store.fillSnapshotRow(a, row);
    expect(row.aversion).toBe(3);
    expect(store.aversion(a)).toBe(4);
    store.endSnapshot();
    store.setAversion(a, 0);
    expect(store.aversion(a)).toBe(0);
    store.remove(b);
    // The freed row is reused (last freed first): it must not inherit b's aversion.
    expect(store.addChildNamed(ROOT, 'c', fields(3), null)).toBe(b);
    expect(store.aversion(b)).toBe(0);
  });
});
