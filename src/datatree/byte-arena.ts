/**
 * Small byte strings (znode names and small values) packed into 1 MiB chunks outside the JS heap.
 * A JS Buffer per value costs about 80 bytes of object on top of its bytes, and millions of them
 * make every major GC slower; here a value costs its length rounded up to 4 bytes.
 *
 * An address is a number of 4-byte units: chunk index * UNITS_PER_CHUNK + unit offset, so it fits
 * an Int32Array column (8 GiB of arena). Freed space goes to a free list per size and is reused by
 * the next allocation of the same size; chunks are never returned.
 */
const CHUNK_BYTES = 1 << 20;
const UNITS_PER_CHUNK = CHUNK_BYTES >>> 2;

export class ByteArena {
  /** The largest value kept here; bigger values belong elsewhere (names of any length are kept). */
  static readonly MAX_BYTES = 4096;

  private readonly chunks: Buffer[] = [];
  /** Byte offset of the first unused byte of the last chunk. */
  private top = CHUNK_BYTES;
  /** Free addresses by size in units. */
  private readonly freeLists: number[][] = [];
  private liveBytes = 0;

  /** Reserves `len` bytes (at least 1) and returns their address. */
  alloc(len: number): number {
    const units = (len + 3) >>> 2;
    this.liveBytes += units << 2;
    const list = this.freeLists[units];
    if (list !== undefined && list.length > 0) return list.pop()!;
    if (units << 2 > CHUNK_BYTES) return this.allocOversized(units << 2);
    if (this.top + (units << 2) > CHUNK_BYTES) {
      this.chunks.push(Buffer.allocUnsafeSlow(CHUNK_BYTES));
      this.top = 0;
    }
    const addr = (this.chunks.length - 1) * UNITS_PER_CHUNK + (this.top >>> 2);
    this.top += units << 2;
    return addr;
  }

  /**
   * More than a chunk (a name, if jute.maxbuffer was raised past 1 MiB): a buffer of its own that
   * takes as many chunk numbers as it spans, so that addresses stay chunk number * UNITS_PER_CHUNK.
   */
  private allocOversized(bytes: number): number {
    const own = Buffer.allocUnsafeSlow(bytes);
    const first = this.chunks.length;
    for (let at = 0; at < bytes; at += CHUNK_BYTES) this.chunks.push(own.subarray(at));
    this.top = CHUNK_BYTES; // the next allocation starts a chunk of its own
    return first * UNITS_PER_CHUNK;
  }

  /** Gives back what alloc(len) returned. */
  free(addr: number, len: number): void {
    const units = (len + 3) >>> 2;
    this.liveBytes -= units << 2;
    (this.freeLists[units] ??= []).push(addr);
  }

  /** The chunk holding `addr`; the bytes start at offsetOf(addr). */
  chunkOf(addr: number): Buffer {
    return this.chunks[Math.floor(addr / UNITS_PER_CHUNK)]!;
  }

  offsetOf(addr: number): number {
    return (addr % UNITS_PER_CHUNK) << 2;
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
    return this.chunks.length * CHUNK_BYTES;
  }

  clear(): void {
    this.chunks.length = 0;
    this.freeLists.length = 0;
    this.top = CHUNK_BYTES;
    this.liveBytes = 0;
  }
}
