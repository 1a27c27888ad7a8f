import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE, loadEpochs, readEpochFile, writeEpochFile } from '../../src/zab/epoch-files.js';

const dir = () => mkdtempSync(join(tmpdir(), 'zkts-epochs-'));
const zxid = (epoch: number, counter: number) => epoch * 2 ** 32 + counter;

describe('epoch files (currentEpoch, acceptedEpoch) as ZooKeeper keeps them', () => {
  it('are the decimal text of the epoch, no newline, replaced through a .tmp file', async () => {
    const d = dir();
    await writeEpochFile(d, CURRENT_EPOCH_FILE, 7);
    expect(readFileSync(join(d, CURRENT_EPOCH_FILE), 'utf8')).toBe('7');
    expect(existsSync(join(d, CURRENT_EPOCH_FILE + '.tmp'))).toBe(false);
    expect(await readEpochFile(d, CURRENT_EPOCH_FILE)).toBe(7);
    expect(await readEpochFile(d, ACCEPTED_EPOCH_FILE)).toBeUndefined();
  });

  it('missing files take the epoch of the last zxid, and are written', async () => {
    const d = dir();
    expect(await loadEpochs(d, zxid(3, 17))).toEqual({ currentEpoch: 3, acceptedEpoch: 3 });
    expect(readFileSync(join(d, CURRENT_EPOCH_FILE), 'utf8')).toBe('3');
    expect(readFileSync(join(d, ACCEPTED_EPOCH_FILE), 'utf8')).toBe('3');
    expect(await loadEpochs(dir(), 0)).toEqual({ currentEpoch: 0, acceptedEpoch: 0 });
  });

  it('refuse a current epoch older than the last zxid, unless a currentEpoch.tmp says which it was', async () => {
    const d = dir();
    writeFileSync(join(d, CURRENT_EPOCH_FILE), '2');
    writeFileSync(join(d, ACCEPTED_EPOCH_FILE), '4');
    await expect(loadEpochs(d, zxid(4, 1))).rejects.toThrow(/current epoch, 2, is older than the last zxid, 0x400000001/);
    writeFileSync(join(d, CURRENT_EPOCH_FILE + '.tmp'), '4');
    expect(await loadEpochs(d, zxid(4, 1))).toEqual({ currentEpoch: 4, acceptedEpoch: 4 });
    expect(readFileSync(join(d, CURRENT_EPOCH_FILE), 'utf8')).toBe('4');
  });

  it('refuse an accepted epoch older than the current one', async () => {
    const d = dir();
    writeFileSync(join(d, CURRENT_EPOCH_FILE), '5');
    writeFileSync(join(d, ACCEPTED_EPOCH_FILE), '4');
    await expect(loadEpochs(d, zxid(5, 0))).rejects.toThrow(/accepted epoch, 4, is less than the current epoch, 5/);
  });

  it('reject garbage with the file named', async () => {
    const d = dir();
    writeFileSync(join(d, CURRENT_EPOCH_FILE), 'x1');
    await expect(loadEpochs(d, 0)).rejects.toThrow(/currentEpoch: expected a number/);
  });
});
