import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DataTree, type Txn } from '../../src/datatree/index.js';
import { JuteWriter, OpCode, records } from '../../src/jute/index.js';
import { adler32 } from '../../src/zab/checksum.js';
import {
  computeTreeDigest,
  encodeSnapshot,
  parseSnapshot,
  readSnapshotFile,
  serializeSnapshot,
  SnapshotFormatError,
  snapshotFileName,
  writeSnapshotFile,
} from '../../src/zab/snapshot-file.js';
import { isValidSnapshotFile } from '../../src/zab/txn-log-file.js';
import { dumpTree, OPEN_ACL, prng, TxnGen } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'zab-snap-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function roundTrip(tree: DataTree, chunkSize?: number) {
  const chunks = [...serializeSnapshot(tree, chunkSize ? { chunkSize } : {})];
  const bytes = Buffer.concat(chunks);
  const loaded = parseSnapshot(bytes, { zxid: tree.lastProcessedZxid, extendedTypesEnabled: tree.extendedTypesEnabled, verifyDigest: true });
  return { chunks, bytes, loaded };
}

describe('snapshot round trip', () => {
  it('gives back the identical tree: nodes, data, ACLs, stats, ephemerals, containers, TTLs, sessions', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 50, max: 600 }), fc.boolean(), (seed, n, ttl) => {
        const gen = new TxnGen(prng(seed), { ttl, oddAcls: true });
        gen.take(n);
        const tree = gen.tree;
        const { loaded, chunks } = roundTrip(tree, 512);
        expect(dumpTree(loaded.tree)).toEqual(dumpTree(tree));
        expect(loaded.tree.lastProcessedZxid).toBe(tree.lastProcessedZxid);
        expect(loaded.nodes).toBe(tree.nodeCount);
        expect(loaded.digestMatches).toBe(true);
        expect(chunks.length).toBeGreaterThan(1);
        // ACL refs are kept (but for OPEN and empty lists, which have none).
        for (const path of tree.paths()) {
          const ref = tree.getNode(path)!.aclRef;
          if (ref > 0) expect(loaded.tree.getNode(path)!.aclRef).toBe(ref);
        }
        // Loading is stable: the loaded tree round-trips too.
        expect(dumpTree(roundTrip(loaded.tree).loaded.tree)).toEqual(dumpTree(tree));
      }),
      { numRuns: 40 },
    );
  });

  it('keeps applying txns identically after a load', () => {
    const gen = new TxnGen(prng(5), { ttl: true });
    gen.take(400);
    const { loaded } = roundTrip(gen.tree);
    const next = gen.take(400);
    for (const t of next) loaded.tree.apply(t);
    expect(dumpTree(loaded.tree)).toEqual(dumpTree(gen.tree));
  });

  it('writes the layout of FileSnap: header, sessions, ACLs, nodes from "", seals', () => {
    const tree = new DataTree();
    tree.apply({ sessionId: 0x42n, cxid: 0, zxid: 1, time: 10, body: { type: OpCode.createSession, txn: { timeOut: 5000 } } });
    tree.apply({ sessionId: 0x42n, cxid: 1, zxid: 2, time: 11, body: { type: OpCode.create, txn: { path: '/a', data: Buffer.from('x'), acl: OPEN_ACL, ephemeral: true, parentCVersion: 1 } } });
    const { bytes, summary } = encodeSnapshot(tree);
    const w = new JuteWriter();
    w.int(0x5a4b534e);
    w.int(2);
    w.long(-1n);
    w.int(1); // sessions
    w.long(0x42n);
    w.int(5000);
    w.int(3); // ACL lists: OPEN_ACL_UNSAFE (1), READ_ACL_UNSAFE (2), and the empty list (3)
    w.long(1n);
    records.ACLList.write(w, OPEN_ACL);
    w.long(2n);
    records.ACLList.write(w, [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }]);
    w.long(3n);
    w.int(0);
    const node = (path: string, data: Buffer | null, acl: bigint, stat: records.StatPersisted) => {
      w.ustring(path);
      w.buffer(data);
      w.long(acl);
      records.StatPersisted.write(w, stat);
    };
    const zero = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0 };
    node('', Buffer.alloc(0), 1n, { ...zero, cversion: 1, pzxid: 2 });
    node('/zookeeper', Buffer.alloc(0), 1n, zero);
    node('/zookeeper/quota', Buffer.alloc(0), 1n, zero);
    node('/zookeeper/config', Buffer.alloc(0), 2n, { ...zero, aversion: -1 });
    node('/a', Buffer.from('x'), 1n, { ...zero, czxid: 2, mzxid: 2, ctime: 11, mtime: 11, ephemeralOwner: 0x42n, pzxid: 2 });
    w.ustring('/');
    const sum1 = adler32(w.bytes());
    w.long(BigInt(sum1));
    w.ustring('/');
    w.long(2n); // ZxidDigest: zxid, version, digest
    w.int(2);
    w.long(computeTreeDigest(tree));
    const sum2 = adler32(w.bytes());
    w.long(BigInt(sum2));
    w.ustring('/');
    expect(bytes.toString('hex')).toBe(Buffer.from(w.bytes()).toString('hex'));
    expect(summary).toMatchObject({ zxid: 2, nodes: 5, bytes: bytes.length, checksum: sum1, digest: { zxid: 2, digestVersion: 2 } });
    // The tail is what SnapStream.isValidSnapshot looks for.
    expect(bytes.subarray(-5).toString('hex')).toBe('000000012f');
  });

  it('maps ZooKeeper\'s -1 (OPEN_ACL_UNSAFE) and duplicate lists consistently', () => {
    const w = new JuteWriter();
    w.int(0x5a4b534e);
    w.int(2);
    w.long(-1n);
    w.int(0);
    w.int(3);
    w.long(7n);
    records.ACLList.write(w, OPEN_ACL);
    w.long(9n);
    records.ACLList.write(w, [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }]);
    w.long(12n);
    records.ACLList.write(w, OPEN_ACL); // the same list again
    const zero = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0 };
    for (const [path, acl] of [['', -1n], ['/zookeeper', -1n], ['/zookeeper/quota', -1n], ['/zookeeper/config', 9n], ['/x', 12n], ['/y', 7n]] as const) {
      w.ustring(path);
      w.buffer(Buffer.alloc(0));
      w.long(acl);
      records.StatPersisted.write(w, zero);
    }
    w.ustring('/');
    w.long(BigInt(adler32(w.bytes())));
    w.ustring('/');
    const { tree, digest } = parseSnapshot(Buffer.from(w.bytes()), { zxid: 0 });
    expect(digest).toBeUndefined();
    for (const p of ['/', '/zookeeper', '/x', '/y']) {
      expect(tree.getNode(p)!.aclRef).toBe(7);
      expect(tree.aclOf(tree.getNode(p)!)).toEqual(OPEN_ACL);
    }
    expect(tree.acls.usesOf(7)).toBe(5);
    expect(tree.acls.size).toBe(2);
    // New lists get refs above the snapshot's.
    expect(tree.acls.intern([{ perms: 3, id: { scheme: 'ip', id: '1.2.3.4' } }])).toBe(13);
  });

  it('rejects corrupt, truncated and foreign snapshots', () => {
    const gen = new TxnGen(prng(11));
    gen.take(200);
    const { bytes } = encodeSnapshot(gen.tree);
    const zxid = gen.tree.lastProcessedZxid;
    const rand = prng(12);
    for (let i = 0; i < 200; i++) {
      const bad = Buffer.from(bytes);
      const at = Math.floor(rand() * bad.length);
      bad[at]! ^= 1 + Math.floor(rand() * 255);
      expect(() => parseSnapshot(bad, { zxid }), `flip at ${at}`).toThrow(SnapshotFormatError);
    }
    for (const cut of [0, 10, 16, 100, bytes.length - 30, bytes.length - 1]) {
      expect(() => parseSnapshot(bytes.subarray(0, cut), { zxid })).toThrow(SnapshotFormatError);
    }
    expect(() => parseSnapshot(Buffer.concat([bytes, Buffer.alloc(1)]), { zxid })).toThrow(/unexpected bytes/);
    const log = Buffer.from(bytes);
    log.write('ZKLG', 0, 'latin1');
    expect(() => parseSnapshot(log, { zxid })).toThrow(/not a ZooKeeper snapshot/);
  });

  it('reads snapshots without the digest section (digest disabled) and writes one on request', () => {
    const gen = new TxnGen(prng(13));
    gen.take(100);
    const none = encodeSnapshot(gen.tree, { digest: 'none' });
    const empty = encodeSnapshot(gen.tree, { digest: 'empty' });
    expect(none.bytes.length + 20 + 13).toBe(empty.bytes.length);
    const a = parseSnapshot(none.bytes, { zxid: 1 });
    const b = parseSnapshot(empty.bytes, { zxid: 1 });
    expect(a.digest).toBeUndefined();
    expect(b.digest).toEqual({ zxid: 0, digestVersion: 2, digest: 0n });
    expect(dumpTree(a.tree)).toEqual(dumpTree(gen.tree));
  });

  it('writes and reads files, plain and gzip, named after the zxid', async () => {
    const gen = new TxnGen(prng(14), { ttl: true });
    gen.take(500);
    expect(snapshotFileName(0x300000010)).toBe('snapshot.300000010');
    for (const compression of ['none', 'gz'] as const) {
      const path = join(dir, snapshotFileName(gen.tree.lastProcessedZxid, compression));
      const summary = await writeSnapshotFile(path, gen.tree, { compression, chunkSize: 4096 });
      expect(summary.nodes).toBe(gen.tree.nodeCount);
      expect(await isValidSnapshotFile(path)).toBe(true);
      const loaded = await readSnapshotFile(path, { extendedTypesEnabled: true, verifyDigest: true });
      expect(loaded.zxid).toBe(gen.tree.lastProcessedZxid);
      expect(loaded.digestMatches).toBe(true);
      expect(dumpTree(loaded.tree)).toEqual(dumpTree(gen.tree));
      if (compression === 'gz') expect(readFileSync(path).subarray(0, 2).toString('hex')).toBe('1f8b');
    }
    // A gzip file of several members (what concatenated writers produce) reads too.
    const plain = encodeSnapshot(gen.tree).bytes;
    const multi = Buffer.concat([gzipSync(plain.subarray(0, 1000)), gzipSync(plain.subarray(1000))]);
    writeFileSync(join(dir, 'snapshot.99.gz'), multi);
    expect((await readSnapshotFile(join(dir, 'snapshot.99.gz'), { extendedTypesEnabled: true })).nodes).toBe(gen.tree.nodeCount);
    writeFileSync(join(dir, 'snapshot.98.snappy'), Buffer.alloc(20));
    await expect(readSnapshotFile(join(dir, 'snapshot.98.snappy'))).rejects.toThrow(/snappy/);
  });

  it('is exactly the tree at its zxid even when txns are applied between chunks', () => {
    for (const seed of [15, 16, 17, 18]) {
      const gen = new TxnGen(prng(seed));
      gen.take(300);
      const zxid = gen.tree.lastProcessedZxid;
      const still = encodeSnapshot(gen.tree); // the reference: nothing changes while it is written
      const chunks: Buffer[] = [];
      const it = serializeSnapshot(gen.tree, { chunkSize: 256 });
      const later: Txn[] = [];
      for (let r = it.next(); ; r = it.next()) {
        if (r.done) {
          expect(r.value.zxid).toBe(zxid);
          expect(r.value.digest).toEqual(still.summary.digest);
          break;
        }
        chunks.push(r.value);
        if (later.length < 150) later.push(gen.next());
      }
      expect(later.length).toBeGreaterThan(10);
      const loaded = parseSnapshot(Buffer.concat(chunks), { zxid, verifyDigest: true });
      expect(loaded.digestMatches).not.toBe(false);
      expect(dumpTree(loaded.tree)).toEqual(dumpTree(parseSnapshot(still.bytes, { zxid }).tree));
      // and the log after it brings it to the live tree
      for (const t of later) loaded.tree.apply(t);
      expect(dumpTree(loaded.tree)).toEqual(dumpTree(gen.tree));
      // the tree is out of snapshot mode: another snapshot can start
      expect(() => encodeSnapshot(gen.tree)).not.toThrow();
    }
  });
});

