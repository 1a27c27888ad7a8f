/**
 * Moving a dataDir between Apache ZooKeeper 3.8.0 (Debian's package) and zkts, end to end through
 * the real servers:
 *  (a) ZooKeeper takes a few thousand writes of every kind (persistent, sequential, ephemeral of a
 *      session that stays alive, container, TTL, digest and auth ACLs, setData, setACL, deletes,
 *      multis, failing ops) with a small snapCount, so that it writes several logs and snapshots;
 *      it is dumped through a client and killed (SIGKILL: the live session's ephemerals stay);
 *      zkts starts on that dataDir and must serve exactly the same tree: every path's data, ACL
 *      and Stat (all fields, ephemeralOwner included); then the dead session expires on zkts;
 *  (b) the reverse: zkts writes the dataDir and stops cleanly (SIGTERM: a last snapshot), or
 *      crashes (SIGKILL: only the logs and the snapshots taken on the way), and ZooKeeper must
 *      serve the same tree, with no digest mismatch.
 * Both servers run with zookeeper.extendedTypesEnabled=true (TTL nodes).
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpCode, Perms, type MultiOp, type records } from '../../src/jute/index.js';
import { listDataDir } from '../../src/zab/index.js';
import { DIST, ZOOKEEPER, skipWithout } from '../support/requirements.js';
import { OPEN_ACL, prng } from '../zab/helpers.js';
import { digestId, dumpViaClient, RawClient, type NodeView } from '../zab/raw-client.js';
import { startZk, type Zk } from '../zab/zk-launcher.js';
import { startZkts, warnings, type ZktsProcess } from './launcher.js';

const work = mkdtempSync(join(tmpdir(), 'zkts-interop-server-'));
const zks: Zk[] = [];
const zktss: ZktsProcess[] = [];
afterAll(async () => {
  for (const zk of zks) await zk.stop('SIGKILL');
  for (const s of zktss) await s.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const SUPER_DIGEST = digestId('super', 'secret');
const ZK_PROPS = [
  'zookeeper.extendedTypesEnabled=true',
  `zookeeper.DigestAuthenticationProvider.superDigest=${SUPER_DIGEST}`,
  'znode.container.checkIntervalMs=600000',
  'zookeeper.forceSync=no',
];

async function zkts(dataDir: string, cfg: string[] = []): Promise<ZktsProcess> {
  const s = await startZkts({
    workDir: work,
    dataDir,
    cfg: ['znode.container.checkIntervalMs=600000', 'maxSessionTimeout=600000', ...cfg],
    props: ['zookeeper.extendedTypesEnabled=true', `zookeeper.DigestAuthenticationProvider.superDigest=${SUPER_DIGEST}`],
    cfgName: `zkts-${Date.now()}.cfg`,
  });
  zktss.push(s);
  return s;
}

async function zookeeper(dataDir: string, props: string[] = []): Promise<Zk> {
  const zk = await startZk(work, dataDir, [...ZK_PROPS, ...props]);
  zks.push(zk);
  return zk;
}

/** Every node, read as the super user (digest ACLs would hide some otherwise). */
async function dumpAll(port: number): Promise<Map<string, NodeView>> {
  const v = await RawClient.connect(port, 60_000);
  try {
    expect((await v.addAuth('digest', 'super:secret')).err).toBe(0);
    return await dumpViaClient(v);
  } finally {
    v.drop();
  }
}

function expectSameTree(got: Map<string, NodeView>, want: Map<string, NodeView>, what: string): void {
  expect([...got.keys()].sort(), `${what}: paths`).toEqual([...want.keys()].sort());
  const diffs: string[] = [];
  for (const [path, w] of want) {
    const g = got.get(path)!;
    if (JSON.stringify(g, big) !== JSON.stringify(w, big)) diffs.push(`${path}: got ${JSON.stringify(g, big)}\n   want ${JSON.stringify(w, big)}`);
  }
  expect(diffs.slice(0, 10), `${what}: ${diffs.length} of ${want.size} nodes differ`).toEqual([]);
}
const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v);

