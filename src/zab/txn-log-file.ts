/**
 * Apache ZooKeeper 3.8's transaction log files (FileTxnLog, Util, FilePadding), byte for byte:
 *
 *   FileHeader{magic int 'ZKLG', version int 2, dbid long 0}
 *   entries: crc long (Adler32 of the payload, 0..2^32-1), payload as a Jute buffer (int length +
 *            bytes, see txn-codec.ts), EOR byte 0x42 ('B')
 *   zeros: the file is preallocated in 64 MiB steps, so a zero length marks the end
 *
 * A file is named log.<hex zxid of its first entry>. This module encodes entries (the caller appends
 * and fsyncs them) and reads files back, stopping at the first entry that is not whole and sound and
 * saying where that is, so the caller can truncate there. It also lists a data dir's log and
 * snapshot files and picks the logs a recovery needs.
 */
import { join } from 'node:path';
import { JuteError, JuteWriter } from '../jute/index.js';
import { nodeStorage, type Storage, type StorageFile } from '../storage/storage.js';
import { adler32 } from './checksum.js';
import { decodeTxnEntry, writeTxnEntry, type DecodedTxnEntry, type TxnEntry } from './txn-codec.js';

/** "ZKLG" as a big-endian int (FileTxnLog.TXNLOG_MAGIC). */
export const TXNLOG_MAGIC = 0x5a4b4c47;
/** "ZKSN" as a big-endian int (FileSnap.SNAP_MAGIC). */
export const SNAP_MAGIC = 0x5a4b534e;
export const FILE_FORMAT_VERSION = 2;
export const FILE_HEADER_SIZE = 16;
/** The End Of Record byte after each entry. */
export const EOR = 0x42;
/** crc long + length int before a payload, EOR byte after it. */
export const ENTRY_OVERHEAD = 13;
/** FilePadding's default preallocation step (zookeeper.preAllocSize, in KiB there). */
export const DEFAULT_PREALLOC_SIZE = 64 * 1024 * 1024;

export interface FileHeader {
  magic: number;
  version: number;
  dbid: bigint;
}

// ---------------------------------------------------------------------------------------------
// writing

/** The 16-byte header a new log file starts with. ZooKeeper writes dbid 0 in logs (and -1 in snapshots). */
export function encodeLogFileHeader(dbid = 0n): Buffer {
  const b = Buffer.alloc(FILE_HEADER_SIZE);
  b.writeInt32BE(TXNLOG_MAGIC, 0);
  b.writeInt32BE(FILE_FORMAT_VERSION, 4);
  b.writeBigInt64BE(dbid, 8);
  return b;
}

const EOR_BYTE = Buffer.from([EOR]);

/** Appends one framed entry (crc, length, payload, EOR) to `w`. */
export function writeLogEntry(w: JuteWriter, entry: TxnEntry): void {
  const crcAt = w.offset;
  w.long(0n);
  const frame = w.startFrame();
  writeTxnEntry(w, entry.txn, entry.digest);
  w.finishFrame(frame);
  const end = w.offset;
  w.raw(EOR_BYTE);
  // w.buf may have been reallocated while writing: take it only now.
  w.buf.writeUInt32BE(adler32(w.buf, frame + 4, end), crcAt + 4);
}

/**
 * One log entry from the bytes of its TxnHeader, record and digest as they were already encoded (a
 * PROPOSAL's payload): the log holds exactly what the leader sent, with no decode and re-encode.
 */
export function writeEncodedLogEntry(w: JuteWriter, payload: Buffer): void {
  const crcAt = w.offset;
  w.long(0n);
  const frame = w.startFrame();
  w.raw(payload);
  w.finishFrame(frame);
  const end = w.offset;
  w.raw(EOR_BYTE);
  w.buf.writeUInt32BE(adler32(w.buf, frame + 4, end), crcAt + 4);
}

/** One framed entry, ready to append to a log file. */
export function encodeLogEntry(entry: TxnEntry): Buffer {
  const w = new JuteWriter(256);
  writeLogEntry(w, entry);
  return w.bytes(); // the writer is dropped: its buffer is ours
}

/** Several framed entries in one Buffer: a group commit's single write. */
export function encodeLogEntries(entries: Iterable<TxnEntry>, initialSize = 4096): Buffer {
  const w = new JuteWriter(initialSize);
  for (const e of entries) writeLogEntry(w, e);
  return w.bytes();
}

