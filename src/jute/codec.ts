import type { JuteReader } from './reader.js';
import type { JuteWriter } from './writer.js';

/**
 * A codec reads and writes one Jute type. `shape` describes it, so that tests can derive random
 * values of any record (see test/jute) without a second, hand-written list of fields.
 */
export interface Codec<T> {
  read(r: JuteReader): T;
  write(w: JuteWriter, v: T): void;
  readonly shape: Shape;
}

export type Shape =
  | { kind: 'int' | 'long' | 'longNumber' | 'bool' | 'buffer' | 'ustring' | 'path' }
  | { kind: 'vector'; of: Shape }
  | { kind: 'record'; fields: Record<string, Shape> };

export type Decoded<C> = C extends Codec<infer T> ? T : never;

export const int: Codec<number> = {
  read: (r) => r.int(),
  write: (w, v) => w.int(v),
  shape: { kind: 'int' },
};

/** An exact 64-bit long (session ids, ephemeral owners, TTLs). */
export const long: Codec<bigint> = {
  read: (r) => r.long(),
  write: (w, v) => w.long(v),
  shape: { kind: 'long' },
};

/** A 64-bit long carried as a number: zxids and millisecond times. */
export const longNumber: Codec<number> = {
  read: (r) => r.longNumber(),
  write: (w, v) => w.longNumber(v),
  shape: { kind: 'longNumber' },
};

export const bool: Codec<boolean> = {
  read: (r) => r.bool(),
  write: (w, v) => w.bool(v),
  shape: { kind: 'bool' },
};

export const buffer: Codec<Buffer | null> = {
  read: (r) => r.buffer(),
  write: (w, v) => w.buffer(v),
  shape: { kind: 'buffer' },
};

/** A ustring that may be null on the wire (kept as null). */
export const ustring: Codec<string | null> = {
  read: (r) => r.ustring(),
  write: (w, v) => w.ustring(v),
  shape: { kind: 'ustring' },
};

/**
 * A ustring that the protocol treats as always present, such as a path. A null on the wire reads as
 * the empty string, which path validation then rejects, as it rejects any other malformed path.
 */
export const path: Codec<string> = {
  read: (r) => r.ustring() ?? '',
  write: (w, v) => w.ustring(v),
  shape: { kind: 'path' },
};

/** A vector; null on the wire reads as empty. */
export function vector<T>(of: Codec<T>): Codec<T[]> {
  return {
    read(r) {
      const n = r.vectorLength();
      const out: T[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = of.read(r);
      return out;
    },
    write(w, v) {
      w.int(v.length);
      for (const item of v) of.write(w, item);
    },
    shape: { kind: 'vector', of: of.shape },
  };
}

type Fields = Record<string, Codec<any>>;
export type RecordOf<F extends Fields> = { [K in keyof F]: Decoded<F[K]> };

/** A record: its fields in declaration order, exactly as zookeeper.jute lists them. */
export function record<F extends Fields>(fields: F): Codec<RecordOf<F>> {
  const names = Object.keys(fields);
  const codecs = names.map((n) => fields[n]!);
  const shapes: Record<string, Shape> = {};
  for (const n of names) shapes[n] = fields[n]!.shape;
  return {
    read(r) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) out[names[i]!] = codecs[i]!.read(r);
      return out as RecordOf<F>;
    },
    write(w, v) {
      for (let i = 0; i < names.length; i++) codecs[i]!.write(w, (v as Record<string, unknown>)[names[i]!]);
    },
    shape: { kind: 'record', fields: shapes },
  };
}
