import { encodeTxnEntry } from './txn-codec.js';
import { History, DEFAULT_HISTORY_SIZE } from './history.js';
import { listDataDir, logsToReplay, readLogFile } from './txn-log-file.js';

/**
 * The in-memory history a quorum peer starts with: the last `capacity` txns of its log after the
 * snapshot it recovered from (what it can send a learner as a DIFF), and the zxid before them.
 */
export async function readHistory(logDir: string, snapshotZxid: number, capacity = DEFAULT_HISTORY_SIZE): Promise<History> {
  const { logs } = await listDataDir(logDir);
  const tail: { zxid: number; payload: Buffer }[] = [];
  let base = snapshotZxid;
  for (const log of logsToReplay(logs, snapshotZxid)) {
    const { entries } = await readLogFile(log.path, { skipThrough: snapshotZxid });
    for (const e of entries) {
      if (e.txn.zxid <= snapshotZxid) continue;
      tail.push({ zxid: e.txn.zxid, payload: encodeTxnEntry(e.txn, e.digest) });
      if (tail.length > capacity) base = tail.shift()!.zxid;
    }
  }
  const history = new History(base, capacity);
  for (const e of tail) history.add(e);
  return history;
}
