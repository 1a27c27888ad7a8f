/**
 * Recovery, as a property (in-process, no servers): random valid txn sequences (every txn type:
 * sessions, every kind of create, deletes, setData, setACL, multis, error txns) are applied to a
 * DataTree and appended to a FileTxnLog, with snapshots written at random points (some while txns
 * go on being applied and logged, a chunk per event-loop turn), log rolls, log reopenings (a
 * restart), leftover temp files of interrupted snapshots, and sometimes a torn log tail. recover()
 * from the dir must give exactly the live tree (every path's data, ACL and full Stat, the ACL
 * cache's counts, sessions, ephemerals, containers, TTL nodes), or the tree at the last whole txn
 * when the tail was torn. Each snapshot must also be exactly the tree at its zxid, with a digest
 * that matches its nodes; and Persistence.purge must leave a dir that recovers the same.
 *
 * RECOVERY_RUNS (default 40) sets the number of runs.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import type { DataTree } from '../../src/datatree/index.js';
import {
  encodeLogFileHeader,
  FileTxnLog,
  listDataDir,
  Persistence,
  readLogFile,
  readSnapshotFile,
  recover,
  snapshotFileName,
  writeSnapshotFile,
  type SnapshotSummary,
} from '../../src/zab/index.js';
import { dumpTree, prng, TxnGen } from '../zab/helpers.js';

const RUNS = Number(process.env.RECOVERY_RUNS ?? 40);
const work = mkdtempSync(join(tmpdir(), 'zkts-recovery-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type EventKind = 'snapshot' | 'snapshot-concurrent' | 'roll' | 'reopen' | 'tmp-leftover';
interface Scenario {
  seed: number;
  txns: number;
  ttl: boolean;
  /** The first zxid: epoch 0 or a later epoch. */
  epoch: number;
  separateLogDir: boolean;
  preAllocSize: number;
  events: { at: number; kind: EventKind }[];
  /** Cut the last log file inside its last entries (a crash mid-append), at this fraction of an entry. */
  tear: number | null;
  purge: number | null;
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    seed: fc.integer(),
    txns: fc.integer({ min: 1, max: 350 }),
    ttl: fc.boolean(),
    epoch: fc.constantFrom(0, 0, 5),
    separateLogDir: fc.boolean(),
    preAllocSize: fc.constantFrom(0, 1024, 65536),
    events: fc.array(
      fc.record({ at: fc.nat(350), kind: fc.constantFrom<EventKind>('snapshot', 'snapshot-concurrent', 'snapshot-concurrent', 'roll', 'reopen', 'tmp-leftover') }),
      { maxLength: 12 },
    ),
    tear: fc.option(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { freq: 3 }),
    purge: fc.option(fc.integer({ min: 3, max: 5 }), { freq: 3 }),
  })
  .map((s) => ({ ...s, events: s.events.filter((e) => e.at < s.txns).sort((a, b) => a.at - b.at) }));

/** The generator's tree after its first `count` txns (the generator is deterministic for a seed). */
function treeAfter(s: Scenario, count: number): DataTree {
  const gen = newGen(s);
  for (let i = 0; i < count; i++) gen.next();
  return gen.tree;
}

function newGen(s: Scenario): TxnGen {
  return new TxnGen(prng(s.seed), { ttl: s.ttl, zxid0: s.epoch * 2 ** 32 + 1, time0: 1_700_000_000_000 });
}

let runNo = 0;
const totals = { runs: 0, txns: 0, snapshots: 0, txnsDuringSnapshots: 0, tornTails: 0, purgedFiles: 0 };

