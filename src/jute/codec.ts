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

/** How a field of each primitive kind is read and written, inlined into a record's generated code. */
const INLINE: Partial<Record<Shape['kind'], { read: string; write: (v: string) => string }>> = {
  int: { read: 'r.int()', write: (v) => `w.int(${v})` },
  long: { read: 'r.long()', write: (v) => `w.long(${v})` },
  longNumber: { read: 'r.longNumber()', write: (v) => `w.longNumber(${v})` },
  bool: { read: 'r.bool()', write: (v) => `w.bool(${v})` },
  buffer: { read: 'r.buffer()', write: (v) => `w.buffer(${v})` },
  ustring: { read: 'r.ustring()', write: (v) => `w.ustring(${v})` },
  path: { read: "(r.ustring() ?? '')", write: (v) => `w.ustring(${v})` },
};

/**
 * A record: its fields in declaration order, exactly as zookeeper.jute lists them.
 *
 * read and write are generated once per record type (the field names are our own identifiers from
 * records.ts, never input): the decoded object is one literal with a fixed shape, and primitive
 * fields are read and written inline. Every request, reply and txn goes through these, so a loop
 * over the fields with a call per field cost a measurable share of the server's CPU.
 */
export function record<F extends Fields>(fields: F): Codec<RecordOf<F>> {
  const names = Object.keys(fields);
  const codecs = names.map((n) => fields[n]!);
  const shapes: Record<string, Shape> = {};
  for (const n of names) shapes[n] = fields[n]!.shape;
  for (const n of names) if (!/^[A-Za-z_$][\w$]*$/.test(n)) throw new Error(`record field name ${n} is not an identifier`);
  const readExpr = (i: number) => INLINE[codecs[i]!.shape.kind]?.read ?? `c[${i}].read(r)`;
  const writeStmt = (i: number) => {
    const v = `v.${names[i]}`;
    return INLINE[codecs[i]!.shape.kind]?.write(v) ?? `c[${i}].write(w, ${v})`;
  };
  // Object literal properties are evaluated in order, so fields are read in wire order.
  const read = new Function('c', `return function read(r) { return { ${names.map((n, i) => `${n}: ${readExpr(i)}`).join(', ')} }; }`)(codecs);
  const write = new Function('c', `return function write(w, v) { ${names.map((_, i) => writeStmt(i)).join('; ')} }`)(codecs);
  return { read, write, shape: { kind: 'record', fields: shapes } } as Codec<RecordOf<F>>;
}
