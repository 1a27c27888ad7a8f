/**
 * The txn log's roll to a new file (at each snapshot) does no file creation on the write path: the
 * next file is made ahead of use (tmp.log.next: header written, preallocated), and a roll only
 * renames it beside the batch's write and fdatasync. Before, the batches in flight at a roll
 * waited on an open, a header write, a preallocation and a rename in series, through the thread
 * pool the snapshot was writing through (10-20 ms with no batch under way, scripts/write-tail.mjs).
 */
import { expect, it } from 'vitest';
import { mkdirDurable, SimDisk } from '../../src/storage/index.js';
import { FileTxnLog, listDataDir, SPARE_LOG_FILE, streamLogFile, TXNLOG_MAGIC } from '../../src/zab/index.js';
import { prng, TxnGen } from './helpers.js';

const DIR = '/zk/log/version-2';

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('rolls to a file made ahead of use: the batch after a roll only renames it, and a clean close leaves logs only', async () => {
  const disk = new SimDisk();
  await mkdirDurable(disk, '/zk');
  const log = new FileTxnLog({ dir: DIR, forceSync: true, preAllocSize: 64 * 1024, storage: disk, onFailure: (e) => { throw e; } });
  const gen = new TxnGen(prng(7), { zxid0: 1 });
  const append = (n: number) => Promise.all(Array.from({ length: n }, () => new Promise<void>((durable) => log.append(gen.next(), durable))));

  await append(3);
  // The spare is made once the first file is in use.
  await until('the spare log file', async () => (await disk.readdir(DIR)).includes(SPARE_LOG_FILE));
  await until('the spare preallocated', async () => (await disk.readFile(`${DIR}/${SPARE_LOG_FILE}`)).length === 64 * 1024);

  log.roll();
  const ops: string[] = [];
  disk.onOp = (_d, op, path) => ops.push(`${op} ${path.slice(DIR.length + 1)}`);
  await append(2);
  disk.onOp = undefined;
  // What the acknowledged batch waited for: the rename and its directory's fsync beside the batch's
  // write and fsync (the old file's close goes on by itself); no open, header write or truncate.
  // Handles are named by the path they were opened at. The next spare is made (open, header write,
  // truncate) once the rename is durable, while the batch's fsync may still be under way.
  const started = ops.filter((o) => o !== `close ${SPARE_LOG_FILE}`);
  const nextSpare = started.indexOf(`open ${SPARE_LOG_FILE}`);
  expect(nextSpare).toBeGreaterThan(started.indexOf('fsync-dir '));
  const batch = started.slice(0, nextSpare).filter((o) => o !== `fsync ${SPARE_LOG_FILE}`);
  expect(batch.sort()).toEqual(['fsync-dir ', `rename ${SPARE_LOG_FILE}`, `write ${SPARE_LOG_FILE}`].sort());
  expect(started.filter((o) => o === `fsync ${SPARE_LOG_FILE}`)).toHaveLength(1);

  await log.close();
  const names = await disk.readdir(DIR);
  expect(names).toEqual(['log.1', 'log.4']);
  // Both files are whole logs in ZooKeeper's format, the second starting at the roll.
  const { logs } = await listDataDir(DIR, disk);
  const zxids: number[] = [];
  for (const file of logs) for await (const chunk of streamLogFile(file.path, { storage: disk })) for (const e of chunk) zxids.push(e.txn.zxid);
  expect(zxids).toEqual([1, 2, 3, 4, 5]);
  expect((await disk.readFile(`${DIR}/log.4`)).readInt32BE(0)).toBe(TXNLOG_MAGIC);
});

it('goes on writing batches while a new file’s name is made durable, and acknowledges them in order once it is', async () => {
  // The directory fsync after the rename takes 100 turns, a batch's write and fsync one each.
  const disk = new SimDisk({ extraTurns: (op) => (op === 'fsync-dir' ? 100 : 0) });
  await mkdirDurable(disk, '/zk');
  const log = new FileTxnLog({ dir: DIR, forceSync: true, preAllocSize: 64 * 1024, storage: disk, onFailure: (e) => { throw e; } });
  const gen = new TxnGen(prng(8), { zxid0: 1 });
  const acked: number[] = [];
  const append = () => {
    const txn = gen.next();
    return new Promise<void>((durable) => log.append(txn, () => (acked.push(txn.zxid), durable())));
  };
  await append();
  await until('the spare log file', async () => (await disk.readdir(DIR)).includes(SPARE_LOG_FILE));

  log.roll();
  let fsyncs = 0;
  disk.onOp = (_d, op) => {
    if (op === 'fsync') fsyncs++;
  };
  const done: Promise<void>[] = [];
  // One txn per batch: each appended once the one before is on the disk.
  for (let i = 0; i < 5; i++) {
    done.push(append());
    const before = fsyncs;
    await until('the batch on the disk', async () => fsyncs > before);
  }
  // Five batches went to the disk while the rename's directory fsync was still under way: none acknowledged yet.
  expect(acked).toEqual([1]);
  await Promise.all(done);
  expect(acked).toEqual([1, 2, 3, 4, 5, 6]);
  await log.close();
  expect(await disk.readdir(DIR)).toEqual(['log.1', 'log.2']);
});
