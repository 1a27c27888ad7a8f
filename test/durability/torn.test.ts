/**
 * Damaged data dirs: what zkts does at start with a torn or corrupt transaction log, a corrupt
 * newest snapshot, a gap in the zxids, and a data dir it cannot write.
 *
 * The logs are written by a real zkts (killed with SIGKILL, so that no clean-shutdown snapshot
 * covers them) and read back with readLogFile before being damaged, so that the test knows where
 * every entry starts and ends. The tree zkts must serve afterwards is computed independently: the
 * txns of the entries before the damage applied to a fresh DataTree, compared through a client
 * (data, ACL and every Stat field of every path).
 *
 * TORN_CASES (default 6) sets the number of cases of each kind of log damage; TORN_SEED the seed.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { DataTree } from '../../src/datatree/index.js';
import { KeeperError, OpCode, Perms } from '../../src/jute/index.js';
import { listDataDir, readLogFile, type LogEntry } from '../../src/zab/index.js';
import { clientStat, prng } from '../zab/helpers.js';
import { dumpViaClient, RawClient, type NodeView } from '../zab/raw-client.js';
import { startZkts, startZktsExpectingFailure, warnings, type ZktsOptions, type ZktsProcess } from './launcher.js';

const CASES = Number(process.env.TORN_CASES ?? 6);
const SEED = Number(process.env.TORN_SEED ?? Math.floor(Math.random() * 2 ** 31));
const work = mkdtempSync(join(tmpdir(), 'zkts-torn-'));
const running = new Set<ZktsProcess>();

afterAll(async () => {
  for (const s of running) await s.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** zkts on `dataDir`, with small preallocation and no snapshot before the shutdown unless asked. */
async function start(dataDir: string, extra: Partial<ZktsOptions> = {}): Promise<ZktsProcess> {
  const s = await startZkts({ workDir: work, dataDir, cfg: ['preAllocSize=64', 'snapCount=1000000'], cfgName: `zoo-${Date.now()}-${Math.random()}.cfg`, ...extra });
  running.add(s);
  void s.exited.then(() => running.delete(s));
  return s;
}

const READ_ONLY = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];

/** A mix of writes under /<tag> (some failing: those are error txns in the log too). The session stays open. */
async function writeSome(port: number, tag: string, n: number, rand: () => number): Promise<void> {
  const c = await ZkClient.connect({ port, timeout: 40_000 });
  const ignore = (e: unknown) => {
    if (!(e instanceof KeeperError)) throw e;
  };
  await c.create(`/${tag}`, Buffer.from(tag)).catch(ignore);
  const int = (k: number) => Math.floor(rand() * k);
  const data = () => Buffer.from(`${tag}-${int(1e9)}-`.padEnd(int(300), 'z'));
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const p = `/${tag}/n${int(n / 3)}`;
    if (r < 0.35) batch.push(c.create(p, data(), rand() < 0.1 ? READ_ONLY : undefined));
    else if (r < 0.45) batch.push(c.create(`/${tag}/s-`, data(), undefined, 2));
    else if (r < 0.5) batch.push(c.create(`/${tag}/e${i}`, data(), undefined, 1));
    else if (r < 0.7) batch.push(c.setData(p, data(), rand() < 0.2 ? int(3) : -1));
    else if (r < 0.85) batch.push(c.delete(p));
    else {
      batch.push(
        c.multi([
          { type: OpCode.create, req: { path: `/${tag}/m${i}`, data: data(), acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }], flags: 0 } },
          { type: OpCode.setData, req: { path: `/${tag}/m${i}`, data: data(), version: rand() < 0.8 ? 0 : 5 } },
        ]),
      );
    }
    if (batch.length >= 8) await Promise.all(batch.splice(0).map((p) => p.catch(ignore)));
  }
  await Promise.all(batch.map((p) => p.catch(ignore)));
  c.disconnect(); // the session lives on: its ephemerals stay
}

async function dump(port: number): Promise<Map<string, NodeView>> {
  const v = await RawClient.connect(port, 40_000);
  try {
    return await dumpViaClient(v);
  } finally {
    await v.close();
  }
}

/** The tree as a client of `tree` would see it, next to what the server served. */
function expectServes(view: Map<string, NodeView>, tree: DataTree, what: string): void {
  expect([...view.keys()].sort(), `${what}: paths`).toEqual([...tree.paths()].sort());
  for (const [path, seen] of view) {
    const node = tree.getNode(path)!;
    expect(seen, `${what}: ${path}`).toEqual({ data: node.data === null ? null : node.data.toString('hex'), stat: clientStat(tree, path), acl: tree.aclOf(node) });
  }
}

