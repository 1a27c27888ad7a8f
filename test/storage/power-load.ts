/**
 * One power-cut run, shared by the power-cut tests: a Persistence (recovery, group-committed log,
 * snapshots every few txns, log rolls, purges) on a simulated disk, under a random write load of
 * every txn type, with the power cut after a random number of disk operations (during recovery, an
 * append, a log roll, a snapshot or a purge, wherever that falls), several times in a row. After
 * each cut the disk is recovered and checked: every acknowledged txn is there, and the tree is
 * exactly the replay of the txns up to the last one recovered.
 *
 * A run is a pure function of its seed (the load, the cut points and what survives each cut come
 * from seeded PRNGs; the disk completes each operation in a later turn of the event loop), so a
 * failing seed replays.
 */
import { isDeepStrictEqual } from 'node:util';
import pino from 'pino';
import type { DataTree } from '../../src/datatree/index.js';
import { mkdirDurable, SimDisk, type SimDiskOptions } from '../../src/storage/index.js';
import { Persistence, type Recovered } from '../../src/zab/index.js';
import { dumpTree, prng, TxnGen } from '../zab/helpers.js';

const ROOT = '/zk';
const silent = pino({ level: 'silent' });

export interface RunOptions {
  /** Power cuts per run (each followed by a recovery and a check). */
  cuts?: number;
  /** The disk's behaviour: pass ignoreSync to play a build with an fsync removed. */
  disk?: SimDiskOptions;
  /** Counts where the cuts fell, added to. */
  stats?: CutStats;
}

/** Where power cuts fell: what was under way on the disk at the operation the power went at. */
export interface CutStats {
  cuts: number;
  /** Between opening a snapshot's temp file and its rename into place. */
  duringSnapshot: number;
  /** Between renaming the next log file into place and the fsync of its directory. */
  duringLogRoll: number;
  /** While recovering (Persistence.open). */
  duringRecovery: number;
}

export function newCutStats(): CutStats {
  return { cuts: 0, duringSnapshot: 0, duringLogRoll: 0, duringRecovery: 0 };
}

/** A txn log file: log.<zxid>, the spare made ahead of use, or tmp.log.<zxid> (earlier versions). */
export const isLogFilePath = (path: string): boolean => /\/(tmp\.)?log\.([0-9a-f]+|next)$/.test(path);

/** Follows the disk operations to tell whether a snapshot or a log roll is under way. */
function phaseTracker(): { see(op: string, path: string): void; snapshot: boolean; roll: boolean } {
  let rollDir: string | undefined;
  const t = {
    snapshot: false,
    roll: false,
    see(op: string, path: string) {
      if (op === 'open' && path.endsWith('.inprogress.tmp')) t.snapshot = true;
      else if (op === 'rename' && path.endsWith('.inprogress.tmp')) t.snapshot = false;
      // A roll: the spare log file renamed to its log name, until its directory is fsynced.
      if (op === 'rename' && path.endsWith('/tmp.log.next')) {
        t.roll = true;
        rollDir = path.substring(0, path.lastIndexOf('/'));
      } else if (op === 'fsync-dir' && path === rollDir) {
        t.roll = false;
        rollDir = undefined;
      }
    },
  };
  return t;
}

