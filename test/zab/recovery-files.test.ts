/**
 * Files a crash can leave in the log directory besides logs and snapshots. FileTxnLog creates each
 * log as tmp.log.<zxid> and renames it once its header is written; recovery removes a leftover.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { recover } from '../../src/zab/index.js';

const dir = mkdtempSync(join(tmpdir(), 'zkts-recovery-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('removes a log file that was being created (tmp.log.*) and reports it', async () => {
  const stray = join(dir, 'tmp.log.1a');
  writeFileSync(stray, Buffer.alloc(7));
  const r = await recover(dir, dir, { extendedTypesEnabled: false });
  expect(existsSync(stray)).toBe(false);
  expect(r.warnings.some((w) => w.includes(stray) && /being created/.test(w))).toBe(true);
  expect(r.replayed).toBe(0);
});
