/** Shared helpers of the Jute property tests. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { JuteError } from '../../src/jute/errors.js';
import { JuteReader } from '../../src/jute/reader.js';
import { JuteWriter } from '../../src/jute/writer.js';

/** Modest run counts: the whole test/jute folder must stay within a few seconds on two cores. */
export const RUNS = 200;
export const GARBAGE_RUNS = 200;
export const TRUNCATION_RUNS = 40;

/** Encodes with a fresh writer (a small initial size, so that growth is exercised) and copies the bytes out. */
export function encodeWith(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(8);
  write(w);
  return Buffer.from(w.bytes());
}

/** Decodes from a reader over `bytes`, returning the value and how many bytes were consumed. */
export function decodeWith<T>(bytes: Buffer, read: (r: JuteReader) => T): { value: T; consumed: number } {
  const r = new JuteReader(bytes);
  const value = read(r);
  return { value, consumed: r.offset };
}

/** Calls `f` and requires it to throw a JuteError, and nothing else. */
export function expectJuteError(f: () => unknown): void {
  let thrown: unknown = undefined;
  let threw = false;
  try {
    f();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  if (!threw) throw new Error('expected a JuteError, but decoding succeeded');
  if (!(thrown instanceof JuteError)) throw thrown;
}

/** Calls `f` and returns its result, or undefined when it threw a JuteError; any other error propagates. */
export function decodeOrJuteError<T>(f: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof JuteError) return { ok: false };
    throw e;
  }
}

/** A 32-bit value that, written over a length field, is most likely to confuse a decoder. */
const nastyInt = fc.constantFrom(-1, -2, -0x80000000, 0x7fffffff, 0, 1, 2, 3, 4, 8, 0x10000, 0xffff);

export type Mutation = { kind: 'byte'; at: number; value: number } | { kind: 'int'; at: number; value: number } | { kind: 'cut'; at: number } | { kind: 'append'; bytes: Uint8Array };

export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('int' as const), at: fc.nat(), value: nastyInt }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  ),
  { minLength: 1, maxLength: 4 },
);

/** Applies mutations to a copy of `bytes`: overwrite a byte or a 4-byte int, cut the tail, or append bytes. */
export function mutate(bytes: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of ms) {
    switch (m.kind) {
      case 'byte':
        if (b.length > 0) b[m.at % b.length] = m.value;
        break;
      case 'int':
        if (b.length >= 4) b.writeInt32BE(m.value, m.at % (b.length - 3));
        break;
      case 'cut':
        b = b.subarray(0, m.at % (b.length + 1));
        break;
      case 'append':
        b = Buffer.concat([b, m.bytes]);
        break;
    }
  }
  return b;
}

/** Random bytes, biased towards the short, length-prefixed shapes that Jute decoders see. */
export const garbage: fc.Arbitrary<Buffer> = fc
  .oneof(
    fc.uint8Array({ maxLength: 160, size: 'medium' }),
    fc.array(fc.oneof(nastyInt, fc.integer({ min: -0x80000000, max: 0x7fffffff })), { maxLength: 40, size: 'medium' }).map((ints) => {
      const b = Buffer.alloc(ints.length * 4);
      ints.forEach((v, i) => b.writeInt32BE(v, i * 4));
      return new Uint8Array(b);
    }),
  )
  .map((u) => Buffer.from(u));

/** Every strict prefix of `bytes` must fail to decode with a JuteError. */
export function expectEveryStrictPrefixFails(bytes: Buffer, read: (r: JuteReader) => unknown): void {
  for (let n = 0; n < bytes.length; n++) {
    const prefix = bytes.subarray(0, n);
    try {
      expectJuteError(() => read(new JuteReader(prefix)));
    } catch (e) {
      expect.fail(`prefix of ${n}/${bytes.length} bytes (${prefix.toString('hex')}): ${(e as Error).message}`);
    }
  }
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/**
 * True when every number inside `value` is a safe integer, so that re-encoding it is exact (a longNumber
 * decoded from arbitrary bytes may lie beyond 2^53 and be rounded; see JuteReader.longNumber).
 */
export function allNumbersSafe(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.every(allNumbersSafe);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) return Object.values(value).every(allNumbersSafe);
  return true;
}

/** Bytes Jute writes for a string: UTF-8, except that a character outside the BMP takes 6 (CESU-8). */
export function juteStringBytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  return n;
}
