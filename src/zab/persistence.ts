import { join } from 'node:path';
import type { DataTree, Txn } from '../datatree/index.js';
import { nodeStorage, syncFile, type Storage } from '../storage/storage.js';
import { FileTxnLog, type TxnLogMetrics } from './file-txn-log.js';
import { recover, type Recovered, type RecoveryProgress } from './recovery.js';
import { snapshotFileName, writeSnapshotFile } from './snapshot-file.js';
import type { TxnLog } from './txn-log.js';
import { isValidSnapshotFile, listDataDir, logsToReplay } from './txn-log-file.js';

export interface PersistenceOptions {
  dataDir: string;
  dataLogDir: string;
  forceSync: boolean;
  /** A snapshot after snapCount/2 + random(snapCount/2) txns, as ZooKeeper randomizes it. */
  snapCount: number;
  extendedTypesEnabled: boolean;
  preAllocSize?: number;
  /** Snapshots kept by purge (autopurge.snapRetainCount, at least 3). */
  snapRetainCount: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** The log failed (write or fsync): nothing more will be acknowledged. */
  onFailure(err: Error): void;
  /** Where the log reports its fsync times and batch sizes. */
  logMetrics?: TxnLogMetrics;
  /** Told how long each snapshot took to write, in ms (ZooKeeper's snapshottime). */
  snapshotted?(ms: number): void;
  /** Where the files are (default: the real file system). */
  storage?: Storage;
  /** Draws the randomized snapshot intervals (default Math.random; a seeded one in tests). */
  random?: () => number;
  /** Told how loading the snapshot and replaying the logs goes (see src/server/progress.ts). */
  progress?: RecoveryProgress;
}

/** ZooKeeper keeps its files in dataDir/version-2 (and dataLogDir/version-2). */
export const VERSION_DIR = 'version-2';

/**
 * Durability for one server: recovery at start, the transaction log, snapshots every snapCount
 * txns (taken while the server goes on; see DataTree.beginSnapshot) and on clean shutdown, and
 * purging of old files.
 */
export class Persistence implements TxnLog {
  private readonly txnLog: FileTxnLog;
  private readonly snapDir: string;
  private readonly logDir: string;
  private sinceSnapshot = 0;
  private nextSnapshotAt: number;
  private snapshotting: Promise<void> | undefined;
  private readonly storage: Storage;

  private constructor(private readonly tree: DataTree, private readonly options: PersistenceOptions) {
    this.snapDir = join(options.dataDir, VERSION_DIR);
    this.logDir = join(options.dataLogDir, VERSION_DIR);
    this.storage = options.storage ?? nodeStorage;
    this.txnLog = new FileTxnLog({
      dir: this.logDir,
      storage: this.storage,
      forceSync: options.forceSync,
      preAllocSize: options.preAllocSize,
      onFailure: options.onFailure,
      onCallbackError: (err) => options.log.error({ err: err.stack ?? err.message }, 'error after a txn was logged'),
      metrics: options.logMetrics,
      afterBatch: (txns) => this.logged(txns),
    });
    this.nextSnapshotAt = this.randomizedThreshold();
  }

  static async open(options: PersistenceOptions): Promise<{ persistence: Persistence; recovered: Recovered }> {
    const snapDir = join(options.dataDir, VERSION_DIR);
    const logDir = join(options.dataLogDir, VERSION_DIR);
    const recovered = await recover(snapDir, logDir, { extendedTypesEnabled: options.extendedTypesEnabled, storage: options.storage, progress: options.progress });
    for (const w of recovered.warnings) options.log.warn({}, w);
    const persistence = new Persistence(recovered.tree, options);
    // Apache ZooKeeper writes snapshot.0 when it starts on an empty dataDir (FileTxnSnapLog.restore)
    // and refuses a dataDir with logs but no snapshot; so that a zkts dataDir always moves to it,
    // zkts does the same, and also snapshots a dataDir that has only logs before serving from it.
    if (recovered.snapshotFile === undefined) await persistence.takeSnapshot(true);
    return { persistence, recovered };
  }

  private randomizedThreshold(): number {
    const half = Math.max(1, Math.floor(this.options.snapCount / 2));
    return half + Math.floor((this.options.random ?? Math.random)() * half);
  }

  append(txn: Txn, durable: () => void): void {
    this.txnLog.append(txn, durable);
  }

  /** As append, for a txn already encoded (a PROPOSAL's payload): logged as it is. */
  appendEncoded(zxid: number, payload: Buffer, durable: () => void): void {
    this.txnLog.appendEncoded(zxid, payload, durable);
  }

  /** A batch of `txns` is durable and their callbacks have run: time for a snapshot? */
  private logged(txns: number): void {
    this.sinceSnapshot += txns;
    if (this.sinceSnapshot >= this.nextSnapshotAt && !this.snapshotting) this.startSnapshot();
  }

