/**
 * Test-only: preloaded into zkts processes by jepsen-lite (node --import), like
 * test/storage/fail-datasync.mjs, so that a nemesis can make one server's fdatasync slow or fail
 * while it runs. Before each fdatasync it reads the file named by ZKTS_JEPSEN_FSYNC_CONTROL:
 * empty (or missing) = normal, `slow <ms>` = wait that long first, `fail` = EIO as a dying disk's.
 * Both APIs the server syncs through are covered: FileHandle.datasync, and node:fs's callback
 * fdatasync, which the txn log uses for its batches. The server's code is not changed: the fault
 * comes from below it, through node:fs.
 */
import fs, { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const control = process.env.ZKTS_JEPSEN_FSYNC_CONTROL;
if (control) {
  const mode = (): string => {
    try {
      return readFileSync(control, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const eio = () => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' });
  /** What to do before an fdatasync: an error to fail it with, or how long to wait first (ms). */
  const fault = (): { fail: true } | { delayMs: number } => {
    const m = mode();
    if (m === 'fail') return { fail: true };
    const slow = /^slow (\d+)$/.exec(m);
    return { delayMs: slow ? Number(slow[1]) : 0 };
  };

  const probe = await open(new URL(import.meta.url), 'r');
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const datasync = proto.datasync;
  proto.datasync = async function (this: unknown) {
    const f = fault();
    if ('fail' in f) throw eio();
    if (f.delayMs > 0) await new Promise((r) => setTimeout(r, f.delayMs));
    return datasync.call(this);
  };

  const fdatasync = fs.fdatasync;
  (fs as { fdatasync: (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void }).fdatasync = function (fd, callback) {
    const f = fault();
    if ('fail' in f) return void process.nextTick(callback, eio());
    if (f.delayMs > 0) return void setTimeout(() => fdatasync(fd, callback), f.delayMs);
    fdatasync(fd, callback);
  };
  // Named imports of node:fs (import { fdatasync } from 'node:fs') see the replacement only after this.
  syncBuiltinESMExports();
}
