/**
 * fast-check arbitraries derived from codec shapes (src/jute/codec.ts), so that every record of
 * records.ts gets random values without a second, hand-written list of its fields.
 *
 * Values are generated in the form the codecs decode to, so decode(encode(x)) must deep-equal x:
 * vectors are never null (null on the wire decodes as []) and `path` is never null (null decodes as '').
 */
import fc from 'fast-check';
import type { Shape } from '../../src/jute/codec.js';

export interface ArbitraryOptions {
  /** Largest vector length. */
  maxVector?: number;
  /** Largest buffer length in bytes. */
  maxBytes?: number;
  /** Largest string length in graphemes. */
  maxString?: number;
}

const INT_MIN = -0x80000000;
const INT_MAX = 0x7fffffff;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const TWO_32 = 2 ** 32;

/** Values where the high/low 32-bit split of a 64-bit long is most likely to go wrong. */
const LONG_NUMBER_EDGES = [
  0, 1, -1, 2, -2,
  INT_MAX, INT_MAX + 1, INT_MIN, INT_MIN - 1,
  TWO_32 - 1, TWO_32, TWO_32 + 1, -(TWO_32 - 1), -TWO_32, -(TWO_32 + 1),
  Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, Number.MIN_SAFE_INTEGER + 1,
  2 ** 52, -(2 ** 52), 2 ** 52 + 1, -(2 ** 52 + 1),
];
const LONG_EDGES = [0n, 1n, -1n, LONG_MIN, LONG_MAX, LONG_MIN + 1n, LONG_MAX - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 31n, -(2n ** 31n) - 1n];

/** 32-bit signed ints. */
export const int32 = (): fc.Arbitrary<number> => fc.integer({ min: INT_MIN, max: INT_MAX });

/** Signed 64-bit bigints, with their edges. */
export const int64 = (): fc.Arbitrary<bigint> =>
  fc.oneof({ arbitrary: fc.bigInt({ min: LONG_MIN, max: LONG_MAX }), weight: 4 }, { arbitrary: fc.constantFrom(...LONG_EDGES), weight: 1 });

/** Safe integers (zxids, times, TTLs), negatives included, with the hi/lo split edges. */
export const safeLong = (): fc.Arbitrary<number> =>
  fc.oneof(
    { arbitrary: fc.maxSafeInteger(), weight: 3 },
    { arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), weight: 2 },
    { arbitrary: fc.constantFrom(...LONG_NUMBER_EDGES), weight: 1 },
  );

/**
 * Unicode strings within the BMP: whole graphemes (multi-byte UTF-8, combining marks) and plain
 * ZooKeeper-looking paths. Characters outside the BMP do not survive Jute's round trip, in zkts as in
 * ZooKeeper (written as CESU-8, read back as U+FFFD): golden.test.ts pins that.
 */
const bmp = (s: string) => !/[\ud800-\udfff]/.test(s);
export const unicodeString = (maxLength = 12): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'grapheme', maxLength }).filter(bmp),
    fc.string({ unit: 'binary', maxLength }).filter(bmp), // NUL, controls, any BMP code point
    fc.array(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 4 }), { maxLength: 4 }).map((parts) => '/' + parts.join('/')),
  );

export const bytes = (maxLength = 32): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));

/** An arbitrary for the decoded form of any value that a codec with this shape reads and writes. */
export function arbitraryFor(shape: Shape, opts: ArbitraryOptions = {}): fc.Arbitrary<unknown> {
  const { maxVector = 4, maxBytes = 32, maxString = 12 } = opts;
  switch (shape.kind) {
    case 'int':
      return int32();
    case 'long':
      return int64();
    case 'longNumber':
      return safeLong();
    case 'bool':
      return fc.boolean();
    case 'buffer':
      return fc.option(bytes(maxBytes), { nil: null, freq: 5 });
    case 'ustring':
      return fc.option(unicodeString(maxString), { nil: null, freq: 5 });
    case 'path':
      return unicodeString(maxString);
    case 'vector':
      return fc.array(arbitraryFor(shape.of, opts), { maxLength: maxVector });
    case 'record': {
      const fields: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, s] of Object.entries(shape.fields)) fields[name] = arbitraryFor(s, opts);
      return fc.record(fields, { noNullPrototype: true });
    }
  }
}

/**
 * True when re-encoding `value` (decoded from arbitrary bytes) is exact: a longNumber read from the wire
 * is only exact within the safe-integer range (see JuteReader.longNumber), and a string holding a
 * character outside the BMP (arbitrary bytes can hold a valid 4-byte UTF-8 sequence) is written back
 * as CESU-8 surrogates, which read as U+FFFD each, as ZooKeeper's Jute does in Java.
 */
export function isExact(shape: Shape, value: unknown): boolean {
  switch (shape.kind) {
    case 'longNumber':
      return Number.isSafeInteger(value);
    case 'ustring':
    case 'path':
      return typeof value !== 'string' || !/[\ud800-\udbff][\udc00-\udfff]/.test(value);
    case 'vector':
      return (value as unknown[]).every((v) => isExact(shape.of, v));
    case 'record':
      return Object.entries(shape.fields).every(([name, s]) => isExact(s, (value as Record<string, unknown>)[name]));
    default:
      return true;
  }
}

/** fc.record with ordinary prototypes, as decoders build them (toStrictEqual compares prototypes). */
export const plainRecord = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(model, { noNullPrototype: true });
