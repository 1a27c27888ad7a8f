import { join } from 'node:path';
import { DataTree } from '../datatree/index.js';
import { mkdirDurable, nodeStorage, type Storage } from '../storage/storage.js';
import { readSnapshotFile } from './snapshot-file.js';
import { listDataDir, logsToReplay, SPARE_LOG_FILE, streamLogFile } from './txn-log-file.js';

/** A dataDir that cannot be used: names the files or directory and what is wrong. */
export class RecoveryError extends Error {
  override readonly name = 'RecoveryError';
}

export interface Recovered {
  tree: DataTree;
  /** Zxid of the snapshot loaded (0 when none). */
  snapshotZxid: number;
  snapshotFile: string | undefined;
  replayed: number;
  /** What recovery had to throw away or skip, for the log. */
  warnings: string[];
}

const COUNTER_MASK = 0xffffffff;
const epochOf = (zxid: number) => Math.floor(zxid / 2 ** 32);

const PROBE = Buffer.from('x');

/** Creates `dir` if needed and proves it writable, so that a bad dataDir fails at start, not at the first write. */
export async function ensureWritableDir(dir: string, storage: Storage = nodeStorage): Promise<void> {
  try {
    await mkdirDurable(storage, dir);
    const probe = join(dir, `.zkts-write-test-${process.pid}`);
    const fh = await storage.open(probe, 'w');
    try {
      await fh.write(PROBE, 0, PROBE.length, 0);
    } finally {
      await fh.close();
    }
    await storage.unlink(probe);
  } catch (e) {
    throw new RecoveryError(`data directory ${dir} cannot be written: ${(e as Error).message}`);
  }
}

/**
 * Rebuilds the tree from disk as ZooKeeper does: the newest snapshot that reads back whole (older
 * ones if it does not), then every txn of the logs after it, in zxid order. A torn tail (what a
 * crash during an append leaves) is cut off and reported; a gap in zxids or an undecodable entry
 * with a good checksum stops recovery with an error naming the file.
 */
/** What recovery reports while it loads a snapshot and replays logs (both can take long on a large dataDir). */
export interface RecoveryProgress {
  /** Parsing `file`: `bytesRead` of its `totalBytes` (uncompressed). */
  snapshot(file: string, bytesRead: number, totalBytes: number): void;
  /** Replaying log `file`, the `index`-th (from 1) of `files`; `replayed` txns applied so far in all. */
  replay(file: string, index: number, files: number, replayed: number): void;
  /** Recovery is over (also after an error). */
  done(): void;
}

export async function recover(
  snapDir: string,
  logDir: string,
  options: { extendedTypesEnabled: boolean; storage?: Storage; progress?: RecoveryProgress },
): Promise<Recovered> {
  try {
    return await recoverFiles(snapDir, logDir, options);
  } finally {
    options.progress?.done();
  }
}

async function recoverFiles(
  snapDir: string,
  logDir: string,
  options: { extendedTypesEnabled: boolean; storage?: Storage; progress?: RecoveryProgress },
): Promise<Recovered> {
  const progress = options.progress;
  const storage = options.storage ?? nodeStorage;
  await ensureWritableDir(snapDir, storage);
  if (logDir !== snapDir) await ensureWritableDir(logDir, storage);
  const warnings: string[] = [];
  let tree: DataTree | undefined;
  let snapshotFile: string | undefined;
  for (const snap of (await listDataDir(snapDir, storage)).snapshots) {
    if (snap.name.endsWith('.tmp')) continue; // a snapshot that was being written when we stopped
    try {
      const onProgress = progress ? (read: number, total: number) => progress.snapshot(snap.path, read, total) : undefined;
      const loaded = await readSnapshotFile(snap.path, { extendedTypesEnabled: options.extendedTypesEnabled, storage, ...(onProgress ? { onProgress } : {}) });
      tree = loaded.tree;
      snapshotFile = snap.path;
      if (loaded.digestMatches === false) warnings.push(`${snap.path}: digest does not match its nodes (loaded anyway, as ZooKeeper does)`);
      break;
    } catch (e) {
      warnings.push(`${snap.path}: unreadable snapshot skipped (${(e as Error).message}); trying an older one`);
    }
  }
  tree ??= new DataTree({ extendedTypesEnabled: options.extendedTypesEnabled });
  const snapshotZxid = tree.lastProcessedZxid;

  // The next log file, made ahead of use (SPARE_LOG_FILE): a server that did not stop cleanly always
  // leaves one, with no acknowledged txn in it, so it goes without a warning. A log file an earlier
  // version was creating when it died (tmp.log.<zxid>) holds no acknowledged txn either.
  for (const name of await storage.readdir(logDir)) {
    if (!name.startsWith('tmp.log.')) continue;
    if (name !== SPARE_LOG_FILE) warnings.push(`${join(logDir, name)}: a log file that was being created; removed`);
    await storage.unlink(join(logDir, name));
  }
  const logs = logsToReplay((await listDataDir(logDir, storage)).logs, snapshotZxid);
  let replayed = 0;
  let lastFile = snapshotFile ?? '(empty tree)';
  for (const [i, file] of logs.entries()) {
    const entries = streamLogFile(file.path, { skipThrough: tree.lastProcessedZxid, storage });
    progress?.replay(file.path, i + 1, logs.length, replayed);
    let r = await entries.next();
    for (; !r.done; r = await entries.next()) {
      progress?.replay(file.path, i + 1, logs.length, replayed);
      for (const { txn } of r.value) {
        const last = tree.lastProcessedZxid;
        if (txn.zxid <= last) continue;
        const continues = txn.zxid === last + 1 || (epochOf(txn.zxid) > epochOf(last) && (txn.zxid & COUNTER_MASK) <= 1);
        if (!continues) {
          throw new RecoveryError(
            `zxid gap: ${file.path} holds 0x${txn.zxid.toString(16)} but the last txn before it (in ${lastFile}) is 0x${last.toString(16)}`,
          );
        }
        tree.apply(txn);
        replayed++;
        lastFile = file.path;
      }
    }
    const end = r.value;
    if (end.kind === 'undecodable') {
      throw new RecoveryError(`${file.path}: entry at offset ${end.offset} has a good checksum but cannot be decoded (${end.reason ?? 'unknown'})`);
    }
    if (end.kind === 'torn' && end.offset === 0) {
      // Not even a whole header: a file created just before a crash. ZooKeeper refuses to start
      // with such a file around, so it goes.
      warnings.push(`${file.path}: shorter than a log header; removed`);
      await storage.unlink(file.path);
    } else if (end.kind === 'torn') {
      const later = logs.length - 1 - i;
      warnings.push(
        `${file.path}: torn or corrupt entry at offset ${end.offset} (${end.reason ?? 'partial write'}); ` +
          `truncated there${later > 0 ? `, ${later} later log file(s) follow` : ''}`,
      );
      await storage.truncate(file.path, end.offset);
    }
  }
  return { tree, snapshotZxid, snapshotFile, replayed, warnings };
}
