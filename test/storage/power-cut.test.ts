/**
 * Power loss, not just SIGKILL: a SIGKILL leaves the page cache to be written back, so a crash test
 * cannot see a missing fsync. Here the server's persistence runs on a simulated disk that keeps, at
 * a power cut, only what was fsynced (file contents by the file's fsync, directory entries by the
 * directory's), plus random in-order prefixes of the rest and a torn write. Every acknowledged txn
 * must survive every cut (see power-load.ts).
 *
 * Then the same runs on disks that ignore one kind of fsync, as a build with that fsync removed
 * would: the test must find a lost acknowledged write, and prints the first seed that does.
 *
 * POWER_CUT_SEEDS (default 100) sets the number of seeds, from POWER_CUT_FIRST_SEED (default 1);
 * POWER_CUT_SEED=<n> runs one seed, with
 * POWER_CUT_VARIANT=<name of a removed fsync below> to replay a mutant's failure.
 */
import { describe, expect, it } from 'vitest';
import type { SimDiskOptions } from '../../src/storage/index.js';
import { isLogFilePath, newCutStats, powerCutRun, replayHint } from './power-load.js';

const SEEDS = Number(process.env.POWER_CUT_SEEDS ?? 100);
const FIRST = Number(process.env.POWER_CUT_FIRST_SEED ?? 1);
const ONE = process.env.POWER_CUT_SEED === undefined ? undefined : Number(process.env.POWER_CUT_SEED);

/** Disks that ignore one fsync, as if the code did not call it. */
const REMOVED: Record<string, SimDiskOptions['ignoreSync']> = {
  // FileTxnLog's fdatasync of each batch before acknowledging it.
  'log-datasync': (kind, path) => kind === 'file' && isLogFilePath(path),
  // The fsync of the log directory after a new log file is renamed into place.
  'log-dir-fsync': (kind, path) => kind === 'dir' && /\/(data|log)\/version-2$/.test(path),
  // The fsync of dataDir after creating dataDir/version-2 in it.
  'version-2-entry': (kind, path) => kind === 'dir' && /^\/zk\/(data|log)$/.test(path),
};

const variant = process.env.POWER_CUT_VARIANT;
const seeds = ONE === undefined ? Array.from({ length: SEEDS }, (_, i) => FIRST + i) : [ONE];

describe('power cuts', () => {
  it.skipIf(variant !== undefined)(`every acknowledged write survives (${seeds.length} seeds x 3 cuts)`, async () => {
    const failures: string[] = [];
    const stats = newCutStats();
    for (const seed of seeds) {
      const failure = await powerCutRun(seed, { stats });
      if (failure) {
        failures.push(`${failure}\n  ${replayHint(seed)}`);
        if (failures.length >= 3) break;
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
    console.log(
      `${stats.cuts} power cuts: ${stats.duringSnapshot} while a snapshot was being written, ` +
        `${stats.duringLogRoll} during a log roll, ${stats.duringRecovery} during recovery`,
    );
    if (ONE === undefined) {
      expect(stats.duringSnapshot).toBeGreaterThan(0);
      expect(stats.duringLogRoll).toBeGreaterThan(0);
      expect(stats.duringRecovery).toBeGreaterThan(0);
    }
  }, Math.max(120_000, seeds.length * 2000));

  for (const [name, ignoreSync] of Object.entries(REMOVED)) {
    it.skipIf(variant !== undefined && variant !== name)(`finds the lost write when an fsync is removed: ${name}`, async () => {
      let found: string | undefined;
      for (const seed of variant === name ? seeds : Array.from({ length: 200 }, (_, i) => i + 1)) {
        found = await powerCutRun(seed, { disk: { ignoreSync } });
        if (found) {
          console.log(`with ${name} removed: ${found}\n  ${replayHint(seed, name)}`);
          break;
        }
      }
      expect(found, `no seed found the missing ${name}`).toBeDefined();
    }, 60_000);
  }
});
