/** The simulated disk keeps, at a power cut, what a real one may keep: fsynced data and entries only. */
import { describe, expect, it } from 'vitest';
import { SimDisk } from '../../src/storage/index.js';
import { prng } from '../zab/helpers.js';

async function writeFile(disk: SimDisk, path: string, text: string, sync: boolean): Promise<void> {
  const fh = await disk.open(path, 'w');
  await fh.write(Buffer.from(text), 0, text.length, 0);
  if (sync) await fh.datasync();
  await fh.close();
}

describe('SimDisk', () => {
  it('keeps a file only when its data and its directory entry were both fsynced', async () => {
    const disk = new SimDisk();
    await disk.mkdir('/d');
    await disk.syncDir('/');
    await writeFile(disk, '/d/synced-both', 'a', true);
    await writeFile(disk, '/d/data-only', 'b', true);
    await disk.syncDir('/d');
    await writeFile(disk, '/d/entry-only', 'c', false);
    await disk.syncDir('/d');
    await writeFile(disk, '/d/data-no-entry', 'd', true);
    expect(await disk.readdir('/d')).toEqual(['data-no-entry', 'data-only', 'entry-only', 'synced-both']);

    const after = disk.powerCut();
    expect(await after.readdir('/d')).toEqual(['data-only', 'entry-only', 'synced-both']);
    expect((await after.readFile('/d/synced-both')).toString()).toBe('a');
    expect((await after.readFile('/d/entry-only')).length).toBe(0);
  });

  it('loses a rename and an unlink that no directory fsync covered', async () => {
    const disk = new SimDisk();
    await disk.mkdir('/d');
    await disk.syncDir('/');
    await writeFile(disk, '/d/a', 'x', true);
    await writeFile(disk, '/d/gone', 'y', true);
    await disk.syncDir('/d');
    await disk.rename('/d/a', '/d/b');
    await disk.unlink('/d/gone');
    const after = disk.powerCut();
    expect(await after.readdir('/d')).toEqual(['a', 'gone']);
  });

  it('keeps in-order prefixes of unsynced changes and tears the next write when asked', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const disk = new SimDisk();
      await disk.mkdir('/d');
      await disk.syncDir('/');
      const fh = await disk.open('/d/f', 'w');
      await disk.syncDir('/d');
      await fh.write(Buffer.from('aaaa'), 0, 4, 0);
      await fh.write(Buffer.from('bbbb'), 0, 4, 4);
      const kept = (await disk.powerCut({ rand: prng(seed) }).readFile('/d/f')).toString();
      // Never a later write without the earlier one.
      expect(kept).toMatch(/^(a{0,4}|aaaab{0,4})$/);
      seen.add(kept);
    }
    expect(seen.has('')).toBe(true);
    expect(seen.has('aaaabbbb')).toBe(true);
    expect([...seen].some((k) => k.length % 4 !== 0)).toBe(true); // a torn write
  });

  it('fails the next matching write or fsync, and a failed fsync leaves the data not durable', async () => {
    const disk = new SimDisk();
    await disk.mkdir('/d');
    await disk.syncDir('/');
    const fh = await disk.open('/d/f', 'w');
    await disk.syncDir('/d');
    disk.failNext({ op: 'write', code: 'ENOSPC' });
    await expect(fh.write(Buffer.from('x'), 0, 1, 0)).rejects.toMatchObject({ code: 'ENOSPC' });
    await fh.write(Buffer.from('data'), 0, 4, 0);
    disk.failNext({ op: 'sync', code: 'EIO' });
    await expect(fh.datasync()).rejects.toMatchObject({ code: 'EIO' });
    // The page cache still shows the data, and the next fsync succeeds, but the data is lost.
    expect((await disk.readFile('/d/f')).toString()).toBe('data');
    await fh.datasync();
    expect((await disk.powerCut().readFile('/d/f')).length).toBe(0);
  });

  it('is dead after a power cut: nothing started on it completes', async () => {
    const disk = new SimDisk();
    disk.powerCut();
    const outcome = await Promise.race([disk.readdir('/').then(() => 'completed'), new Promise((r) => setTimeout(() => r('pending'), 50))]);
    expect(outcome).toBe('pending');
  });
});