describe('snapshot of a large tree', () => {
  it('serializes 200,000 znodes in slices of bounded time', () => {
    const tree = new DataTree();
    const acl = OPEN_ACL;
    let zxid = 1;
    const data = Buffer.alloc(32, 7);
    for (let i = 0; i < 200; i++) {
      tree.apply({ sessionId: 1n, cxid: 0, zxid: zxid++, time: 1, body: { type: OpCode.create, txn: { path: `/d${i}`, data, acl, ephemeral: false, parentCVersion: -1 } } });
      for (let j = 0; j < 1000; j++) {
        tree.apply({ sessionId: 1n, cxid: 0, zxid: zxid++, time: 1, body: { type: OpCode.create, txn: { path: `/d${i}/n${j}`, data, acl, ephemeral: false, parentCVersion: -1 } } });
      }
    }
    let slowest = 0;
    let bytes = 0;
    const t0 = performance.now();
    const chunks: Buffer[] = [];
    const it = serializeSnapshot(tree);
    for (;;) {
      const s = performance.now();
      const r = it.next();
      slowest = Math.max(slowest, performance.now() - s);
      if (r.done) break;
      bytes += r.value.length;
      chunks.push(r.value);
    }
    const total = performance.now() - t0;
    const t1 = performance.now();
    const loaded = parseSnapshot(Buffer.concat(chunks), { zxid: tree.lastProcessedZxid, verifyDigest: true });
    const loadMs = performance.now() - t1;
    expect(loaded.nodes).toBe(200_204);
    expect(loaded.digestMatches).toBe(true);
    console.log(`200k znodes: ${(bytes / 1e6).toFixed(1)} MB in ${chunks.length} chunks, ${total.toFixed(0)} ms, slowest slice ${slowest.toFixed(1)} ms; load ${loadMs.toFixed(0)} ms`);
    expect(slowest).toBeLessThan(250); // generous: GC pauses on a shared machine
  });
});
