const TWO_32 = 4294967296;
/**
 * Scratch for long(): a DataView converts a bigint to its 64-bit two's complement without making
 * new bigints, where writeBigInt64BE and BigInt.asIntN allocate several per call (session ids and
 * ephemeral owners are written for every write request; their garbage showed in GC pauses).
 */
const LONG_SCRATCH = new Uint8Array(8);
const LONG_VIEW = new DataView(LONG_SCRATCH.buffer);
const SURROGATE = /[\ud800-\udfff]/;

/** Appends Jute primitives to one growing Buffer. */
export class JuteWriter {
  buf: Buffer;
  offset = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(n: number): void {
    if (this.offset + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.offset + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  int(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.offset);
    this.offset += 4;
  }

  long(v: bigint): void {
    this.ensure(8);
    LONG_VIEW.setBigInt64(0, v); // big-endian, modulo 2^64 as BigInt.asIntN(64, v)
    this.buf.set(LONG_SCRATCH, this.offset);
    this.offset += 8;
  }

  /** A 64-bit long from a JS number (zxids, times); see JuteReader.longNumber. */
  longNumber(v: number): void {
    this.ensure(8);
    this.buf.writeInt32BE(Math.floor(v / TWO_32), this.offset);
    this.buf.writeUInt32BE(v >>> 0, this.offset + 4);
    this.offset += 8;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.offset++] = v ? 1 : 0;
  }

  buffer(v: Buffer | null): void {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.ensure(v.length);
    v.copy(this.buf, this.offset);
    this.offset += v.length;
  }

  ustring(v: string | null): void {
    if (v === null) return this.int(-1);
    if (SURROGATE.test(v)) return this.cesu8(v);
    const len = Buffer.byteLength(v, 'utf8');
    this.int(len);
    this.ensure(len);
    this.buf.write(v, this.offset, len, 'utf8');
    this.offset += len;
  }

  /**
   * Jute's BinaryOutputArchive encodes each UTF-16 unit on its own, so a character outside the BMP
   * becomes two 3-byte surrogates (CESU-8), not one 4-byte UTF-8 sequence. We write what it writes.
   */
  private cesu8(v: string): void {
    const start = this.offset;
    this.int(0);
    this.ensure(v.length * 3);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x80) {
        this.buf[this.offset++] = c;
      } else if (c < 0x800) {
        this.buf[this.offset++] = 0xc0 | (c >> 6);
        this.buf[this.offset++] = 0x80 | (c & 0x3f);
      } else {
        this.buf[this.offset++] = 0xe0 | (c >> 12);
        this.buf[this.offset++] = 0x80 | ((c >> 6) & 0x3f);
        this.buf[this.offset++] = 0x80 | (c & 0x3f);
      }
    }
    this.buf.writeInt32BE(this.offset - start - 4, start);
  }

  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.offset);
    this.offset += bytes.length;
  }

  /** Reserves a 4-byte length prefix; finishFrame(start) fills it with the byte count written since. */
  startFrame(): number {
    const start = this.offset;
    this.int(0);
    return start;
  }

  finishFrame(start: number): void {
    this.buf.writeInt32BE(this.offset - start - 4, start);
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.offset);
  }
}
