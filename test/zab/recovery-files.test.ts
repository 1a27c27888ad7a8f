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

it.each(['tmp.log.next', 'tmp.log.1a'])('removes a log file made ahead of use or being created (%s) and reports it', async (name) => {
  const stray = join(dir, name);
  writeFileSync(stray, Buffer.alloc(7));
  const r = await recover(dir, dir, { extendedTypesEnabled: false });
  expect(existsSync(stray)).toBe(false);
  expect(r.warnings.some((w) => w.includes(stray) && /no acknowledged txn/.test(w))).toBe(true);
  expect(r.replayed).toBe(0);
});
