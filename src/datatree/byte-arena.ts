/**
 * Small byte strings (znode names and small values) packed into chunks outside the JS heap.
 * A JS Buffer per value costs about 80 bytes of object on top of its bytes, and millions of them
 * make every major GC slower; here a value costs its length rounded up to 4 bytes.
 *
 * An address is a number of 4-byte units: chunk index * units per chunk + unit offset, so it fits
 * an Int32Array column (8 GiB of arena). Freed space goes to a free list per size and is reused by
 * the next allocation of the same size; chunks are never returned.
 */
/**
 * Chunks double from 1 MiB up to 32 MiB, then stay at 32 MiB. glibc serves a request of 32 MiB
 * with a fresh mmap whatever its dynamic mmap threshold (which stops there), so such a chunk costs
 * RSS only as its pages are filled. With 1 MiB chunks only, once the threshold had risen (it follows
 * the largest block freed, such as a grown column), chunks came from the brk heap between
 * short-lived buffers (log batches, snapshot chunks), whose holes could not be given back. Small
 * trees (and the many trees of the tests) still take a small first chunk.
 */
export const DEFAULT_CHUNK_BYTES = 1 << 25;
const FIRST_CHUNK_BYTES = 1 << 20;

export class ByteArena {
  /** The largest value kept here; bigger values belong elsewhere (names of any length are kept). */
  static readonly MAX_BYTES = 4096;

  private readonly chunks: Buffer[] = [];
  /** Address units per chunk number, whatever the chunk's size: addresses stay chunk * unitsPerChunk + offset. */
  private readonly unitsPerChunk: number;
  /** Byte offset of the first unused byte of the last chunk. */
  private top = 0;
  /** The size of the last chunk (0: none, or an oversized one, which takes no more). */
  private limit = 0;
  private reserved = 0;
  /** Free addresses by size in units. */
  private readonly freeLists: number[][] = [];
  private liveBytes = 0;

  /** `chunkBytes`: the largest chunk, a multiple of 4; smaller than the default only in tests (of names longer than a chunk). */
  constructor(private readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.unitsPerChunk = chunkBytes >>> 2;
  }

  /** Reserves `len` bytes (at least 1) and returns their address. */
  alloc(len: number): number {
    const units = (len + 3) >>> 2;
    this.liveBytes += units << 2;
    const list = this.freeLists[units];
    if (list !== undefined && list.length > 0) return list.pop()!;
    if (units << 2 > this.chunkBytes) return this.allocOversized(units << 2);
    if (this.top + (units << 2) > this.limit) {
      const size = Math.min(this.chunkBytes, Math.max(FIRST_CHUNK_BYTES * 2 ** Math.min(this.chunks.length, 8), units << 2));
      this.chunks.push(Buffer.allocUnsafeSlow(size));
      this.reserved += size;
      this.top = 0;
      this.limit = size;
    }
    const addr = (this.chunks.length - 1) * this.unitsPerChunk + (this.top >>> 2);
    this.top += units << 2;
    return addr;
  }

  /**
   * More than a chunk (a name, if jute.maxbuffer was raised past the chunk size): a buffer of its own
   * that takes as many chunk numbers as it spans, so that addresses stay chunk number * units per chunk.
   */
  private allocOversized(bytes: number): number {
    const own = Buffer.allocUnsafeSlow(bytes);
    const first = this.chunks.length;
    for (let at = 0; at < bytes; at += this.chunkBytes) this.chunks.push(own.subarray(at));
    this.reserved += bytes;
    this.top = this.limit = 0; // the next allocation starts a chunk of its own
    return first * this.unitsPerChunk;
  }

  /** Gives back what alloc(len) returned. */
  free(addr: number, len: number): void {
    const units = (len + 3) >>> 2;
    this.liveBytes -= units << 2;
    (this.freeLists[units] ??= []).push(addr);
  }

  /** The chunk holding `addr`; the bytes start at offsetOf(addr). */
  chunkOf(addr: number): Buffer {
    return this.chunks[Math.floor(addr / this.unitsPerChunk)]!;
  }

  offsetOf(addr: number): number {
    return (addr % this.unitsPerChunk) << 2;
  }

  /** Copies `len` bytes at `addr` into a new Buffer. */
  copyOut(addr: number, len: number): Buffer {
    const out = Buffer.allocUnsafe(len);
    const at = this.offsetOf(addr);
    this.chunkOf(addr).copy(out, 0, at, at + len);
    return out;
  }

  /** A view of the bytes at `addr`, valid only until they are freed. */
  view(addr: number, len: number): Buffer {
    const at = this.offsetOf(addr);
    return this.chunkOf(addr).subarray(at, at + len);
  }

  /** Stores src[start, end) at a new address. */
  store(src: Uint8Array, start: number, end: number): number {
    const addr = this.alloc(end - start);
    const chunk = this.chunkOf(addr);
    const at = this.offsetOf(addr);
    // Up to about 24 bytes (names) a plain loop beats a native copy and the view it needs.
    if (end - start <= 24) for (let i = start; i < end; i++) chunk[at + i - start] = src[i]!;
    else chunk.set(src.subarray(start, end), at);
    return addr;
  }

  /** Bytes in live allocations (rounded up to units). */
  get usedBytes(): number {
    return this.liveBytes;
  }

  /** Bytes of chunks reserved from the system. */
  get reservedBytes(): number {
    return this.reserved;
  }

  clear(): void {
    this.chunks.length = 0;
    this.freeLists.length = 0;
    this.top = this.limit = this.reserved = 0;
    this.liveBytes = 0;
  }
}
