/**
 * The two checksums of ZooKeeper's persistence: Adler32 (java.util.zip.Adler32) guards every txn log
 * entry and the whole snapshot stream; CRC32 (java.util.zip.CRC32) is the per-node hash of the tree
 * digest (DigestCalculator). Node exposes neither Adler32 nor, before 20.15, CRC32.
 */
import * as zlib from 'node:zlib';

const ADLER_MOD = 65521;
/**
 * Bytes that can be summed before reducing modulo 65521 without `b` leaving the uint32 range
 * (zlib's NMAX): keeps the loop on V8's fast integer path.
 */
const NMAX = 5552;

/**
 * Adler32 of buf[start, end), continuing from `prev` (the value of the bytes before; 1 for none), so
 * a stream can be checksummed chunk by chunk. Returns the unsigned 32-bit value, which Java's
 * Checksum.getValue() returns as a non-negative long.
 */
export function adler32(buf: Uint8Array, start = 0, end = buf.length, prev = 1): number {
  let a = prev & 0xffff;
  let b = prev >>> 16;
  let i = start;
  while (i < end) {
    const stop = Math.min(end, i + NMAX);
    const stop8 = stop - 8;
    while (i <= stop8) {
      a += buf[i]!;
      b += a;
      a += buf[i + 1]!;
      b += a;
      a += buf[i + 2]!;
      b += a;
      a += buf[i + 3]!;
      b += a;
      a += buf[i + 4]!;
      b += a;
      a += buf[i + 5]!;
      b += a;
      a += buf[i + 6]!;
      b += a;
      a += buf[i + 7]!;
      b += a;
      i += 8;
    }
    while (i < stop) {
      a += buf[i++]!;
      b += a;
    }
    a %= ADLER_MOD;
    b %= ADLER_MOD;
  }
  return (b * 65536 + a) >>> 0;
}

let crcTable: Int32Array | undefined;

function crc32Fallback(buf: Uint8Array, prev: number): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~prev;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC32 (the zip/zlib polynomial, as java.util.zip.CRC32) of `buf`, continuing from `prev` (0 for none). */
export function crc32(buf: Uint8Array, prev = 0): number {
  return nativeCrc32 ? nativeCrc32(buf, prev) : crc32Fallback(buf, prev);
}

/** Below this many bytes a JS loop beats a call into zlib (and needs no subarray). */
const NATIVE_CRC_MIN = 192;

/** Four CRC tables for slicing-by-4: table k (at k * 256) advances a byte through k more zero bytes. */
let crcTables4: Int32Array | undefined;

function slicingTables(): Int32Array {
  if (!crcTable) crc32Fallback(new Uint8Array(0), 0);
  const t0 = crcTable!;
  const t = new Int32Array(1024);
  t.set(t0);
  for (let k = 1; k < 4; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t0[prev & 0xff]!;
    }
  }
  return t;
}

/**
 * CRC32 of buf[start, end), continuing from `prev`: the tree digest's per-node hash, mostly of short
 * inputs (a path, a value of some 100 bytes, 60 stat bytes), four bytes per step.
 */
export function crc32Range(buf: Uint8Array, start: number, end: number, prev = 0): number {
  if (end - start >= NATIVE_CRC_MIN && nativeCrc32) return nativeCrc32(buf.subarray(start, end), prev);
  const t = (crcTables4 ??= slicingTables());
  let c = ~prev;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** For tests: the table-driven CRC32 used when node:zlib has none. */
export const crc32Portable = crc32Fallback;
