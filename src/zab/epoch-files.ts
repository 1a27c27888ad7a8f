/**
 * A quorum peer's two epochs, kept as Apache ZooKeeper keeps them (QuorumPeer.loadDataBase,
 * writeLongToFile): `currentEpoch` (the epoch of the leader this server last followed or led, set
 * at NEWLEADER) and `acceptedEpoch` (the newest epoch it promised to, set at LEADERINFO), each the
 * decimal text of a long with no newline, in dataDir/version-2, replaced atomically through a
 * `.tmp` file. The same files and checks let a dataDir move between zkts and ZooKeeper.
 */
import { join } from 'node:path';
import { nodeStorage, type Storage } from '../storage/storage.js';

export const CURRENT_EPOCH_FILE = 'currentEpoch';
export const ACCEPTED_EPOCH_FILE = 'acceptedEpoch';
const TMP = '.tmp';

export class EpochFileError extends Error {
  override readonly name = 'EpochFileError';
}

export interface Epochs {
  currentEpoch: number;
  acceptedEpoch: number;
}

/** The epoch file's value, or undefined if it does not exist. */
export async function readEpochFile(snapDir: string, name: string, storage: Storage = nodeStorage): Promise<number | undefined> {
  const path = join(snapDir, name);
  let text: string;
  try {
    text = (await storage.readFile(path)).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (!/^-?\d+$/.test(text.trim())) throw new EpochFileError(`${path}: expected a number, got '${text.slice(0, 40)}'`);
  return Number(text.trim());
}

/** Writes `name` atomically: the value goes to name.tmp, is fsynced, then renamed over the old file. */
export async function writeEpochFile(snapDir: string, name: string, epoch: number, storage: Storage = nodeStorage): Promise<void> {
  const path = join(snapDir, name);
  const bytes = Buffer.from(String(epoch));
  const fh = await storage.open(path + TMP, 'w');
  try {
    await fh.write(bytes, 0, bytes.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await storage.rename(path + TMP, path);
  await storage.syncDir(snapDir);
}

/**
 * The epochs at start, checked against the data as ZooKeeper checks them: a missing file takes the
 * epoch of the last zxid (and is written); the current epoch may not be older than the last zxid's
 * (unless a currentEpoch.tmp left by a crash mid-write says which it was), and the accepted epoch
 * may not be older than the current one.
 */
export async function loadEpochs(snapDir: string, lastProcessedZxid: number, storage: Storage = nodeStorage): Promise<Epochs> {
  const epochOfZxid = Math.floor(lastProcessedZxid / 2 ** 32);
  let currentEpoch = await readEpochFile(snapDir, CURRENT_EPOCH_FILE, storage);
  if (currentEpoch === undefined) {
    currentEpoch = epochOfZxid;
    await writeEpochFile(snapDir, CURRENT_EPOCH_FILE, currentEpoch, storage);
  }
  if (epochOfZxid > currentEpoch) {
    const fromTmp = await readEpochFile(snapDir, CURRENT_EPOCH_FILE + TMP, storage);
    if (fromTmp === undefined) {
      throw new EpochFileError(
        `${join(snapDir, CURRENT_EPOCH_FILE)}: the current epoch, ${currentEpoch}, is older than the last zxid, 0x${lastProcessedZxid.toString(16)}`,
      );
    }
    currentEpoch = fromTmp;
    await writeEpochFile(snapDir, CURRENT_EPOCH_FILE, currentEpoch, storage);
  }
  let acceptedEpoch = await readEpochFile(snapDir, ACCEPTED_EPOCH_FILE, storage);
  if (acceptedEpoch === undefined) {
    acceptedEpoch = epochOfZxid;
    await writeEpochFile(snapDir, ACCEPTED_EPOCH_FILE, acceptedEpoch, storage);
  }
  if (acceptedEpoch < currentEpoch) {
    throw new EpochFileError(`${join(snapDir, ACCEPTED_EPOCH_FILE)}: the accepted epoch, ${acceptedEpoch}, is less than the current epoch, ${currentEpoch}`);
  }
  return { currentEpoch, acceptedEpoch };
}
