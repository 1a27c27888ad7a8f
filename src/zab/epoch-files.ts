/**
 * A quorum peer's two epochs, kept as Apache ZooKeeper keeps them (QuorumPeer.loadDataBase,
 * writeLongToFile): `currentEpoch` (the epoch of the leader this server last followed or led, set
 * at NEWLEADER) and `acceptedEpoch` (the newest epoch it promised to, set at LEADERINFO), each the
 * decimal text of a long with no newline, in dataDir/version-2, replaced atomically through a
 * `.tmp` file. The same files and checks let a dataDir move between zkts and ZooKeeper.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

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
export async function readEpochFile(snapDir: string, name: string): Promise<number | undefined> {
  const path = join(snapDir, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (!/^-?\d+$/.test(text.trim())) throw new EpochFileError(`${path}: expected a number, got '${text.slice(0, 40)}'`);
  return Number(text.trim());
}

/** Writes `name` atomically: the value goes to name.tmp, is fsynced, then renamed over the old file. */
export async function writeEpochFile(snapDir: string, name: string, epoch: number): Promise<void> {
  const path = join(snapDir, name);
  const fh = await open(path + TMP, 'w');
  try {
    await fh.writeFile(String(epoch));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(path + TMP, path);
  const dir = await open(snapDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * The epochs at start, checked against the data as ZooKeeper checks them: a missing file takes the
 * epoch of the last zxid (and is written); the current epoch may not be older than the last zxid's
 * (unless a currentEpoch.tmp left by a crash mid-write says which it was), and the accepted epoch
 * may not be older than the current one.
 */
export async function loadEpochs(snapDir: string, lastProcessedZxid: number): Promise<Epochs> {
  const epochOfZxid = Math.floor(lastProcessedZxid / 2 ** 32);
  let currentEpoch = await readEpochFile(snapDir, CURRENT_EPOCH_FILE);
  if (currentEpoch === undefined) {
    currentEpoch = epochOfZxid;
    await writeEpochFile(snapDir, CURRENT_EPOCH_FILE, currentEpoch);
  }
  if (epochOfZxid > currentEpoch) {
    const fromTmp = await readEpochFile(snapDir, CURRENT_EPOCH_FILE + TMP);
    if (fromTmp === undefined) {
      throw new EpochFileError(
        `${join(snapDir, CURRENT_EPOCH_FILE)}: the current epoch, ${currentEpoch}, is older than the last zxid, 0x${lastProcessedZxid.toString(16)}`,
      );
    }
    currentEpoch = fromTmp;
    await writeEpochFile(snapDir, CURRENT_EPOCH_FILE, currentEpoch);
  }
  let acceptedEpoch = await readEpochFile(snapDir, ACCEPTED_EPOCH_FILE);
  if (acceptedEpoch === undefined) {
    acceptedEpoch = epochOfZxid;
    await writeEpochFile(snapDir, ACCEPTED_EPOCH_FILE, acceptedEpoch);
  }
  if (acceptedEpoch < currentEpoch) {
    throw new EpochFileError(`${join(snapDir, ACCEPTED_EPOCH_FILE)}: the accepted epoch, ${acceptedEpoch}, is less than the current epoch, ${currentEpoch}`);
  }
  return { currentEpoch, acceptedEpoch };
}
