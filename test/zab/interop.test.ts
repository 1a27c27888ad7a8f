/**
 * Interoperability of our log and snapshot formats with Apache ZooKeeper 3.8.0 (Debian's package):
 *  (a) a real ZooKeeper takes a workload of every kind of write; we read the logs and snapshots it
 *      wrote and check that replaying them gives exactly the tree it serves (data, Stat, ACL of
 *      every path), and that our tree digest equals the one it logged; then it restarts with gzip
 *      snapshots and we read the snapshot it takes on startup;
 *  (b) we write a data dir (snapshot + logs, with digests), ZooKeeper starts on it and serves our
 *      tree exactly, with no digest mismatch; and we read back the snapshot it takes of it.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataTree, type Txn } from '../../src/datatree/index.js';
import { OpCode, Perms, type MultiOp, type records } from '../../src/jute/index.js';
import { computeTreeDigest, encodeSnapshot, readSnapshotFile, snapshotFileName } from '../../src/zab/snapshot-file.js';
import type { TxnEntry } from '../../src/zab/txn-codec.js';
import {
  encodeLogEntries,
  encodeLogFileHeader,
  listDataDir,
  logFileName,
  logsToReplay,
  readLogFile,
  type LogEntry,
} from '../../src/zab/txn-log-file.js';
import { ZOOKEEPER, skipWithout } from '../support/requirements.js';
import { clientStat, dumpTree, OPEN_ACL, prng, TxnGen } from './helpers.js';
import { digestId, dumpViaClient, RawClient, type NodeView } from './raw-client.js';
import { startZk, type Zk } from './zk-launcher.js';

const work = mkdtempSync(join(tmpdir(), 'zab-interop-'));
const running: Zk[] = [];
afterAll(async () => {
  for (const zk of running) await zk.stop('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const SUPER = `zookeeper.DigestAuthenticationProvider.superDigest=${digestId('super', 'secret')}`;

/** The tree as a client of `tree` would see it, next to what ZooKeeper's client saw. */
function expectSameAsServed(tree: DataTree, view: Map<string, NodeView>, what: string): void {
  expect([...tree.paths()].sort(), `${what}: paths`).toEqual([...view.keys()].sort());
  for (const [path, seen] of view) {
    const node = tree.getNode(path)!;
    const ours: NodeView = { data: node.data === null ? null : node.data.toString('hex'), stat: clientStat(tree, path), acl: tree.aclOf(node) };
    expect(ours, `${what}: ${path}`).toEqual(seen);
  }
}

