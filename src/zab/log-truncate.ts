import { nodeStorage, type Storage } from '../storage/storage.js';
import { listDataDir, readLog } from './txn-log-file.js';

/**
 * A learner told to TRUNC drops every logged txn after `zxid` (ZooKeeper's FileTxnSnapLog.truncateLog):
 * the log file holding `zxid` is cut right after it, later log files and snapshots newer than it
 * are deleted. Recovery then rebuilds exactly the state at `zxid`, if the files held it (a SNAP
 * removes the logs before its snapshot). Returns what changed.
 */
export async function truncateLogsAfter(snapDir: string, logDir: string, zxid: number, storage: Storage = nodeStorage): Promise<string[]> {
  const changed: string[] = [];
  const { logs } = await listDataDir(logDir, storage);
  for (const log of logs) {
    if (log.zxid > zxid) {
      await storage.unlink(log.path);
      changed.push(`${log.path} removed`);
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
      changed.push(`${log.path} cut after 0x${zxid.toString(16)}`);
    }
  }
  const { snapshots } = await listDataDir(snapDir, storage);
  for (const snap of snapshots) {
    if (snap.zxid <= zxid) continue;
    await storage.unlink(snap.path);
    changed.push(`${snap.path} removed`);
  }
  await storage.syncDir(logDir);
  if (snapDir !== logDir) await storage.syncDir(snapDir);
  return changed;
}

/**
 * Deletes every log and snapshot but the snapshot at `keepSnapshot`, if given. After a SNAP at Z is
 * installed and its snapshot durable, the logs describe a history the leader replaced: recovery
 * must not replay them on top of it. Other snapshots go too: a newer one holds that replaced
 * history, and an older one, with no logs after it, would bring back a past state as the current
 * one if recovery ever fell back to it.
 */
export async function removeDataFiles(snapDir: string, logDir: string, keepSnapshot?: number, storage: Storage = nodeStorage): Promise<string[]> {
  const { logs } = await listDataDir(logDir, storage);
  const { snapshots } = await listDataDir(snapDir, storage);
  const removed = [...logs.map((l) => l.path), ...snapshots.filter((s) => s.zxid !== keepSnapshot || s.name.endsWith('.tmp')).map((s) => s.path)];
  for (const path of removed) await storage.unlink(path);
  await storage.syncDir(logDir);
  if (snapDir !== logDir) await storage.syncDir(snapDir);
  return removed;
}