/**
 * FilePadding.calculateFileSizeWithPadding: the size a log file should be extended to (with zeros)
 * before writing at `position`, given its current size. ZooKeeper grows the file by `preAllocSize`
 * whenever a write comes within 4 KiB of its end; returns `fileSize` unchanged when no growth is due.
 */
export function paddedFileSize(position: number, fileSize: number, preAllocSize = DEFAULT_PREALLOC_SIZE): number {
  if (preAllocSize > 0 && position + 4096 >= fileSize) {
    if (position > fileSize) {
      fileSize = position + preAllocSize;
      fileSize -= fileSize % preAllocSize;
    } else {
      fileSize += preAllocSize;
    }
  }
  return fileSize;
}

// ---------------------------------------------------------------------------------------------
// reading

export interface LogEntry extends DecodedTxnEntry {
  /** File offset of the entry's crc. */
  offset: number;
  /** Bytes the framed entry takes (payload + 13). */
  size: number;
}

/**
 * Where and why reading stopped. `offset` is the end of the last sound entry (the header's end if
 * none): everything before it is valid, and a writer resuming this file truncates it there.
 *  - eof: the file ends exactly after an entry.
 *  - padding: a zero length (preallocated zeros) at `offset`: ZooKeeper's normal end of a log.
 *  - torn: an entry that is not whole and sound starts at `offset`: cut short by the end of the file,
 *    a checksum mismatch, a byte other than 'B' after it, or an impossible length. What a crash
 *    during an append leaves behind (or a corrupted disk).
 *  - undecodable: a whole entry with a good checksum that we cannot decode (an unknown txn type,
 *    say). Not a torn write: truncating there would drop a committed txn.
 */
export interface LogEnd {
  kind: 'eof' | 'padding' | 'torn' | 'undecodable';
  offset: number;
  reason?: string;
  /** With `verifyPadding`: the offset of a non-zero byte after a padding end, if any. */
  nonZeroAt?: number;
}

export interface LogReadResult {
  /** undefined when the file is shorter than a header (end is then torn at 0). */
  header: FileHeader | undefined;
  entries: LogEntry[];
  end: LogEnd;
}

export interface LogReadOptions {
  /** After a padding end, scan the rest for non-zero bytes (reported as end.nonZeroAt). */
  verifyPadding?: boolean;
  /**
   * Entries with a zxid up to this one are checked (checksum, end-of-record byte) but not decoded
   * or returned: recovery needs only what follows its snapshot.
   */
  skipThrough?: number;
  /** Where the file is (default: the real file system). */
  storage?: Storage;
}

/** Thrown for a file that is not a txn log at all (a whole header with the wrong magic). */
export class LogFormatError extends Error {
  override readonly name = 'LogFormatError';
}

type Step =
  | { kind: 'entry'; entry: LogEntry }
  | { kind: 'skipped'; size: number }
  | { kind: 'need'; upTo: number }
  | { kind: 'end'; end: LogEnd };

/**
 * Examines the entry at absolute file offset `pos`, given a window `buf` holding the file's bytes
 * [base, base + buf.length) and the file's total size.
 */
