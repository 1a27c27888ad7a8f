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
    const b = this.buf;
    const o = this.offset;
    this.offset += 8;
    // Most longs on the wire are 0 (ephemeralOwner of persistent nodes, fresh session ids): no
    // BigInt to allocate for those.
    if (b[o] === 0 && b[o + 1] === 0 && b[o + 2] === 0 && b[o + 3] === 0 && b[o + 4] === 0 && b[o + 5] === 0 && b[o + 6] === 0 && b[o + 7] === 0) return 0n;
    return b.readBigInt64BE(o);
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
    let s = this.buf.toString('utf8', this.offset, this.offset + len);
    // Java clients write characters outside the BMP as CESU-8 surrogates (see JuteWriter), which
    // ZooKeeper's UTF-8 decoder turns into one U+FFFD per surrogate. We decode them the same way.
    if (s.includes('\ufffd') && this.buf.subarray(this.offset, this.offset + len).includes(0xed)) {
      s = decodeLikeJava(this.buf, this.offset, this.offset + len);
    }
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

/**
 * UTF-8 decoding as Java's decoder does it for what Jute writers send: a 3-byte encoded surrogate
 * (CESU-8) becomes a single U+FFFD, as does any other malformed byte.
 */
function decodeLikeJava(buf: Buffer, start: number, end: number): string {
  const units: number[] = [];
  let i = start;
  const cont = (k: number) => k < end && (buf[k]! & 0xc0) === 0x80;
  while (i < end) {
    const b = buf[i]!;
    if (b < 0x80) {
      units.push(b);
      i += 1;
    } else if ((b & 0xe0) === 0xc0 && cont(i + 1)) {
      units.push(((b & 0x1f) << 6) | (buf[i + 1]! & 0x3f));
      i += 2;
    } else if ((b & 0xf0) === 0xe0 && cont(i + 1) && cont(i + 2)) {
      const unit = ((b & 0x0f) << 12) | ((buf[i + 1]! & 0x3f) << 6) | (buf[i + 2]! & 0x3f);
      units.push(unit >= 0xd800 && unit <= 0xdfff ? 0xfffd : unit);
      i += 3;
    } else if ((b & 0xf8) === 0xf0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      const cp = ((b & 0x07) << 18) | ((buf[i + 1]! & 0x3f) << 12) | ((buf[i + 2]! & 0x3f) << 6) | (buf[i + 3]! & 0x3f);
      units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      i += 4;
    } else {
      units.push(0xfffd);
      i += 1;
    }
  }
  let out = '';
  for (let k = 0; k < units.length; k += 4096) out += String.fromCharCode(...units.slice(k, k + 4096));
  return out;
}
