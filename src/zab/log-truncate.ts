import { nodeStorage, type Storage } from '../storage/storage.js';
import { listDataDir, readLog } from './txn-log-file.js';

/**
 * A learner told to TRUNC drops every logged txn after `zxid` (ZooKeeper's FileTxnSnapLog.truncateLog):
 * the log file holding `zxid` is cut right after it, later log files and snapshots newer than it
 * are deleted. Recovery then rebuilds exactly the state at `zxid`.
 */
export async function truncateLogsAfter(snapDir: string, logDir: string, zxid: number, storage: Storage = nodeStorage): Promise<void> {
  const { logs } = await listDataDir(logDir, storage);
  for (const log of logs) {
    if (log.zxid > zxid) {
      await storage.unlink(log.path);
      continue;
    }
    const { entries } = readLog(await storage.readFile(log.path));
    const firstAfter = entries.find((e) => e.txn.zxid > zxid);
    if (firstAfter) {
      const fh = await storage.open(log.path, 'r+');
      try {
        await fh.truncate(firstAfter.offset);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  const { snapshots } = await listDataDir(snapDir, storage);
  for (const snap of snapshots) if (snap.zxid > zxid) await storage.unlink(snap.path);
  await storage.syncDir(logDir);
  if (snapDir !== logDir) await storage.syncDir(snapDir);
}

/**
 * After a SNAP is installed and its snapshot is durable, the old logs describe a history the
 * leader replaced: recovery must not replay them on top of it. Every log file goes.
 */
export async function removeLogs(logDir: string, storage: Storage = nodeStorage): Promise<void> {
  const { logs } = await listDataDir(logDir, storage);
  for (const log of logs) await storage.unlink(log.path);
  await storage.syncDir(logDir);
}