interface Sessions {
  /** Holds ephemerals and stays alive (never closed): they must survive the move. */
  live: RawClient;
  liveTimeout: number;
  others: RawClient[];
}

/**
 * A few thousand writes of every kind. Returns the clients (the live one still connected) and the
 * paths of the live session's ephemerals.
 */
async function workload(port: number, seed: number): Promise<{ sessions: Sessions; liveEphemerals: string[] }> {
  const a = await RawClient.connect(port);
  const liveTimeout = 8000;
  const b = await RawClient.connect(port, liveTimeout);
  const c = await RawClient.connect(port);
  expect((await a.addAuth('digest', 'alice:secret')).err).toBe(0);
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const data = (): Buffer | null => {
    const r = rand();
    if (r < 0.05) return null;
    if (r < 0.1) return Buffer.alloc(0);
    return Buffer.from(Array.from({ length: r < 0.97 ? int(64) : 1500 }, () => int(256)));
  };
  const ALICE: records.ACL[] = [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestId('alice', 'secret') } }];
  const BOB: records.ACL[] = [{ perms: Perms.READ | Perms.WRITE, id: { scheme: 'digest', id: digestId('bob', 'pw') } }];
  const AUTH: records.ACL[] = [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }];
  const MIXED: records.ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }, ...ALICE];
  const ACLS = [OPEN_ACL, OPEN_ACL, OPEN_ACL, ALICE, AUTH, MIXED, BOB];
  const WRITABLE = [OPEN_ACL, OPEN_ACL, ALICE, AUTH, MIXED]; // alice may write these

  await a.create('/app', data(), OPEN_ACL, 0);
  expect((await a.create('/app/grüße-€', data(), OPEN_ACL, 0)).err).toBe(0);
  const dirs = Array.from({ length: 40 }, (_, i) => `/app/d${i}`);
  await Promise.all(dirs.map((d) => a.create(d, data(), pick(WRITABLE), 0, { op: pick([1, 15] as const) })));
  const persistent: Promise<{ err: number; path?: string }>[] = [];
  const creates: Promise<{ err: number; path?: string }>[] = [];
  const liveEph: Promise<{ err: number; path?: string }>[] = [];
  for (const d of dirs) {
    for (let j = 0; j < 60; j++) {
      const r = rand();
      if (r < 0.4) persistent.push(a.create(`${d}/p${j}`, data(), pick(WRITABLE), 0, { op: pick([1, 15] as const) }));
      else if (r < 0.5) persistent.push(a.create(`${d}/s-`, data(), pick(WRITABLE), 2));
      else if (r < 0.53) creates.push(a.create(`${d}/acl${j}`, data(), pick(ACLS), 0));
      else if (r < 0.6) creates.push(a.create(`${d}/c${j}`, data(), OPEN_ACL, 4), a.create(`${d}/c${j}/x`, data(), OPEN_ACL, 0), a.create(`${d}/c${j}/y`, data(), OPEN_ACL, 2));
      else if (r < 0.67) creates.push(a.create(`${d}/t${j}`, data(), pick(WRITABLE), pick([5, 6]), { ttl: 3_600_000 }));
      else if (r < 0.85) liveEph.push(b.create(`${d}/e${j}`, data(), pick(ACLS), pick([1, 3])));
      else creates.push(c.create(`${d}/ce${j}`, data(), OPEN_ACL, pick([1, 3])));
    }
  }
  await Promise.all(creates);
  const liveEphemerals = (await Promise.all(liveEph)).filter((r) => r.err === 0).map((r) => r.path!);
  const leaves = (await Promise.all(persistent)).filter((r) => r.err === 0).map((r) => r.path!);
  expect(leaves.length).toBeGreaterThan(500);

  const ops: Promise<unknown>[] = [];
  for (let i = 0; i < 600; i++) ops.push(a.setData(pick(leaves), data(), rand() < 0.1 ? 7 : -1));
  for (let i = 0; i < 80; i++) ops.push(a.setACL(pick(leaves), pick(WRITABLE), rand() < 0.1 ? 5 : -1));
  for (let i = 0; i < 30; i++) ops.push(a.setData(pick(dirs), data()));
  const deleted = new Set<string>();
  for (let i = 0; i < 150; i++) {
    const p = pick(leaves);
    if (!deleted.has(p)) {
      deleted.add(p);
      ops.push(a.delete(p));
    }
  }
  for (let k = 0; k < 80; k++) {
    const m: MultiOp[] = [
      { type: OpCode.create, req: { path: `/app/m${k}`, data: data(), acl: OPEN_ACL, flags: 0 } },
      { type: OpCode.setData, req: { path: `/app/m${k}`, data: data(), version: 0 } },
      { type: OpCode.check, req: { path: `/app/m${k}`, version: 1 } },
      { type: OpCode.create2, req: { path: `/app/m${k}/x`, data: data(), acl: OPEN_ACL, flags: 2 } },
      { type: OpCode.createContainer, req: { path: `/app/m${k}/c`, data: null, acl: OPEN_ACL, flags: 4 } },
      { type: OpCode.createTTL, req: { path: `/app/m${k}/t`, data: null, acl: OPEN_ACL, flags: 5, ttl: 3_600_000 } },
      { type: OpCode.delete, req: { path: `/app/m${k}/x0000000000`, version: -1 } },
    ];
    if (k % 3 === 0) m.push({ type: OpCode.delete, req: { path: pick(dirs) + '/nonexistent', version: -1 } }); // fails the multi
    ops.push(a.multi(m));
  }
  for (let i = 0; i < 30; i++) ops.push(a.create(pick(dirs), null, OPEN_ACL, 0)); // NODEEXISTS
  for (let i = 0; i < 10; i++) ops.push(a.delete(pick(dirs))); // NOTEMPTY
  for (let i = 0; i < 10; i++) ops.push(a.setData('/app/nonexistent', null)); // NONODE
  await Promise.all(ops);
  await c.close(); // closeSession deleting c's ephemerals
  const d = await RawClient.connect(port);
  await d.close(); // a session with nothing to delete
  return { sessions: { live: b, liveTimeout, others: [a] }, liveEphemerals };
}