async function run(s: Scenario): Promise<void> {
  const dir = join(work, `run-${++runNo}`);
  const snapDir = join(dir, 'data', 'version-2');
  const logDir = s.separateLogDir ? join(dir, 'log', 'version-2') : snapDir;
  mkdirSync(snapDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const failures: Error[] = [];
  const newLog = () => new FileTxnLog({ dir: logDir, forceSync: false, preAllocSize: s.preAllocSize, onFailure: (e) => failures.push(e) });
  let log = newLog();
  const gen = newGen(s);
  const zxid0 = s.epoch * 2 ** 32 + 1;
  let durable = 0;
  let snapshot: Promise<SnapshotSummary & { path: string }> | undefined;
  const snapshots: (SnapshotSummary & { path: string })[] = [];
  const snap = (chunkSize?: number) =>
    writeSnapshotFile((zxid) => join(snapDir, snapshotFileName(zxid)), gen.tree, { fsync: false, ...(chunkSize ? { chunkSize } : {}) }).then((r) => {
      snapshots.push(r);
      totals.txnsDuringSnapshots += gen.tree.lastProcessedZxid - r.zxid;
      return r;
    });

  let e = 0;
  for (let i = 0; i < s.txns; i++) {
    log.append(gen.next(), () => durable++);
    for (; e < s.events.length && s.events[e]!.at === i; e++) {
      switch (s.events[e]!.kind) {
        case 'snapshot':
          await snapshot;
          log.roll();
          await snap();
          break;
        case 'snapshot-concurrent':
          // Written a small chunk per event-loop turn while the next txns are applied and logged.
          await snapshot;
          log.roll();
          snapshot = snap(200);
          break;
        case 'roll':
          log.roll();
          break;
        case 'reopen':
          await log.close();
          log = newLog();
          break;
        case 'tmp-leftover':
          // What a crash during a snapshot leaves (never while one is being written: it is that file).
          await snapshot;
          writeFileSync(join(snapDir, 'snapshot.0.inprogress.tmp'), Buffer.from('ZKSN half a snapshot'));
          break;
      }
    }
    if (snapshot) await new Promise((r) => setImmediate(r));
  }
  await snapshot;
  await log.close();
  expect(failures).toEqual([]);
  expect(durable).toBe(s.txns);

  // Every snapshot is exactly the tree at its zxid, and its digest matches its nodes.
  for (const sn of snapshots) {
    const loaded = await readSnapshotFile(sn.path, { extendedTypesEnabled: s.ttl, verifyDigest: true });
    expect(loaded.digestMatches, `digest of ${sn.path}`).toBe(true);
    expect(dumpTree(loaded.tree), `${sn.path} is the tree at its zxid`).toEqual(dumpTree(treeAfter(s, sn.zxid - zxid0 + 1)));
  }

  // A crash mid-append: the last log cut inside one of its last entries (after the newest snapshot).
  let expectedCount = s.txns;
  let torn: { path: string; offset: number } | undefined;
  if (s.tear !== null) {
    const logs = (await listDataDir(logDir)).logs;
    const last = logs.at(-1)!;
    const entries = (await readLogFile(last.path)).entries;
    const newestSnap = Math.max(0, ...snapshots.map((x) => x.zxid));
    const candidates = entries.filter((en) => en.txn.zxid > newestSnap);
    if (candidates.length > 0) {
      const victim = candidates[Math.floor(s.tear * Math.min(3, candidates.length)) % candidates.length]!;
      const cut = victim.offset + 1 + Math.floor(s.tear * (victim.size - 1));
      const tail = readFileSync(last.path).subarray(victim.offset, cut);
      truncateSync(last.path, cut);
      expectedCount = victim.txn.zxid - zxid0;
      // Cut within its first bytes, all zeros (the crc's high half is), it reads as a clean end
      // (as in ZooKeeper): nothing to warn about.
      if (tail.length >= 12 || tail.some((b) => b !== 0)) torn = { path: last.path, offset: victim.offset };
    }
  }
  const expected = dumpTree(expectedCount === s.txns ? gen.tree : treeAfter(s, expectedCount));

  const recovered = await recover(snapDir, logDir, { extendedTypesEnabled: s.ttl });
  expect(recovered.tree.lastProcessedZxid).toBe(expectedCount === 0 ? 0 : zxid0 + expectedCount - 1);
  expect(dumpTree(recovered.tree)).toEqual(expected);
  totals.runs++;
  totals.txns += s.txns;
  totals.snapshots += snapshots.length;
  if (torn) {
    totals.tornTails++;
    expect(recovered.warnings).toHaveLength(1);
    expect(recovered.warnings[0]).toContain(torn.path);
    expect(recovered.warnings[0]).toContain(`offset ${torn.offset}`);
  } else {
    expect(recovered.warnings).toEqual([]);
  }
  // Recovery is idempotent: what it truncated stays truncated, and nothing is left to warn about.
  const again = await recover(snapDir, logDir, { extendedTypesEnabled: s.ttl });
  expect(again.warnings).toEqual([]);
  expect(dumpTree(again.tree)).toEqual(expected);

  if (s.purge !== null) {
    const before = { snaps: (await listDataDir(snapDir)).snapshots.length, logs: (await listDataDir(logDir)).logs.length };
    const log = { info() {}, warn() {}, error() {} };
    const { persistence } = await Persistence.open({
      dataDir: join(dir, 'data'),
      dataLogDir: s.separateLogDir ? join(dir, 'log') : join(dir, 'data'),
      forceSync: false,
      snapCount: 100_000,
      extendedTypesEnabled: s.ttl,
      snapRetainCount: s.purge,
      log,
      onFailure: (err) => failures.push(err),
    });
    const removed = await persistence.purge(s.purge);
    totals.purgedFiles += removed.length;
    const after = await recover(snapDir, logDir, { extendedTypesEnabled: s.ttl });
    expect(after.warnings).toEqual([]);
    expect(dumpTree(after.tree), `after purging ${removed.length} of ${before.snaps} snapshots and ${before.logs} logs`).toEqual(expected);
  }
  rmSync(dir, { recursive: true, force: true });
}

it(`recover() rebuilds exactly the live tree (${RUNS} random runs)`, async () => {
  await fc.assert(fc.asyncProperty(scenario, run), { numRuns: RUNS, ...(process.env.RECOVERY_SEED ? { seed: Number(process.env.RECOVERY_SEED) } : {}) });
  console.log(
    `recovery property: ${totals.runs} runs, ${totals.txns} txns, ${totals.snapshots} snapshots (${totals.txnsDuringSnapshots} txns applied while one was being written), ` +
      `${totals.tornTails} torn tails cut and reported, ${totals.purgedFiles} files purged`,
  );
  expect(totals.txnsDuringSnapshots).toBeGreaterThan(0);
}, 120_000);

it('recovers an empty dir as the empty tree, and a dir with only a log header', async () => {
  const dir = join(work, 'empty');
  mkdirSync(dir, { recursive: true });
  const r = await recover(dir, dir, { extendedTypesEnabled: false });
  expect(r.tree.lastProcessedZxid).toBe(0);
  expect(dumpTree(r.tree)).toEqual(dumpTree(treeAfter({ seed: 0, txns: 0, ttl: false, epoch: 0, separateLogDir: false, preAllocSize: 0, events: [], tear: null, purge: null }, 0)));
  // A log file created just before a crash, with its header only, or not even that.
  writeFileSync(join(dir, 'log.1'), encodeLogFileHeader());
  const r2 = await recover(dir, dir, { extendedTypesEnabled: false });
  expect(r2.warnings).toEqual([]);
  expect(r2.tree.lastProcessedZxid).toBe(0);
  writeFileSync(join(dir, 'log.1'), encodeLogFileHeader().subarray(0, 7));
  const r3 = await recover(dir, dir, { extendedTypesEnabled: false });
  expect(r3.warnings.join()).toContain(join(dir, 'log.1'));
  expect(r3.tree.lastProcessedZxid).toBe(0);
  expect((await listDataDir(dir)).logs).toEqual([]);
});
