import { JuteError } from './errors.js';

const TWO_32 = 4294967296;

/**
 * Reads Jute primitives from one Buffer, advancing an offset. Every read checks its bounds and throws
 * JuteError on truncated or inconsistent input, so malformed client bytes never crash the server.
 */
export class JuteReader {
  offset: number;
  readonly end: number;

  constructor(readonly buf: Buffer, offset = 0, end = buf.length) {
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.end) {
      throw new JuteError(`truncated input: need ${n} bytes at offset ${this.offset}, have ${this.end - this.offset}`);
    }
  }

  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** A 64-bit long that must stay exact (session ids, ephemeral owners). */
  long(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  /**
   * A 64-bit long read as a JS number: zxids and millisecond times stay below 2^53 in practice
   * (a zxid's epoch would need to pass 2^21), and numbers are far cheaper than bigints.
   */
  longNumber(): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.offset);
    const lo = this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return hi * TWO_32 + lo;
  }

  bool(): boolean {
    this.need(1);
    return this.buf[this.offset++] !== 0;
  }

  /** Jute `buffer`: int length then bytes; length -1 means null. The result is a copy, safe to keep. */
  buffer(): Buffer | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < 0) throw new JuteError(`negative buffer length ${len}`);
    this.need(len);
    const out = Buffer.allocUnsafe(len);
    this.buf.copy(out, 0, this.offset, this.offset + len);
    this.offset += len;
    return out;
  }

  /** Jute `ustring`: int length then UTF-8 bytes; length -1 means null. */
  ustring(): string | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < 0) throw new JuteError(`negative string length ${len}`);
    this.need(len);
    const s = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return s;
  }

  /** Jute `vector` length: -1 means null, which we read as empty. */
  vectorLength(): number {
    const len = this.int();
    if (len === -1) return 0;
    if (len < 0) throw new JuteError(`negative vector length ${len}`);
    // Each element takes at least one byte: a larger count is garbage and would make us loop forever.
    if (len > this.remaining) throw new JuteError(`vector length ${len} exceeds the ${this.remaining} bytes left`);
    return len;
  }
}
