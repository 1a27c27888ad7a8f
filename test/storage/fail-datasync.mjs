// Preloaded into a zkts process by faults.test.ts (node --import): every fdatasync after the first
// ZKTS_TEST_DATASYNCS_OK ones fails with EIO, as a dying disk's would, through either API the server
// uses (FileHandle.datasync, and node:fs's callback fdatasync for the txn log's batches). The
// server's code is not changed: the fault comes from below it, through node:fs.
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const ok = Number(process.env.ZKTS_TEST_DATASYNCS_OK ?? 0);
let calls = 0;
const eio = () => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' });

const probe = await open(new URL(import.meta.url), 'r');
const proto = Object.getPrototypeOf(probe);
await probe.close();
const datasync = proto.datasync;
proto.datasync = function () {
  if (++calls <= ok) return datasync.call(this);
  return Promise.reject(eio());
};

const fdatasync = fs.fdatasync;
fs.fdatasync = function (fd, callback) {
  if (++calls <= ok) return fdatasync.call(this, fd, callback);
  process.nextTick(callback, eio());
};
// Named imports of node:fs (import { fdatasync } from 'node:fs') see the replacement only after this.
syncBuiltinESMExports();