const countKinds = (view: Map<string, NodeView>) => {
  let ephemeral = 0;
  for (const v of view.values()) if (v.stat.ephemeralOwner !== 0n) ephemeral++;
  return { nodes: view.size, ephemeral };
};

describe.skipIf(skipWithout(ZOOKEEPER, DIST))('a dataDir moved between Apache ZooKeeper 3.8 and zkts', () => {
  it('(a) zkts serves exactly the tree of the dataDir ZooKeeper wrote, then expires its dead session', async () => {
    const dataDir = join(work, 'from-zookeeper');
    const zk = await zookeeper(dataDir, ['zookeeper.snapCount=600']);
    const { sessions, liveEphemerals } = await workload(zk.port, 11);
    const before = await dumpAll(zk.port);
    await zk.stop('SIGKILL');
    sessions.live.drop();
    for (const s of sessions.others) s.drop();
    const { logs, snapshots } = await listDataDir(join(dataDir, 'version-2'));
    console.log(`ZooKeeper served ${JSON.stringify(countKinds(before))}, wrote ${logs.length} logs and ${snapshots.length} snapshots`);
    expect(logs.length).toBeGreaterThan(1);
    expect(snapshots.length).toBeGreaterThan(1);
    expect(before.size).toBeGreaterThan(2000);
    expect(liveEphemerals.length).toBeGreaterThan(100);

    const s = await zkts(dataDir);
    const after = await dumpAll(s.port);
    expectSameTree(after, before, 'zkts on ZooKeeper\'s dataDir');
    for (const p of liveEphemerals) expect(after.get(p)?.stat.ephemeralOwner, p).toBe(sessions.live.sessionId);
    expect(warnings(s.logs()), 'zkts had nothing to warn about').toEqual([]);

    // Nobody comes back for the live session: zkts expires it, and its ephemerals go.
    const deadline = Date.now() + sessions.liveTimeout + 2 * 2000 + 5000;
    const v = await RawClient.connect(s.port);
    expect((await v.addAuth('digest', 'super:secret')).err).toBe(0);
    for (;;) {
      const r = await v.getData(liveEphemerals[0]!);
      if (r.err !== 0) break;
      if (Date.now() > deadline) throw new Error(`the dead session's ephemerals are still there after ${sessions.liveTimeout} ms`);
      await new Promise((res) => setTimeout(res, 250));
    }
    const expired = await dumpAll(s.port);
    expect([...expired.values()].filter((n) => n.stat.ephemeralOwner === sessions.live.sessionId)).toEqual([]);
    expect(expired.size).toBe(before.size - liveEphemerals.length);
    v.drop();
    await s.kill('SIGTERM');
  }, 120_000);

  it('a live session re-attaches with its id and password after its dataDir moved, both ways, and keeps its ephemerals', async () => {
    // ZooKeeper never stores passwords: it recomputes them from the session id, and so must zkts.
    const dataDir = join(work, 'session-moves');
    const zk = await zookeeper(dataDir);
    const owner = await RawClient.connect(zk.port, 30_000);
    const ephemerals: string[] = [];
    for (let i = 0; i < 31; i++) {
      const r = await owner.create(`/e${i}`, Buffer.from(`v${i}`), OPEN_ACL, 1);
      expect(r.err).toBe(0);
      ephemerals.push(r.path!);
    }
    const session = { id: owner.sessionId, passwd: owner.passwd };
    await zk.stop('SIGKILL');
    owner.drop();

    const s = await zkts(dataDir);
    const onZkts = await RawClient.connect(s.port, 30_000, session);
    expect(onZkts.sessionId).toBe(session.id);
    expect(onZkts.passwd.equals(session.passwd), 'zkts hands out the password ZooKeeper computed').toBe(true);
    for (const p of ephemerals) expect((await onZkts.getData(p)).stat?.ephemeralOwner, p).toBe(session.id);
    await s.kill('SIGTERM');
    onZkts.drop();

    const back = await zookeeper(dataDir);
    const onZk = await RawClient.connect(back.port, 30_000, session);
    expect(onZk.sessionId).toBe(session.id);
    for (const p of ephemerals) expect((await onZk.getData(p)).stat?.ephemeralOwner, p).toBe(session.id);
    // A session zkts created moves to ZooKeeper too.
    const zktsOwn = await zkts(join(work, 'session-moves-2'));
    const mine = await RawClient.connect(zktsOwn.port, 30_000);
    expect((await mine.create('/mine', null, OPEN_ACL, 1)).err).toBe(0);
    const mineSession = { id: mine.sessionId, passwd: mine.passwd };
    await zktsOwn.kill('SIGKILL');
    mine.drop();
    const zk2 = await zookeeper(join(work, 'session-moves-2'));
    const again = await RawClient.connect(zk2.port, 30_000, mineSession);
    expect((await again.getData("/mine")).stat?.ephemeralOwner).toBe(mineSession.id);
    onZk.drop();
    again.drop();
    await back.stop('SIGTERM');
    await zk2.stop('SIGTERM');
  }, 120_000);

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`(b) ZooKeeper serves exactly the tree of the dataDir zkts wrote and stopped with ${signal}`, async () => {
      const dataDir = join(work, `from-zkts-${signal}`);
      const s = await zkts(dataDir, ['snapCount=600', 'preAllocSize=256']);
      const { sessions, liveEphemerals } = await workload(s.port, signal === 'SIGTERM' ? 12 : 13);
      const before = await dumpAll(s.port);
      const exit = await s.kill(signal);
      if (signal === 'SIGTERM') expect(exit.code, s.output()).toBe(0);
      sessions.live.drop();
      for (const c of sessions.others) c.drop();
      const { logs, snapshots } = await listDataDir(join(dataDir, 'version-2'));
      const names = readdirSync(join(dataDir, 'version-2'));
      console.log(`zkts (${signal}) served ${JSON.stringify(countKinds(before))} and left ${names.join(' ')}`);
      expect(logs.length).toBeGreaterThan(1);
      expect(snapshots.filter((f) => !f.name.endsWith('.tmp')).length).toBeGreaterThan(1);

      const zk = await zookeeper(dataDir);
      const after = await dumpAll(zk.port);
      expectSameTree(after, before, `ZooKeeper on zkts's dataDir (${signal})`);
      for (const p of liveEphemerals) expect(after.get(p)?.stat.ephemeralOwner, p).toBe(sessions.live.sessionId);
      expect(await zk.fourLetter('mntr')).toMatch(/zk_digest_mismatches_count\s+0\b/);
      expect(zk.output()).not.toMatch(/[Dd]igest.*(mismatch|not matching)/);
      // ZooKeeper's own start-up race is not about the data: a four-letter word (the launcher polls
      // srvr) answered before its database is loaded logs an NPE closing that socket.
      const errors = zk.output().split('\n').filter((l) => /ERROR/.test(l) && !/Error closing a command socket/.test(l));
      expect(errors).toEqual([]);
      await zk.stop('SIGTERM');
    }, 120_000);
  }

  it('(b) ZooKeeper and zkts recover the same tree from a zkts killed while writing a snapshot', async () => {
    const dataDir = join(work, 'from-zkts-mid-snapshot');
    const v2 = join(dataDir, 'version-2');
    const s = await zkts(dataDir, ['snapCount=600', 'preAllocSize=256']);
    const { sessions } = await workload(s.port, 14);
    // More writes until a snapshot begins, and SIGKILL as soon as its temp file appears.
    let stop = false;
    const killed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no snapshot began within 30 s')), 30_000);
      const w = watch(v2, (_event, name) => {
        if (name && name.toString().endsWith('.inprogress.tmp') && existsSync(join(v2, name.toString()))) {
          s.process.kill('SIGKILL');
          stop = true;
          w.close();
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const a = sessions.others[0]!;
    expect((await a.create('/zz', null, OPEN_ACL, 0)).err).toBe(0);
    const writer = (async () => {
      while (!stop) await Promise.all(Array.from({ length: 50 }, (_, i) => a.setData('/zz', Buffer.from(String(i)))));
    })();
    await killed;
    await s.exited;
    await writer;
    sessions.live.drop();
    a.drop();
    const names = readdirSync(v2);
    console.log(`zkts killed ${names.some((n) => n.endsWith('.tmp')) ? 'while' : 'just after'} writing a snapshot, leaving ${names.join(' ')}`);

    // zkts recovers a copy (its recovery may truncate a torn tail), ZooKeeper the original.
    const copy = join(work, 'from-zkts-mid-snapshot-copy');
    cpSync(dataDir, copy, { recursive: true });
    const z = await zkts(copy);
    const want = await dumpAll(z.port);
    await z.kill('SIGKILL');
    const zk = await zookeeper(dataDir);
    expectSameTree(await dumpAll(zk.port), want, 'ZooKeeper and zkts on the dataDir of a zkts killed mid-snapshot');
    expect(await zk.fourLetter('mntr')).toMatch(/zk_digest_mismatches_count\s+0\b/);
    await zk.stop('SIGTERM');
  }, 120_000);

  // Apache ZooKeeper refuses a dataDir with logs and no snapshot ("No snapshot found, but there are
  // log entries. Something is broken!"); like ZooKeeper, zkts writes snapshot.0 when it starts on an
  // empty dataDir, so that even a zkts that crashes before its first periodic snapshot leaves a
  // dataDir ZooKeeper starts on.
  it('(b) ZooKeeper starts on the dataDir of a zkts that crashed before its first snapshot', async () => {
    const dataDir = join(work, 'from-zkts-no-snapshot');
    const s = await zkts(dataDir);
    const c = await RawClient.connect(s.port);
    for (let i = 0; i < 20; i++) expect((await c.create(`/n${i}`, Buffer.from(`v${i}`), OPEN_ACL, 0)).err).toBe(0);
    const before = await dumpAll(s.port);
    await s.kill('SIGKILL');
    c.drop();
    console.log(`zkts crashed leaving ${readdirSync(join(dataDir, 'version-2')).join(' ')}`);
    const zk = await zookeeper(dataDir);
    expectSameTree(await dumpAll(zk.port), before, 'ZooKeeper on a zkts dataDir without a snapshot');
    await zk.stop('SIGTERM');
  }, 60_000);
});
