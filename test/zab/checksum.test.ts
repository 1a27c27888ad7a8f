import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adler32, crc32, crc32Portable, crc32Range } from '../../src/zab/checksum.js';

/** The textbook definition, for comparison. */
function adlerSlow(buf: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const x of buf) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return (b * 65536 + a) >>> 0;
}

describe('adler32', () => {
  it('matches known values', () => {
    expect(adler32(Buffer.alloc(0))).toBe(1);
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398);
    expect(adler32(Buffer.from('abc'))).toBe(0x024d0127);
    // All 0xff bytes stress the modular reduction (zlib's worst case).
    const ff = Buffer.alloc(100_000, 0xff);
    expect(adler32(ff)).toBe(adlerSlow(ff));
  });

  it('equals the definition, whole or in pieces, on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12000 }), fc.nat(), (bytes, cutSeed) => {
        const whole = adler32(bytes);
        expect(whole).toBe(adlerSlow(bytes));
        const cut = bytes.length === 0 ? 0 : cutSeed % bytes.length;
        expect(adler32(bytes, cut, bytes.length, adler32(bytes, 0, cut))).toBe(whole);
      }),
      { numRuns: 200 },
    );
  });
});

describe('crc32', () => {
  it('matches java.util.zip.CRC32 known values, native and portable', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.from('123456789'), 0)).toBe(0xcbf43926);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        expect(crc32Portable(a, 0)).toBe(crc32(a));
        expect(crc32(b, crc32(a))).toBe(crc32(Buffer.concat([a, b])));
        const cut = Math.floor(a.length / 3);
        expect(crc32Range(b, 0, b.length, crc32Range(a, cut, a.length, crc32(a.subarray(0, cut))))).toBe(crc32(Buffer.concat([a, b])));
        // Short ranges at any alignment take the slicing-by-4 loop.
        const s0 = Math.floor(a.length / 7);
        const e0 = Math.min(a.length, s0 + (a.length % 191));
        expect(crc32Range(a, s0, e0, crc32(b))).toBe(crc32(Buffer.concat([b, a.subarray(s0, e0)])));
      }),
      { numRuns: 300 },
    );
  });
});