/** Undefined when every check passed; otherwise what went wrong, with the seed. */
export async function powerCutRun(seed: number, options: RunOptions = {}): Promise<string | undefined> {
  const rand = prng(seed);
  const separateLogDir = rand() < 0.5;
  const dataDir = `${ROOT}/data`;
  const dataLogDir = separateLogDir ? `${ROOT}/log` : dataDir;
  const preAllocSize = [0, 512, 4096][Math.floor(rand() * 3)]!;
  const snapCount = [6, 20, 60][Math.floor(rand() * 3)]!;
  const ttl = rand() < 0.5;
  const genSeed = Math.floor(rand() * 2 ** 32);
  const newGen = () => new TxnGen(prng(genSeed), { ttl, zxid0: 1 });

  // In half the runs the disk completes operations out of order (some take up to 3 turns more): an
  // acknowledgement that does not wait for every operation it depends on is then caught.
  const turnsRand = prng(Math.floor(rand() * 2 ** 32));
  const extraTurns = rand() < 0.5 ? () => Math.floor(turnsRand() * 4) : undefined;
  let disk = new SimDisk({ ...options.disk, extraTurns });
  await mkdirDurable(disk, ROOT);
  let acked = 0;
  const cuts = options.cuts ?? 3;
  const describe = (what: string) =>
    `seed ${seed} (${separateLogDir ? 'separate dataLogDir' : 'one dir'}, preAllocSize ${preAllocSize}, snapCount ${snapCount}${extraTurns ? ', operations out of order' : ''}): ${what}`;

  for (let cut = 0; cut <= cuts; cut++) {
    const last = cut === cuts;
    // The power goes after a random number of operations from here (none in the last round: it
    // only recovers and checks).
    const cutAt = disk.ops + 1 + Math.floor(rand() * 600);
    const cutRand = prng(Math.floor(rand() * 2 ** 32));
    const survivors = rand() < 0.3 ? {} : { rand: cutRand, tear: rand() < 0.7 };
    let next: SimDisk | undefined;
    let signal!: () => void;
    const cutDone = new Promise<void>((resolve) => (signal = resolve));
    const phase = phaseTracker();
    let recovering = true;
    const cutNow = (d: SimDisk) => {
      next = d.powerCut(survivors);
      signal();
      const stats = options.stats;
      if (stats) {
        stats.cuts++;
        if (phase.snapshot) stats.duringSnapshot++;
        if (phase.roll) stats.duringLogRoll++;
        if (recovering) stats.duringRecovery++;
      }
    };
    if (!last) {
      disk.onOp = (d, op, path) => {
        phase.see(op, path);
        if (next === undefined && d.ops >= cutAt) cutNow(d);
      };
    }

    const opening = Persistence.open({
      dataDir,
      dataLogDir,
      forceSync: true,
      snapCount,
      extendedTypesEnabled: ttl,
      preAllocSize,
      snapRetainCount: 3,
      log: silent,
      onFailure: () => {},
      storage: disk,
      random: rand,
    });
    let opened;
    try {
      opened = await Promise.race([opening, cutDone.then(() => undefined)]);
    } catch (e) {
      return describe(`after ${cut} power cut(s): recovery failed: ${(e as Error).message}`);
    }
    recovering = false;
    if (opened) {
      const problem = check(opened.recovered, acked, newGen);
      if (problem) return describe(`after ${cut} power cut(s): ${problem}`);
      if (last) return undefined;
      await writeLoad(opened.persistence, opened.recovered, newGen, rand, () => next !== undefined, (zxid) => (acked = zxid));
      // Whatever the load left in flight, the power goes now if it has not yet.
      if (next === undefined) cutNow(disk);
    }
    disk = next!;
  }
  return undefined;
}

/** Appends txns in bursts, letting the disk work in between, until the power is cut. */
async function writeLoad(
  persistence: Persistence,
  recovered: Recovered,
  newGen: () => TxnGen,
  rand: () => number,
  isCut: () => boolean,
  onAck: (zxid: number) => void,
): Promise<void> {
  // The generator replayed to the recovered state, so that it goes on from there.
  const gen = newGen();
  for (let i = 0; i < recovered.tree.lastProcessedZxid; i++) gen.next();
  const tree = recovered.tree;
  let budget = 400;
  while (!isCut() && budget > 0) {
    const r = rand();
    if (r < 0.5) {
      for (let n = 1 + Math.floor(rand() * 8); n > 0 && budget > 0; n--, budget--) {
        const txn = gen.next();
        persistence.append(txn, () => {
          tree.apply(txn);
          onAck(txn.zxid);
        });
      }
    } else if (r < 0.97) {
      await turn();
    } else {
      void persistence.purge(3).catch(() => {});
    }
  }
  // Let what is in flight finish or be cut.
  for (let i = 0; i < 50 && !isCut(); i++) await turn();
}

function check(recovered: Recovered, acked: number, newGen: () => TxnGen): string | undefined {
  const zxid = recovered.tree.lastProcessedZxid;
  if (zxid < acked) return `acknowledged up to zxid ${acked}, but recovery found only up to ${zxid}`;
  const replay = newGen();
  for (let i = 0; i < zxid; i++) replay.next();
  if (!sameTree(recovered.tree, replay.tree)) return `the recovered tree at zxid ${zxid} differs from the replay of its ${zxid} txns`;
  return undefined;
}

function sameTree(a: DataTree, b: DataTree): boolean {
  try {
    return isDeepStrictEqual(dumpTree(a), dumpTree(b));
  } catch {
    return false; // dumpTree found the tree inconsistent with itself
  }
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How to replay one seed, for failure messages. */
export function replayHint(seed: number, variant = ''): string {
  return `replay: POWER_CUT_SEED=${seed}${variant ? ` POWER_CUT_VARIANT=${variant}` : ''} npx vitest run test/storage/power-cut.test.ts`;
}