async function waitFor<T>(f: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skipWithout(ZOOKEEPER))('interoperability with Apache ZooKeeper 3.8', () => {
  it('replays the logs and snapshots ZooKeeper wrote into exactly the tree it serves', async () => {
    const dataDir = join(work, 'a');
    const v2 = join(dataDir, 'version-2');
    const props = [
      'zookeeper.snapCount=1000',
      'zookeeper.extendedTypesEnabled=true',
      'znode.container.checkIntervalMs=300',
      'zookeeper.forceSync=no',
      SUPER,
    ];
    let zk = await startZk(work, dataDir, props);
    running.push(zk);

    const a = await RawClient.connect(zk.port);
    const b = await RawClient.connect(zk.port);
    const c = await RawClient.connect(zk.port);
    expect((await a.addAuth('digest', 'alice:secret')).err).toBe(0);
    const rand = prng(2024);
    const int = (n: number) => Math.floor(rand() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const data = (): Buffer | null => {
      const r = rand();
      if (r < 0.05) return null;
      if (r < 0.1) return Buffer.alloc(0);
      return Buffer.from(Array.from({ length: r < 0.97 ? int(64) : 1500 }, () => int(256)));
    };
    const ALICE: records.ACL[] = [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestId('alice', 'secret') } }];
    const AUTH: records.ACL[] = [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }];
    const MIXED: records.ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }, ...ALICE];
    const ACLS = [OPEN_ACL, OPEN_ACL, OPEN_ACL, ALICE, AUTH, MIXED];

    // 1. Directories, then ~1200 nodes of every kind under them, all pipelined.
    await a.create('/app', data(), OPEN_ACL, 0);
    expect((await a.create('/app/grüße-€', data(), OPEN_ACL, 0)).err).toBe(0); // non-ASCII path bytes in the digest
    const dirs = Array.from({ length: 40 }, (_, i) => `/app/d${i}`);
    await Promise.all(dirs.map((d) => a.create(d, data(), pick(ACLS), 0, { op: pick([1, 15] as const) })));
    const persistent: Promise<{ err: number; path?: string }>[] = [];
    const containers: string[] = [];
    const creates: Promise<unknown>[] = [];
    for (const d of dirs) {
      for (let j = 0; j < 30; j++) {
        const r = rand();
        if (r < 0.4) persistent.push(a.create(`${d}/p${j}`, data(), pick(ACLS), 0, { op: pick([1, 15] as const) }));
        else if (r < 0.5) persistent.push(a.create(`${d}/s-`, data(), pick(ACLS), 2));
        else if (r < 0.6) {
          containers.push(`${d}/c${j}`);
          creates.push(a.create(`${d}/c${j}`, data(), OPEN_ACL, 4), a.create(`${d}/c${j}/x`, data(), OPEN_ACL, 0));
        } else if (r < 0.67) creates.push(a.create(`${d}/t${j}`, data(), pick(ACLS), pick([5, 6]), { ttl: 3_600_000 }));
        else if (r < 0.7) creates.push(a.create(`${d}/short${j}`, data(), OPEN_ACL, 5, { ttl: 200 })); // expires
        else if (r < 0.85) creates.push(b.create(`${d}/e${j}`, data(), pick(ACLS), pick([1, 3])));
        else creates.push(c.create(`${d}/ce${j}`, data(), OPEN_ACL, pick([1, 3])));
      }
    }
    await Promise.all(creates);
    const leaves = (await Promise.all(persistent)).filter((r) => r.err === 0).map((r) => r.path!);

    // 2. setData (some with wrong versions: error txns), setACL, deletes, multis, failing ops.
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) ops.push(a.setData(pick(leaves), data(), rand() < 0.1 ? 7 : -1));
    for (let i = 0; i < 80; i++) ops.push(a.setACL(pick(leaves), pick(ACLS), rand() < 0.1 ? 5 : -1));
    for (let i = 0; i < 30; i++) ops.push(a.setData(pick(dirs), data()));
    const deleted = new Set<string>();
    for (let i = 0; i < 150; i++) {
      const p = pick(leaves);
      if (!deleted.has(p)) {
        deleted.add(p);
        ops.push(a.delete(p));
      }
    }
    // Empty some containers: ZooKeeper's ContainerManager then deletes them (deleteContainer txns).
    for (const ctr of containers.slice(0, 15)) ops.push(a.delete(`${ctr}/x`));
    for (let k = 0; k < 60; k++) {
      const m: MultiOp[] = [
        { type: OpCode.create, req: { path: `/app/m${k}`, data: data(), acl: OPEN_ACL, flags: 0 } },
        { type: OpCode.setData, req: { path: `/app/m${k}`, data: data(), version: 0 } },
        { type: OpCode.check, req: { path: `/app/m${k}`, version: 1 } },
        { type: OpCode.create2, req: { path: `/app/m${k}/x`, data: data(), acl: OPEN_ACL, flags: 2 } },
        { type: OpCode.createContainer, req: { path: `/app/m${k}/c`, data: null, acl: OPEN_ACL, flags: 4 } },
        { type: OpCode.createTTL, req: { path: `/app/m${k}/t`, data: null, acl: OPEN_ACL, flags: 5, ttl: 3_600_000 } },
      ];
      if (k % 3 === 0) m.push({ type: OpCode.delete, req: { path: pick(dirs) + '/nonexistent', version: -1 } }); // fails the multi
      ops.push(a.multi(m));
    }
    for (let i = 0; i < 30; i++) ops.push(a.create(pick(dirs), null, OPEN_ACL, 0)); // NODEEXISTS
    for (let i = 0; i < 10; i++) ops.push(a.delete(pick(dirs))); // NOTEMPTY
    await Promise.all(ops);
    await c.close(); // closeSession deleting c's ephemerals
    const d = await RawClient.connect(zk.port);
    await d.close(); // a session with nothing to delete

    // 3. Let the ContainerManager remove the emptied containers and expired TTL nodes, then read
    //    everything back and crash the server.
    const v = await RawClient.connect(zk.port);
    expect((await v.addAuth('digest', 'super:secret')).err).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    const view = await dumpViaClient(v);
    expect(view.size).toBeGreaterThan(1000);
    await zk.stop('SIGKILL');
    for (const cl of [a, b, v]) cl.drop();

    // 4. Every log, from the first txn: consecutive zxids, every txn type, clean ends.
    const { logs, snapshots } = await listDataDir(v2);
    expect(logs.length).toBeGreaterThan(1);
    expect(snapshots.length).toBeGreaterThan(1);
    const entries: LogEntry[] = [];
    for (const f of logs) {
      const r = await readLogFile(f.path, { verifyPadding: true });
      expect(r.end.kind, f.name).toBe('padding');
      expect(r.end.nonZeroAt).toBeUndefined();
      expect(r.entries[0]!.txn.zxid).toBe(f.zxid);
      entries.push(...r.entries);
    }
    entries.forEach((e, i) => expect(e.txn.zxid).toBe(entries[0]!.txn.zxid + i));
    const types = new Set(entries.map((e) => e.headerType));
    for (const t of [OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL, OpCode.delete, OpCode.deleteContainer, OpCode.setData, OpCode.setACL, OpCode.multi, OpCode.createSession, OpCode.closeSession, OpCode.error]) {
      expect(types.has(t), `a txn of type ${t} in the log`).toBe(true);
    }
    // Every txn carries a TxnDigest, except top-level error txns (PrepRequestProcessor sets the
    // digest only when prep succeeds).
    console.log(`ZooKeeper wrote ${entries.length} txns in ${logs.length} logs and ${snapshots.length} snapshots; it serves ${view.size} znodes`);
    expect(entries.filter((e) => (e.digest?.version === 2) === (e.headerType === OpCode.error)).map((e) => e.headerType)).toEqual([]);

    // 5. snapshot.0 is ZooKeeper's empty tree, which must be ours; replaying every txn on it gives
    //    the served tree, and our tree digest equals the one ZooKeeper logged after each txn.
    const snap0 = snapshots.find((s) => s.zxid === 0)!;
    const empty = await readSnapshotFile(snap0.path, { extendedTypesEnabled: true, verifyDigest: true });
    expect(dumpTree(empty.tree)).toEqual(dumpTree(new DataTree({ extendedTypesEnabled: true })));
    const tree = empty.tree;
    entries.forEach((e, i) => {
      tree.apply(e.txn);
      if (e.digest && (i % 10 === 0 || i >= entries.length - 3)) expect(computeTreeDigest(tree), `digest after zxid 0x${e.txn.zxid.toString(16)}`).toBe(e.digest.treeDigest);
    });
    expectSameAsServed(tree, view, 'full replay');
    expect(new Set(tree.sessions.keys())).toEqual(new Set([a.sessionId, b.sessionId, v.sessionId]));

    // 6. Each snapshot ZooKeeper took while busy, plus the logs after it, gives the same tree. These
    //    snapshots are fuzzy (nodes may already show txns after the zxid in the name, and the
    //    ZxidDigest, taken at the end of the walk, races with the txn being applied, so ZooKeeper's
    //    own check of it at load can fail): only the end result is compared.
    for (const snap of snapshots.filter((s) => s.zxid > 0)) {
      const loaded = await readSnapshotFile(snap.path, { extendedTypesEnabled: true });
      expect(loaded.digest?.digestVersion).toBe(2);
      expect(loaded.digest!.zxid).toBeGreaterThanOrEqual(snap.zxid);
      const t = loaded.tree;
      for (const f of logsToReplay(logs, snap.zxid)) {
        for (const e of (await readLogFile(f.path)).entries) if (e.txn.zxid > snap.zxid) t.apply(e.txn);
      }
      expectSameAsServed(t, view, snap.name);
    }

    // 7. Restarted with gzip snapshots, ZooKeeper snapshots what it loaded: that is the same tree.
    zk = await startZk(work, dataDir, [...props, 'zookeeper.snapshot.compression.method=gz']);
    running.push(zk);
    const gz = await waitFor(() => readdirSync(v2).find((n) => n.endsWith('.gz')), 10_000, 'a gzip snapshot');
    await zk.stop('SIGTERM');
    const restarted = await readSnapshotFile(join(v2, gz), { extendedTypesEnabled: true, verifyDigest: true });
    expect(restarted.zxid).toBe(entries.at(-1)!.txn.zxid);
    expect(restarted.digestMatches).toBe(true);
    expectSameAsServed(restarted.tree, view, gz);
    expect(dumpTree(restarted.tree)).toEqual(dumpTree(tree));
  }, 120_000);

  it('serves exactly the tree of a data dir we wrote (snapshot + logs, with digests)', async () => {
    const dataDir = join(work, 'b');
    const v2 = join(dataDir, 'version-2');
    mkdirSync(v2, { recursive: true });
    const gen = new TxnGen(prng(77), { ttl: true, oddAcls: true, time0: Date.now(), zxid0: 0x100000001, sessionTimeout: 120_000, ttlMin: 3_600_000 });
    const entries: TxnEntry[] = [];
    let snapshot: Buffer | undefined;
    let snapZxid = 0;
    for (let i = 0; i < 1200; i++) {
      const txn: Txn = gen.next();
      entries.push({ txn, digest: { version: 2, treeDigest: computeTreeDigest(gen.tree) } });
      if (i === 599) {
        snapshot = encodeSnapshot(gen.tree).bytes;
        snapZxid = txn.zxid;
      }
    }
    writeFileSync(join(v2, snapshotFileName(snapZxid)), snapshot!);
    // Three logs: the first wholly before the snapshot (skipped), the second across it, the third
    // after, preallocated as ZooKeeper's are.
    for (const [from, to, pad] of [[0, 300, 0], [300, 900, 0], [900, 1200, 1 << 20]] as const) {
      const part = entries.slice(from, to);
      writeFileSync(join(v2, logFileName(part[0]!.txn.zxid)), Buffer.concat([encodeLogFileHeader(), encodeLogEntries(part), Buffer.alloc(pad)]));
    }

    const zk = await startZk(work, dataDir, ['zookeeper.extendedTypesEnabled=true', 'znode.container.checkIntervalMs=600000', 'zookeeper.forceSync=no', SUPER]);
    running.push(zk);
    const v = await RawClient.connect(zk.port);
    expect((await v.addAuth('digest', 'super:secret')).err).toBe(0);
    const view = await dumpViaClient(v);
    expectSameAsServed(gen.tree, view, 'ZooKeeper on our files');
    const mntr = await zk.fourLetter('mntr');
    expect(mntr).toMatch(/zk_digest_mismatches_count\s+0\b/);
    // ZooKeeper counts its root twice (it is in its node map as "" and as "/").
    expect(mntr).toMatch(new RegExp(`zk_znode_count\\s+${gen.tree.nodeCount + 1}\\b`));
    expect(zk.output()).not.toMatch(/[Dd]igest.*(mismatch|not matching)/);
    v.drop();
    await zk.stop('SIGTERM');

    // ZooKeeper snapshotted the tree on startup: reading that back closes the loop.
    const { snapshots } = await listDataDir(v2);
    expect(snapshots[0]!.zxid).toBe(entries.at(-1)!.txn.zxid);
    const back = await readSnapshotFile(snapshots[0]!.path, { extendedTypesEnabled: true, verifyDigest: true });
    expect(back.digestMatches).toBe(true);
    expect(dumpTree(back.tree)).toEqual(dumpTree(gen.tree));
  }, 60_000);
});