/** Whether the bytes at an entry's start read as the normal end of a log (ZooKeeper: a zero length, or only zeros left). */
function readsAsEnd(file: Buffer, at: number): boolean {
  const tail = file.subarray(at);
  if (tail.length === 0) return true;
  if (tail.length < 12) return tail.every((b) => b === 0);
  return tail.readInt32BE(8) === 0;
}

interface LogSet {
  dir: string;
  logs: { name: string; entries: LogEntry[]; bytes: Buffer }[];
}

async function readLogs(dataDir: string): Promise<LogSet> {
  const dir = join(dataDir, 'version-2');
  const { logs, snapshots } = await listDataDir(dir);
  expect(snapshots, 'no snapshots in this data dir').toEqual([]);
  const out: LogSet = { dir, logs: [] };
  for (const f of logs) {
    const r = await readLogFile(f.path);
    expect(r.end.kind, `${f.name} ends cleanly`).toBe('padding');
    out.logs.push({ name: f.name, entries: r.entries, bytes: readFileSync(f.path) });
  }
  return out;
}

/** The tree after every txn of the logs but the last, and the last's entries before `boundary`. */
function treeUpTo(set: LogSet, boundary: number): DataTree {
  const tree = new DataTree({ extendedTypesEnabled: false });
  set.logs.forEach((l, i) => {
    for (const e of l.entries) if (i < set.logs.length - 1 || e.offset + e.size <= boundary) tree.apply(e.txn);
  });
  return tree;
}