function step(buf: Buffer, base: number, pos: number, fileSize: number, skipThrough = -1): Step {
  const off = pos - base;
  const avail = buf.length - off;
  const left = fileSize - pos;
  if (left === 0) return { kind: 'end', end: { kind: 'eof', offset: pos } };
  if (left < 12) {
    if (avail < left) return { kind: 'need', upTo: fileSize };
    for (let i = 0; i < left; i++) {
      if (buf[off + i] !== 0) return { kind: 'end', end: { kind: 'torn', offset: pos, reason: `the file ends inside an entry's crc and length (${left} bytes left)` } };
    }
    return { kind: 'end', end: { kind: 'padding', offset: pos } };
  }
  if (avail < 12) return { kind: 'need', upTo: pos + 12 };
  const len = buf.readInt32BE(off + 8);
  if (len === 0) return { kind: 'end', end: { kind: 'padding', offset: pos } };
  if (len < 0) return { kind: 'end', end: { kind: 'torn', offset: pos, reason: `invalid entry length ${len}` } };
  const size = len + ENTRY_OVERHEAD;
  if (size > left) {
    return { kind: 'end', end: { kind: 'torn', offset: pos, reason: `entry of ${len} bytes cut short by the end of the file (${left - 12} bytes left)` } };
  }
  if (avail < size) return { kind: 'need', upTo: pos + size };
  const crcHi = buf.readUInt32BE(off);
  const crcLo = buf.readUInt32BE(off + 4);
  const payloadStart = off + 12;
  const payloadEnd = payloadStart + len;
  const sum = adler32(buf, payloadStart, payloadEnd);
  if (crcHi !== 0 || crcLo !== sum) {
    return { kind: 'end', end: { kind: 'torn', offset: pos, reason: `checksum mismatch: stored ${hex64(crcHi, crcLo)}, computed 0x${sum.toString(16)}` } };
  }
  if (buf[payloadEnd] !== EOR) {
    return { kind: 'end', end: { kind: 'torn', offset: pos, reason: `missing end-of-record byte: 0x${buf[payloadEnd]!.toString(16)} instead of 0x42` } };
  }
  // TxnHeader: clientId long, cxid int, zxid long.
  if (len >= 20 && buf.readInt32BE(payloadStart + 12) * 4294967296 + buf.readUInt32BE(payloadStart + 16) <= skipThrough) {
    return { kind: 'skipped', size };
  }
  let decoded: DecodedTxnEntry;
  try {
    decoded = decodeTxnEntry(buf.subarray(payloadStart, payloadEnd));
  } catch (e) {
    if (!(e instanceof JuteError)) throw e;
    return { kind: 'end', end: { kind: 'undecodable', offset: pos, reason: e.message } };
  }
  // Built field by field: spreading `decoded` (two shapes, with and without a digest) took most of
  // the time of reading a log.
  const entry: LogEntry = { txn: decoded.txn, headerType: decoded.headerType, offset: pos, size };
  if (decoded.digest) entry.digest = decoded.digest;
  return { kind: 'entry', entry };
}

function hex64(hi: number, lo: number): string {
  return '0x' + (hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0'));
}

function readHeader(buf: Buffer, what: string): FileHeader | undefined {
  if (buf.length < FILE_HEADER_SIZE) return undefined;
  const header = { magic: buf.readInt32BE(0), version: buf.readInt32BE(4), dbid: buf.readBigInt64BE(8) };
  // ZooKeeper checks the magic only, not the version.
  if (header.magic !== TXNLOG_MAGIC) {
    throw new LogFormatError(`${what} is not a ZooKeeper txn log: magic 0x${(header.magic >>> 0).toString(16)}`);
  }
  return header;
}

function firstNonZero(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return i;
  return -1;
}

/** Reads every sound entry of a whole log file held in memory. Throws LogFormatError if it is not a log. */
export function readLog(buf: Buffer, options: LogReadOptions = {}): LogReadResult {
  const header = readHeader(buf, 'buffer');
  if (!header) return { header, entries: [], end: { kind: 'torn', offset: 0, reason: `the file is shorter than its header (${buf.length} bytes)` } };
  const entries: LogEntry[] = [];
  let pos = FILE_HEADER_SIZE;
  for (;;) {
    const s = step(buf, 0, pos, buf.length, options.skipThrough);
    if (s.kind === 'entry') {
      entries.push(s.entry);
      pos += s.entry.size;
      continue;
    }
    if (s.kind === 'skipped') {
      pos += s.size;
      continue;
    }
    if (s.kind === 'need') throw new Error('unreachable: the whole file is in memory');
    if (s.end.kind === 'padding' && options.verifyPadding) {
      const nz = firstNonZero(buf, pos);
      if (nz >= 0) s.end.nonZeroAt = nz;
    }
    return { header, entries, end: s.end };
  }
}

const READ_CHUNK = 1 << 20;

/**
 * Streams the sound entries of a log file from disk, reading it in chunks and not past its padding
 * (ZooKeeper's files are 64 MiB of mostly zeros), the entries of each chunk in one batch (a promise
 * per entry would cost more than reading it). The generator's return value is how it ended.
 * Throws LogFormatError if the file is not a log.
 */
export async function* streamLogFile(path: string, options: LogReadOptions = {}): AsyncGenerator<LogEntry[], LogReadResult['end'] & { header: FileHeader | undefined }> {
  const fh = await (options.storage ?? nodeStorage).open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    let buf = Buffer.alloc(0);
    let base = 0;
    const fill = async (upTo: number): Promise<void> => {
      // Keep the unconsumed tail [pos, ...) and read at least up to `upTo`.
      const want = Math.min(fileSize, Math.max(upTo, base + buf.length + READ_CHUNK)) - (base + buf.length);
      const next = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(next, got, want - got, base + buf.length + got);
        if (bytesRead === 0) throw new Error(`${path} shrank while being read`);
        got += bytesRead;
      }
      buf = buf.length === 0 ? next : Buffer.concat([buf, next]);
    };
    await fill(Math.min(fileSize, FILE_HEADER_SIZE));
    const header = readHeader(buf, path);
    if (!header) return { header, kind: 'torn', offset: 0, reason: `the file is shorter than its header (${fileSize} bytes)` };
    let pos = FILE_HEADER_SIZE;
    let batch: LogEntry[] = [];
    for (;;) {
      const s = step(buf, base, pos, fileSize, options.skipThrough);
      if (s.kind === 'entry') {
        pos += s.entry.size;
        batch.push(s.entry);
        continue;
      }
      if (s.kind === 'skipped') {
        pos += s.size;
        continue;
      }
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
      if (s.kind === 'need') {
        // Drop what was consumed, then read more.
        buf = buf.subarray(pos - base);
        base = pos;
        await fill(s.upTo);
        continue;
      }
      if (s.end.kind === 'padding' && options.verifyPadding) {
        const nz = await firstNonZeroInFile(fh, pos, fileSize);
        if (nz >= 0) s.end.nonZeroAt = nz;
      }
      return { header, ...s.end };
    }
  } finally {
    await fh.close();
  }
}

