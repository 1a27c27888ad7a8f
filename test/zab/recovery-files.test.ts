/**
 * Files a crash can leave in the log directory besides logs and snapshots. FileTxnLog makes each
 * log ahead of use as tmp.log.next and renames it at its first batch (earlier versions made
 * tmp.log.<zxid>); recovery removes a leftover.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { recover } from '../../src/zab/index.js';

const dir = mkdtempSync(join(tmpdir(), 'zkts-recovery-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('removes a log file that was being created (tmp.log.<zxid>) and reports it', async () => {
  const stray = join(dir, 'tmp.log.1a');
  writeFileSync(stray, Buffer.alloc(7));
  const r = await recover(dir, dir, { extendedTypesEnabled: false });
  expect(existsSync(stray)).toBe(false);
  expect(r.warnings.some((w) => w.includes(stray) && /being created/.test(w))).toBe(true);
  expect(r.replayed).toBe(0);
});

it('removes the log file made ahead of use (tmp.log.next) without a warning: every server that did not stop cleanly leaves one', async () => {
  const spare = join(dir, 'tmp.log.next');
  writeFileSync(spare, Buffer.alloc(16));
  const r = await recover(dir, dir, { extendedTypesEnabled: false });
  expect(existsSync(spare)).toBe(false);
  expect(r.warnings).toEqual([]);
  expect(r.replayed).toBe(0);
});