describe('a torn or corrupt log tail', () => {
  const base = join(work, 'base');
  let set: LogSet;

  beforeAll(async () => {
    // Two runs, each ended by SIGKILL: two log files, the second the one to damage.
    const rand = prng(SEED);
    for (const tag of ['first', 'second']) {
      const s = await start(base);
      await writeSome(s.port, tag, tag === 'first' ? 150 : 400, rand);
      await s.kill('SIGKILL');
    }
    set = await readLogs(base);
    expect(set.logs.length).toBe(2);
    console.log(`torn-log cases: seed ${SEED} (TORN_SEED=${SEED} repeats them); the last log has ${set.logs[1]!.entries.length} entries`);
  }, 60_000);

  type Damage = { kind: 'truncate' | 'zero-fill' | 'flip'; at: number; xor?: number };

  /** Damages a copy of the base dir, starts zkts on it, and checks what it serves and says. */
  async function check(damage: Damage, i: number, thenContinue: boolean): Promise<{ warned: boolean; dropped: number }> {
    const dataDir = join(work, `case-${damage.kind}-${i}`);
    cpSync(base, dataDir, { recursive: true });
    const last = set.logs.at(-1)!;
    const path = join(dataDir, 'version-2', last.name);
    const entries = last.entries;
    const writtenEnd = entries.at(-1)!.offset + entries.at(-1)!.size;
    let file = Buffer.from(last.bytes);
    if (damage.kind === 'truncate') file = file.subarray(0, damage.at);
    else if (damage.kind === 'zero-fill') file.fill(0, damage.at, writtenEnd);
    else file[damage.at]! ^= damage.xor!;
    writeFileSync(path, file);
    // The first entry not intact, and where it starts.
    const firstBad = entries.findIndex((e) => damage.at < e.offset + e.size);
    const boundary = firstBad < 0 ? writtenEnd : entries[firstBad]!.offset;
    const expectWarning = firstBad >= 0 && !readsAsEnd(file, boundary);
    const what = `${damage.kind} at byte ${damage.at}${damage.xor ? ` (xor 0x${damage.xor.toString(16)})` : ''} of ${last.name} (entries end at ${writtenEnd}; entry ${firstBad} starts at ${boundary})`;

    const s = await start(dataDir);
    const warned = warnings(s.logs()).filter((m) => m.includes(path) && m.includes(`offset ${boundary}`));
    if (expectWarning) expect(warned, `${what}: a warning naming the file and offset ${boundary}; got ${JSON.stringify(warnings(s.logs()))}`).toHaveLength(1);
    else expect(warnings(s.logs()), `${what}: reads as a clean end, nothing to warn about`).toEqual([]);
    const expected = treeUpTo(set, boundary);
    const view = await dump(s.port);
    expectServes(view, expected, what);

    if (thenContinue) {
      // The server goes on from there: new writes, a crash, and they are all there after a restart.
      await writeSome(s.port, `after-${i}`, 30, prng(SEED + i));
      const before = await dump(s.port);
      await s.kill('SIGKILL');
      const again = await start(dataDir);
      expect(warnings(again.logs()), `${what}: second restart`).toEqual([]);
      expect(await dump(again.port), `${what}: after writes on the recovered log, a crash and a restart`).toEqual(before);
      await again.kill('SIGKILL');
    } else {
      await s.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
    return { warned: warned.length > 0, dropped: firstBad < 0 ? 0 : entries.length - firstBad };
  }

  it(`truncated at random offsets (${CASES} cases), as a crash mid-append leaves a file`, async () => {
    const rand = prng(SEED + 100);
    const last = () => set.logs.at(-1)!;
    const writtenEnd = () => last().entries.at(-1)!.offset + last().entries.at(-1)!.size;
    const cases: number[] = [];
    // Mostly in the last few entries (the torn tail of a crash), some anywhere.
    for (let i = 0; i < CASES; i++) {
      const e = last().entries;
      if (i % 3 === 2) cases.push(16 + Math.floor(rand() * (writtenEnd() - 16)));
      else {
        const entry = e[e.length - 1 - Math.floor(rand() * Math.min(5, e.length))]!;
        cases.push(entry.offset + 1 + Math.floor(rand() * (entry.size - 1)));
      }
    }
    let warned = 0;
    let dropped = 0;
    for (const [i, at] of cases.entries()) {
      const r = await check({ kind: 'truncate', at }, i, i % 3 === 0);
      warned += r.warned ? 1 : 0;
      dropped += r.dropped;
    }
    console.log(`truncation: ${cases.length} cases, ${warned} warned, ${dropped} partial or later entries dropped in all`);
    expect(warned).toBeGreaterThan(0);
  }, 30_000 + CASES * 5_000);

  it(`zero-filled from random offsets on (${CASES} cases), as a torn write into preallocated space`, async () => {
    const rand = prng(SEED + 200);
    const e = set.logs.at(-1)!.entries;
    let warned = 0;
    for (let i = 0; i < CASES; i++) {
      const entry = e[e.length - 1 - Math.floor(rand() * Math.min(5, e.length))]!;
      const r = await check({ kind: 'zero-fill', at: entry.offset + 1 + Math.floor(rand() * (entry.size - 1)) }, i, i % 3 === 1);
      warned += r.warned ? 1 : 0;
    }
    expect(warned).toBeGreaterThan(0);
  }, 30_000 + CASES * 5_000);

  it(`with a flipped byte in one of its last entries (${CASES} cases)`, async () => {
    const rand = prng(SEED + 300);
    const e = set.logs.at(-1)!.entries;
    let warned = 0;
    for (let i = 0; i < CASES; i++) {
      const entry = e[e.length - 1 - Math.floor(rand() * Math.min(5, e.length))]!;
      // Every part of an entry: the crc, the length, the payload and the end-of-record byte.
      const at = i % 4 === 0 ? entry.offset + Math.floor(rand() * 12) : i % 4 === 1 ? entry.offset + entry.size - 1 : entry.offset + 12 + Math.floor(rand() * (entry.size - 13));
      const r = await check({ kind: 'flip', at, xor: 1 + Math.floor(rand() * 255) }, i, i % 3 === 2);
      warned += r.warned ? 1 : 0;
    }
    expect(warned).toBeGreaterThan(0);
  }, 30_000 + CASES * 5_000);
});

describe('snapshots', () => {
  it('falls back to the previous snapshot when the newest is corrupt or cut short', async () => {
    const dataDir = join(work, 'snaps');
    const v2 = join(dataDir, 'version-2');
    const rand = prng(SEED + 400);
    // snapshot.0 at the first start (as ZooKeeper writes it), then two clean shutdowns: two more
    // snapshots, the logs under them kept.
    let s = await start(dataDir);
    await writeSome(s.port, 'one', 200, rand);
    expect((await s.kill('SIGTERM')).code).toBe(0);
    s = await start(dataDir);
    await writeSome(s.port, 'two', 200, rand);
    const expected = await dump(s.port);
    expect((await s.kill('SIGTERM')).code).toBe(0);
    const { snapshots } = await listDataDir(v2);
    expect(snapshots.map((f) => f.zxid).at(-1)).toBe(0);
    expect(snapshots.length).toBe(3);
    const newest = snapshots[0]!;
    const original = readFileSync(newest.path);
    const originalLogs = new Set((await listDataDir(v2)).logs.map((l) => l.name));

    const damages: [string, (b: Buffer) => Buffer][] = [
      ['a flipped byte in a node', (b) => { const c = Buffer.from(b); c[Math.floor(b.length / 2)]! ^= 0x20; return c; }],
      ['a flipped byte in the seal', (b) => { const c = Buffer.from(b); c[b.length - 8]! ^= 0x01; return c; }],
      ['cut in half', (b) => b.subarray(0, Math.floor(b.length / 2))],
      ['cut before its digest', (b) => b.subarray(0, b.length - 20)],
      ['empty', () => Buffer.alloc(0)],
    ];
    for (const [what, damage] of damages) {
      writeFileSync(newest.path, damage(original));
      const r = await start(dataDir);
      const w = warnings(r.logs());
      expect(w.some((m) => m.includes(newest.path) && /snapshot/.test(m)), `${what}: a warning naming ${newest.name}; got ${JSON.stringify(w)}`).toBe(true);
      const recovered = r.logs().find((l) => l.msg === 'data recovered')!;
      expect(recovered.snapshot, what).toBe(snapshots[1]!.path);
      expect(await dump(r.port), `${what}: the tree, from the older snapshot and the logs`).toEqual(expected);
      await r.kill('SIGKILL');
      // That restart wrote a log (its client's session) but no snapshot: put the dir back as it was.
      for (const f of (await listDataDir(v2)).logs) if (!originalLogs.has(f.name)) unlinkSync(f.path);
    }
    // Whole again, it is the snapshot loaded.
    writeFileSync(newest.path, original);
    const r = await start(dataDir);
    expect(warnings(r.logs())).toEqual([]);
    expect(r.logs().find((l) => l.msg === 'data recovered')!.snapshot).toBe(newest.path);
    expect(await dump(r.port)).toEqual(expected);
    await r.kill('SIGKILL');
  }, 90_000);
});

describe('refusing to start', () => {
  it('on a gap in the zxids (a middle log file missing), naming the files', async () => {
    const dataDir = join(work, 'gap');
    const v2 = join(dataDir, 'version-2');
    const rand = prng(SEED + 500);
    for (const tag of ['a', 'b', 'c']) {
      const s = await start(dataDir);
      await writeSome(s.port, tag, 60, rand);
      await s.kill('SIGKILL');
    }
    const { logs } = await listDataDir(v2);
    expect(logs.length).toBe(3);
    unlinkSync(logs[1]!.path);
    const r = await startZktsExpectingFailure({ workDir: work, dataDir, cfg: ['preAllocSize=64'] });
    expect(r.listened, r.output).toBe(false);
    expect(r.code, r.output).not.toBe(0);
    expect(r.code).not.toBeNull();
    const errors = r.logs.filter((l) => l.level >= 50).map((l) => l.msg);
    expect(errors.some((m) => /gap/.test(m) && m.includes(logs[2]!.path) && m.includes(logs[0]!.path)), `an error naming ${logs[0]!.name} and ${logs[2]!.name}: ${r.output}`).toBe(true);
  }, 60_000);

  it('when the dataDir cannot be created (a path under a regular file), naming the dir', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'not a directory');
    const dataDir = join(file, 'data');
    const r = await startZktsExpectingFailure({ workDir: work, dataDir });
    expect(r.listened, r.output).toBe(false);
    expect(r.code, r.output).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.output).toContain(dataDir);
    expect(r.logs.some((l) => l.level >= 50), r.output).toBe(true);
  });

  it('when the dataLogDir cannot be created, naming the dir', async () => {
    const file = join(work, 'another-file');
    writeFileSync(file, 'not a directory');
    const dataLogDir = join(file, 'txnlogs');
    const r = await startZktsExpectingFailure({ workDir: work, dataDir: join(work, 'fine-data'), dataLogDir });
    expect(r.listened, r.output).toBe(false);
    expect(r.code, r.output).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.output).toContain(dataLogDir);
  });

  it.skipIf(process.getuid?.() === 0)('when the dataDir is not writable (chmod 500; root ignores modes)', async () => {
    const dataDir = join(work, 'read-only');
    mkdirSync(dataDir, { mode: 0o500 });
    const r = await startZktsExpectingFailure({ workDir: work, dataDir });
    expect(r.listened, r.output).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(dataDir);
  });
});
