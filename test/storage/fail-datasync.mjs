// Preloaded into a zkts process by faults.test.ts (node --import): every fdatasync after the first
// ZKTS_TEST_DATASYNCS_OK ones fails with EIO, as a dying disk's would. The server's code is not
// changed: the fault comes from below it, through node:fs.
import { open } from 'node:fs/promises';

const ok = Number(process.env.ZKTS_TEST_DATASYNCS_OK ?? 0);
const probe = await open(new URL(import.meta.url), 'r');
const proto = Object.getPrototypeOf(probe);
await probe.close();
const datasync = proto.datasync;
let calls = 0;
proto.datasync = function () {
  if (++calls <= ok) return datasync.call(this);
  return Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' }));
};
