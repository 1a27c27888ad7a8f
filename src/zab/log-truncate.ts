import { open, readFile, unlink } from 'node:fs/promises';
import { listDataDir, readLog } from './txn-log-file.js';

/**
 * A learner told to TRUNC drops every logged txn after `zxid` (ZooKeeper's FileTxnSnapLog.truncateLog):
 * the log file holding `zxid` is cut right after it, later log files and snapshots newer than it
 * are deleted. Recovery then rebuilds exactly the state at `zxid`.
 */
export async function truncateLogsAfter(snapDir: string, logDir: string, zxid: number): Promise<void> {
  const { logs } = await listDataDir(logDir);
  for (const log of logs) {
    if (log.zxid > zxid) {
      await unlink(log.path);
      continue;
    }
    const { entries } = readLog(await readFile(log.path));
    const firstAfter = entries.find((e) => e.txn.zxid > zxid);
    if (firstAfter) await cutFile(log.path, firstAfter.offset);
  }
  const { snapshots } = await listDataDir(snapDir);
  for (const snap of snapshots) if (snap.zxid > zxid) await unlink(snap.path);
  await syncDir(logDir);
  if (snapDir !== logDir) await syncDir(snapDir);
}

/**
 * After a SNAP is installed and its snapshot is durable, the old logs describe a history the
 * leader replaced: recovery must not replay them on top of it. Every log file goes.
 */
export async function removeLogs(logDir: string): Promise<void> {
  const { logs } = await listDataDir(logDir);
  for (const log of logs) await unlink(log.path);
  await syncDir(logDir);
}

async function cutFile(path: string, length: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(length);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