async function firstNonZeroInFile(fh: StorageFile, from: number, fileSize: number): Promise<number> {
  const chunk = Buffer.allocUnsafe(READ_CHUNK);
  for (let pos = from; pos < fileSize; ) {
    const { bytesRead } = await fh.read(chunk, 0, Math.min(READ_CHUNK, fileSize - pos), pos);
    if (bytesRead === 0) break;
    const i = firstNonZero(chunk.subarray(0, bytesRead), 0);
    if (i >= 0) return pos + i;
    pos += bytesRead;
  }
  return -1;
}

/** Reads a whole log file from disk into a LogReadResult (see streamLogFile). */
export async function readLogFile(path: string, options: LogReadOptions = {}): Promise<LogReadResult> {
  const entries: LogEntry[] = [];
  const it = streamLogFile(path, options);
  for (;;) {
    const r = await it.next();
    if (r.done) {
      const { header, ...end } = r.value;
      return { header, entries, end };
    }
    for (const e of r.value) entries.push(e);
  }
}

// ---------------------------------------------------------------------------------------------
// file names and data dirs

export const LOG_FILE_PREFIX = 'log';
export const SNAPSHOT_FILE_PREFIX = 'snapshot';
/**
 * The next log file, made ahead of its use and renamed to log.<zxid> at its first batch (see
 * FileTxnLog). No acknowledged txn is ever in a file of this name: recovery removes it.
 */
export const SPARE_LOG_FILE = 'tmp.log.next';

/** Util.makeLogName: "log." + Long.toHexString(zxid), lowercase and unpadded. */
export function logFileName(zxid: number): string {
  return `${LOG_FILE_PREFIX}.${zxidHex(zxid)}`;
}

/** Long.toHexString of a zxid (two's complement for a negative one, as Java prints it). */
export function zxidHex(zxid: number): string {
  if (!Number.isSafeInteger(zxid)) throw new RangeError(`zxid ${zxid} is not a safe integer`);
  return zxid >= 0 ? zxid.toString(16) : BigInt.asUintN(64, BigInt(zxid)).toString(16);
}

/**
 * Util.getZxidFromName: the zxid of "<prefix>.<hex>[.anything]", or -1 when the name does not have
 * that form. Note that, as in ZooKeeper, "log.1f.bak" names zxid 0x1f too.
 */
export function zxidFromFileName(name: string, prefix: string): number {
  const parts = name.split('.');
  if (parts.length < 2 || parts[0] !== prefix) return -1;
  // Long.parseLong(s, 16): an optional sign, then hex digits, within the range of a long.
  const m = /^([+-]?)([0-9a-fA-F]+)$/.exec(parts[1]!);
  if (!m) return -1;
  let v = BigInt('0x' + m[2]!);
  if (m[1] === '-') v = -v;
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) return -1;
  const n = Number(v);
  // zxids beyond 2^53 would need an epoch above 2^21: treat such a name as not ours.
  return Number.isSafeInteger(n) ? n : -1;
}

export type SnapshotCompression = 'none' | 'gz' | 'snappy';

