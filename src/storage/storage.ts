/**
 * The file-system calls the txn log, snapshots, recovery and purge make, behind one small
 * interface: the real one (node:fs) for the server, a simulated disk (sim-disk.ts) for tests that
 * cut the power and check that what was acknowledged survives.
 *
 * The calls are exactly those the data-dir code needs: a file's contents become durable only by
 * its fsync/fdatasync, and a directory entry (a create, rename or unlink) only by an fsync of the
 * directory. Code written against this interface must say both, or the simulated disk loses it.
 */
import { fdatasync, write } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, truncate, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** An open file. node:fs/promises' FileHandle is one, so the real storage adds no layer on the hot path. */
export interface StorageFile {
  /** Writes `length` bytes of `buffer` from `offset` at file `position`. */
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<unknown>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Cuts or extends (with zeros) the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** fdatasync: the contents (and size) are durable when it resolves. */
  datasync(): Promise<void>;
  /** fsync. */
  sync(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
  /** The OS descriptor, when the file is a real one (a FileHandle has it; a simulated file not). */
  readonly fd?: number;
}

/** 'r' reads, 'r+' reads and writes, 'w' creates or empties. */
export type OpenMode = 'r' | 'r+' | 'w';

export interface Storage {
  open(path: string, mode: OpenMode): Promise<StorageFile>;
  readFile(path: string): Promise<Buffer>;
  /** The names in a directory. */
  readdir(dir: string): Promise<string[]>;
  /** mkdir -p; returns the first directory it created (undefined when `dir` existed). */
  mkdir(dir: string): Promise<string | undefined>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  /** fsync of a directory: the creates, renames and unlinks in it so far are durable. */
  syncDir(dir: string): Promise<void>;
}

/** The real file system. */
export const nodeStorage: Storage = {
  open: (path, mode) => open(path, mode),
  readFile: (path) => readFile(path),
  readdir: (dir) => readdir(dir),
  mkdir: (dir) => mkdir(dir, { recursive: true }),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  truncate: (path, length) => truncate(path, length),
  async syncDir(dir) {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  },
};

/**
 * mkdir -p whose result survives a power cut: each directory it creates is recorded in its
 * parent, so the parent is fsynced too (a new dataDir/version-2 would otherwise vanish with every
 * file later made durable in it).
 */
export async function mkdirDurable(storage: Storage, dir: string): Promise<void> {
  const first = await storage.mkdir(dir);
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    await storage.syncDir(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
}

/**
 * Writes `length` bytes of `bytes` at `position`, then fdatasyncs when `sync`; resolves with the
 * fdatasync's own duration in ms (0 without one). The txn log's step for every batch: on a real
 * file it goes through node:fs's callbacks, straight from the write's completion to the fdatasync,
 * where FileHandle's promises cost a dozen objects per call and a hop through the microtask queue
 * between the two: garbage and delay on every acknowledged write.
 */
export function writeThenSync(file: StorageFile, bytes: Buffer, length: number, position: number, sync: boolean): Promise<number> {
  const fd = file.fd;
  if (fd === undefined) {
    return file.write(bytes, 0, length, position).then(async () => {
      if (!sync) return 0;
      const t0 = performance.now();
      await file.datasync();
      return performance.now() - t0;
    });
  }
  return new Promise((resolve, reject) => {
    write(fd, bytes, 0, length, position, (err, written) => {
      if (err) return reject(err);
      // A regular file takes a positional write whole or fails: a short one is an error, not a retry.
      if (written !== length) return reject(new Error(`short write to the log: ${written} of ${length} bytes`));
      if (!sync) return resolve(0);
      const t0 = performance.now();
      fdatasync(fd, (e) => (e ? reject(e) : resolve(performance.now() - t0)));
    });
  });
}

/** fsync of a file by path. */
export async function syncFile(storage: Storage, path: string): Promise<void> {
  const fh = await storage.open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
