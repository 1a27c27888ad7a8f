/**
 * Test-only: preloaded into zkts processes by jepsen-lite (node --import), like
 * test/storage/fail-datasync.mjs, so that a nemesis can make one server's fdatasync slow or fail
 * while it runs. Before each fdatasync it reads the file named by ZKTS_JEPSEN_FSYNC_CONTROL:
 * empty (or missing) = normal, `slow <ms>` = wait that long first, `fail` = EIO as a dying disk's.
 * The server's code is not changed: the fault comes from below it, through node:fs.
 */
import { open } from 'node:fs/promises';
import { readFileSync } from 'node:fs';

const control = process.env.ZKTS_JEPSEN_FSYNC_CONTROL;
if (control) {
  const probe = await open(new URL(import.meta.url), 'r');
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const datasync = proto.datasync;
  const mode = (): string => {
    try {
      return readFileSync(control, 'utf8').trim();
    } catch {
      return '';
    }
  };
  proto.datasync = async function (this: unknown) {
    const m = mode();
    if (m === 'fail') throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' });
    const slow = /^slow (\d+)$/.exec(m);
    if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
    return datasync.call(this);
  };
}