  private startSnapshot(): void {
    this.sinceSnapshot = 0;
    this.nextSnapshotAt = this.randomizedThreshold();
    this.txnLog.roll();
    this.snapshotting = this.takeSnapshot()
      .catch((e) => this.options.log.warn({ err: (e as Error).message }, 'snapshot failed; the log still holds everything'))
      .finally(() => (this.snapshotting = undefined));
  }

  /**
   * Writes a snapshot of the tree as it is now (consistent, while txns go on). Periodic snapshots
   * are not fsynced, as ZooKeeper's are not (SyncRequestProcessor's takeSnapshot(false)): the log
   * holds every txn they hold, recovery falls back to an older snapshot when the newest did not
   * reach the disk whole, and purge keeps the logs the older ones need. An fsync here would also
   * hold up the log's own fsyncs (one journal), stalling every write in flight. The snapshot at a
   * clean shutdown is fsynced.
   */
  async takeSnapshot(fsync = false): Promise<void> {
    const t0 = performance.now();
    const summary = await writeSnapshotFile((zxid) => join(this.snapDir, snapshotFileName(zxid)), this.tree, {
      fsync: fsync && this.options.forceSync,
      storage: this.storage,
      // 64 KiB chunks keep the event loop free: with 1,000,000 znodes, its delay p99 stays under 3 ms
      // during the snapshot (scripts/snapshot-latency.mjs).
      chunkSize: 64 * 1024,
      // Under a heavy write load a turn of the event loop is long and one chunk per turn would let
      // the snapshot fall hundreds of thousands of txns behind (all replayed after a crash). As txns
      // pile up since the snapshot began, it takes up to 8 ms per turn.
      sliceMs: () => Math.min(8, (8 * this.sinceSnapshot) / this.options.snapCount),
    });
    const ms = Math.round(performance.now() - t0);
    this.options.snapshotted?.(ms);
    this.options.log.info({ file: summary.path, nodes: summary.nodes, bytes: summary.bytes, ms }, 'snapshot written');
  }

  /** Deletes snapshots beyond the newest `retain` and the logs only they need. */
  purge(retain = this.options.snapRetainCount): Promise<string[]> {
    return purgeDataDir(this.options.dataDir, this.options.dataLogDir, retain, this.storage);
  }

  /**
   * Clean shutdown: everything appended is made durable, then a last snapshot (unless the files are
   * about to be replaced: a learner told to TRUNC or sent a SNAP).
   */
  async close(options: { snapshot?: boolean } = {}): Promise<void> {
    await this.snapshotting;
    await this.txnLog.close();
    if (!this.txnLog.hasFailed && options.snapshot !== false) await this.takeSnapshot(true);
  }

  /** Resolves once no periodic snapshot is being written (the tree has one snapshot view at a time). */
  async snapshotIdle(): Promise<void> {
    while (this.snapshotting) await this.snapshotting;
  }
}

/**
 * ZooKeeper's PurgeTxnLog: keeps the newest `retain` snapshots (at least 3) and the logs needed to
 * replay from the oldest of them; deletes the rest. Returns the files removed.
 */
export async function purgeDataDir(dataDir: string, dataLogDir: string, retain: number, storage: Storage = nodeStorage): Promise<string[]> {
  if (retain < 3) throw new Error(`snapRetainCount must be at least 3, got ${retain}`);
  const snapDir = join(dataDir, VERSION_DIR);
  const logDir = join(dataLogDir, VERSION_DIR);
  const snaps = (await listDataDir(snapDir, storage)).snapshots.filter((s) => !s.name.endsWith('.tmp'));
  // Only snapshots that look whole count, as in ZooKeeper's findNValidSnapshots: one that did not
  // reach the disk whole (a power cut after its rename) must not stand in for an older one.
  const kept: typeof snaps = [];
  for (const snap of snaps) {
    if (kept.length === retain) break;
    if (await isValidSnapshotFile(snap.path, snap.name, storage)) kept.push(snap);
  }
  if (kept.length < retain) return [];
  const oldestKept = kept[retain - 1]!.zxid;
  const logs = (await listDataDir(logDir, storage)).logs;
  const neededLogs = new Set(logsToReplay(logs, oldestKept).map((l) => l.path));
  const removed = [...snaps.filter((s) => s.zxid < oldestKept).map((s) => s.path), ...logs.filter((l) => !neededLogs.has(l.path)).map((l) => l.path)];
  // Periodic snapshots are written without fsync: before the files that could rebuild the tree
  // without them go, the kept snapshots are made durable (a power loss must not leave only
  // snapshots that never reached the disk, and no logs to replay instead), their names included:
  // they were renamed into place without a directory fsync.
  for (const snap of kept) await syncFile(storage, snap.path);
  await storage.syncDir(snapDir);
  for (const path of removed) await storage.unlink(path);
  return removed;
}