/** SnapStream.getStreamMode(fileName): by the last extension, 'gz' or 'snappy' (any case), else none. */
export function snapshotCompressionOf(name: string): SnapshotCompression {
  const parts = name.split('.');
  if (parts.length > 1) {
    const ext = parts[parts.length - 1]!.toLowerCase();
    if (ext === 'gz') return 'gz';
    if (ext === 'snappy') return 'snappy';
  }
  return 'none';
}

export interface DataFile {
  name: string;
  path: string;
  zxid: number;
}

export interface SnapshotFile extends DataFile {
  compression: SnapshotCompression;
}

/** Log files sorted by zxid, ascending (names that are not logs are left out). */
export function sortLogFiles<T extends { name: string }>(files: readonly T[]): (T & { zxid: number })[] {
  return files
    .map((f) => ({ ...f, zxid: zxidFromFileName(f.name, LOG_FILE_PREFIX) }))
    .filter((f) => f.zxid >= 0 && f.name.startsWith(LOG_FILE_PREFIX + '.'))
    .sort((a, b) => a.zxid - b.zxid);
}

/** Snapshot files sorted by zxid, most recent first (as FileSnap.findNValidSnapshots walks them). */
export function sortSnapshotFiles<T extends { name: string }>(files: readonly T[]): (T & { zxid: number; compression: SnapshotCompression })[] {
  return files
    .map((f) => ({ ...f, zxid: zxidFromFileName(f.name, SNAPSHOT_FILE_PREFIX), compression: snapshotCompressionOf(f.name) }))
    .filter((f) => f.zxid >= 0)
    .sort((a, b) => b.zxid - a.zxid);
}

/**
 * FileTxnLog.getLogFiles(files, snapshotZxid): the logs that may hold txns after `snapshotZxid`,
 * ascending: the last log starting at or before it (it may hold txns on both sides), and every later
 * one. Its entries up to `snapshotZxid` are to be skipped by the caller (FileTxnIterator does).
 * If no log starts at or before it, all logs are returned.
 */
export function logsToReplay<T extends { zxid: number }>(sortedLogs: readonly T[], snapshotZxid: number): T[] {
  let logZxid = 0;
  for (const f of sortedLogs) {
    if (f.zxid > snapshotZxid) break;
    if (f.zxid > logZxid) logZxid = f.zxid;
  }
  return sortedLogs.filter((f) => f.zxid >= logZxid);
}

/** The log and snapshot files of a dir (ZooKeeper's dataDir/version-2): logs ascending, snapshots most recent first. */
export async function listDataDir(dir: string, storage: Storage = nodeStorage): Promise<{ logs: DataFile[]; snapshots: SnapshotFile[] }> {
  const names = await storage.readdir(dir);
  const files = names.map((name) => ({ name, path: join(dir, name) }));
  return { logs: sortLogFiles(files), snapshots: sortSnapshotFiles(files.filter((f) => f.name.startsWith(SNAPSHOT_FILE_PREFIX + '.'))) };
}

/**
 * SnapStream.isValidSnapshot, the cheap test ZooKeeper applies before trying a snapshot: a name with
 * a zxid and, for an uncompressed one, at least 10 bytes ending in the seal's "/" (int 1, '/'). For
 * gz it checks the gzip magic; for snappy, snappy-java's stream magic.
 */
export async function isValidSnapshotFile(
  path: string,
  name = path.substring(path.lastIndexOf('/') + 1),
  storage: Storage = nodeStorage,
): Promise<boolean> {
  if (zxidFromFileName(name, SNAPSHOT_FILE_PREFIX) === -1) return false;
  let fh;
  try {
    fh = await storage.open(path, 'r');
  } catch {
    return false;
  }
  try {
    const size = (await fh.stat()).size;
    const compression = snapshotCompressionOf(name);
    if (compression === 'gz') {
      const b = Buffer.alloc(2);
      const { bytesRead } = await fh.read(b, 0, 2, 0);
      return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
    }
    if (compression === 'snappy') {
      const magic = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // SnappyCodec.MAGIC_HEADER
      const b = Buffer.alloc(magic.length);
      const { bytesRead } = await fh.read(b, 0, b.length, 0);
      return bytesRead === b.length && b.equals(magic);
    }
    if (size < 10) return false;
    const b = Buffer.alloc(5);
    const { bytesRead } = await fh.read(b, 0, 5, size - 5);
    return bytesRead === 5 && b.readInt32BE(0) === 1 && b[4] === 0x2f;
  } finally {
    await fh.close();
  }
}
