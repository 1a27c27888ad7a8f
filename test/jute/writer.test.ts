/**
 * JuteWriter.long writes a bigint's 64-bit two's complement big-endian without making bigints of
 * its own: the bytes must be Buffer.writeBigInt64BE's of the value wrapped to 64 bits, for values
 * inside and outside the signed range (callers pass ids that may have wrapped).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JuteWriter } from '../../src/jute/writer.js';

function oracle(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, v));
  return b;
}

describe('JuteWriter.long', () => {
  it('writes what writeBigInt64BE writes for the value modulo 2^64', () => {
    const edges = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 0x7ffffffen << 32n];
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }), fc.constantFrom(...edges)), fc.nat(7), (v, pad) => {
        const w = new JuteWriter(1); // grows while writing: the long lands at an offset in a reallocated buffer
        for (let i = 0; i < pad; i++) w.bool(true);
        w.long(v);
        expect(w.bytes().subarray(pad)).toEqual(oracle(v));
      }),
      { numRuns: 2000 },
    );
  });
});
