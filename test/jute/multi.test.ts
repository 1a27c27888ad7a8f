/** Property tests of the multi (14) and multiRead (22) bodies of src/jute/multi.ts. */
import { juteStringBytes } from './helpers.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpCode } from '../../src/jute/constants.js';
import { readMultiRequest, readMultiResponse, writeMultiRequest, writeMultiResponse, type MultiOp, type MultiResult } from '../../src/jute/multi.js';
import { JuteReader } from '../../src/jute/reader.js';
import {
  CheckVersionRequest,
  CreateRequest,
  CreateTTLRequest,
  DeleteRequest,
  GetChildrenRequest,
  GetDataRequest,
  SetDataRequest,
  Stat,
} from '../../src/jute/records.js';
import { arbitraryFor, int32, plainRecord, unicodeString } from './arbitraries.js';
import {
  GARBAGE_RUNS,
  RUNS,
  TRUNCATION_RUNS,
  allNumbersSafe,
  decodeOrJuteError,
  decodeWith,
  encodeWith,
  expectEveryStrictPrefixFails,
  expectJuteError,
  garbage,
  hex,
  mutate,
  mutations,
} from './helpers.js';

const MULTI_HEADER = 4 + 1 + 4;
const END = 'ffffffff 01 ffffffff';

/** An arbitrary for the decoded form of a record codec, typed as the codec's value type. */
const of = <T>(codec: { shape: Parameters<typeof arbitraryFor>[0]; read(r: JuteReader): T }): fc.Arbitrary<T> =>
  arbitraryFor(codec.shape) as fc.Arbitrary<T>;

const stat = of(Stat);

/** One op of every kind a multi or multiRead may carry. */
const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(
  plainRecord({ type: fc.constantFrom(OpCode.create, OpCode.create2, OpCode.createContainer), req: of(CreateRequest) }),
  plainRecord({ type: fc.constant(OpCode.createTTL), req: of(CreateTTLRequest) }),
  plainRecord({ type: fc.constant(OpCode.delete), req: of(DeleteRequest) }),
  plainRecord({ type: fc.constant(OpCode.setData), req: of(SetDataRequest) }),
  plainRecord({ type: fc.constant(OpCode.check), req: of(CheckVersionRequest) }),
  plainRecord({ type: fc.constant(OpCode.getData), req: of(GetDataRequest) }),
  plainRecord({ type: fc.constant(OpCode.getChildren), req: of(GetChildrenRequest) }),
);
const multiOps = fc.array(multiOp, { maxLength: 6 });

/** One result of every kind. Paths are never null: a null on the wire decodes as ''. */
const multiResult: fc.Arbitrary<MultiResult> = fc.oneof(
  plainRecord({ type: fc.constant(OpCode.create), path: unicodeString() }),
  plainRecord({ type: fc.constant(OpCode.create2), path: unicodeString(), stat }),
  plainRecord({ type: fc.constantFrom(OpCode.delete, OpCode.check) }),
  plainRecord({ type: fc.constant(OpCode.setData), stat }),
  plainRecord({ type: fc.constant(OpCode.getData), data: fc.option(fc.uint8Array({ maxLength: 32 }).map((u) => Buffer.from(u)), { nil: null }), stat }),
  plainRecord({ type: fc.constant(OpCode.getChildren), children: fc.array(unicodeString(), { maxLength: 5 }) }),
  plainRecord({ type: fc.constant(OpCode.error), err: int32() }),
);
const multiResults = fc.array(multiResult, { maxLength: 6 });

/** The zookeeper.jute record that follows a multi header of this op type. */
function requestCodec(type: MultiOp['type']): { read(r: JuteReader): unknown } {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return CreateRequest;
    case OpCode.createTTL:
      return CreateTTLRequest;
    case OpCode.delete:
      return DeleteRequest;
    case OpCode.setData:
      return SetDataRequest;
    case OpCode.check:
      return CheckVersionRequest;
    case OpCode.getData:
      return GetDataRequest;
    case OpCode.getChildren:
      return GetChildrenRequest;
  }
}

const header = (type: number, done: boolean, err: number) =>
  encodeWith((w) => {
    w.int(type);
    w.bool(done);
    w.int(err);
  });

const encodeOps = (ops: MultiOp[]) => encodeWith((w) => writeMultiRequest(w, ops));
const encodeResults = (rs: MultiResult[]) => encodeWith((w) => writeMultiResponse(w, rs));

const STAT_SIZE = 68;
const strSize = (s: string) => 4 + juteStringBytes(s);

function resultSize(r: MultiResult): number {
  switch (r.type) {
    case OpCode.create:
      return strSize(r.path);
    case OpCode.create2:
      return strSize(r.path) + STAT_SIZE;
    case OpCode.delete:
    case OpCode.check:
      return 0;
    case OpCode.setData:
      return STAT_SIZE;
    case OpCode.getData:
      return 4 + (r.data?.length ?? 0) + STAT_SIZE;
    case OpCode.getChildren:
      return 4 + r.children.reduce((n, c) => n + strSize(c), 0);
    case OpCode.error:
      return 4;
  }
}

describe('multi request', () => {
  it('round-trips every op kind and consumes every byte', () => {
    fc.assert(
      fc.property(multiOps, (ops) => {
        const bytes = encodeOps(ops);
        const { value, consumed } = decodeWith(bytes, readMultiRequest);
        expect(value).toStrictEqual(ops);
        expect(consumed).toBe(bytes.length);
        expect(encodeOps(value).equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('writes a header of (type, done=false, err=-1) before each op and ends with (-1, true, -1)', () => {
    fc.assert(
      fc.property(multiOps, (ops) => {
        const bytes = encodeOps(ops);
        const r = new JuteReader(bytes);
        for (const op of ops) {
          expect([r.int(), r.bool(), r.int()]).toEqual([op.type, false, -1]);
          expect(requestCodec(op.type).read(r)).toStrictEqual(op.req);
        }
        expect(bytes.subarray(r.offset).equals(hex(END))).toBe(true);
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('throws JuteError on every strict prefix', () => {
    fc.assert(
      fc.property(multiOps, (ops) => expectEveryStrictPrefixFails(encodeOps(ops), readMultiRequest)),
      { numRuns: TRUNCATION_RUNS },
    );
  });

  it('rejects an op kind that a multi cannot carry with JuteError', () => {
    const allowed = new Set<number>([1, 15, 19, 21, 2, 5, 13, 4, 8]);
    fc.assert(
      fc.property(
        int32().filter((t) => !allowed.has(t)),
        (type) => {
          const bytes = Buffer.concat([header(type, false, -1), hex('00000002 2f61 00000000'), hex(END)]);
          expectJuteError(() => readMultiRequest(new JuteReader(bytes)));
        },
      ),
      { numRuns: RUNS / 2 },
    );
  });

  it('decodes random bytes or throws JuteError, and what decodes re-encodes to the same ops', () => {
    fc.assert(
      fc.property(fc.oneof(garbage, fc.tuple(multiOps, mutations).map(([ops, ms]) => mutate(encodeOps(ops), ms))), (bytes) => {
        const res = decodeOrJuteError(() => decodeWith(bytes, readMultiRequest));
        if (!res.ok) return;
        expect(res.value.consumed).toBeLessThanOrEqual(bytes.length);
        if (!allNumbersSafe(res.value.value)) return;
        const again = encodeOps(res.value.value);
        expect(decodeWith(again, readMultiRequest)).toStrictEqual({ value: res.value.value, consumed: again.length });
      }),
      { numRuns: GARBAGE_RUNS * 2 },
    );
  });
});

describe('multi response', () => {
  it('round-trips every result kind, consumes every byte, and has the expected size', () => {
    fc.assert(
      fc.property(multiResults, (rs) => {
        const bytes = encodeResults(rs);
        expect(bytes.length).toBe(rs.reduce((n, r) => n + MULTI_HEADER + resultSize(r), MULTI_HEADER));
        const { value, consumed } = decodeWith(bytes, readMultiResponse);
        expect(value).toStrictEqual(rs);
        expect(consumed).toBe(bytes.length);
        expect(encodeResults(value).equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('puts the error code in the header of an error result, and 0 in the others', () => {
    fc.assert(
      fc.property(multiResults, (rs) => {
        const r = new JuteReader(encodeResults(rs));
        for (const res of rs) {
          expect([r.int(), r.bool(), r.int()]).toEqual([res.type, false, res.type === OpCode.error ? res.err : 0]);
          r.offset += resultSize(res);
        }
        expect([r.int(), r.bool(), r.int()]).toEqual([-1, true, -1]);
        expect(r.remaining).toBe(0);
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('throws JuteError on every strict prefix', () => {
    fc.assert(
      fc.property(multiResults, (rs) => expectEveryStrictPrefixFails(encodeResults(rs), readMultiResponse)),
      { numRuns: TRUNCATION_RUNS },
    );
  });

  it('rejects an unknown result type with JuteError', () => {
    const known = new Set<number>([1, 15, 2, 13, 5, 4, 8, -1]);
    fc.assert(
      fc.property(
        int32().filter((t) => !known.has(t)),
        (type) => {
          const bytes = Buffer.concat([header(type, false, 0), hex(END)]);
          expectJuteError(() => readMultiResponse(new JuteReader(bytes)));
        },
      ),
      { numRuns: RUNS / 2 },
    );
  });

  it('decodes random bytes or throws JuteError, and what decodes re-encodes to the same results', () => {
    fc.assert(
      fc.property(fc.oneof(garbage, fc.tuple(multiResults, mutations).map(([rs, ms]) => mutate(encodeResults(rs), ms))), (bytes) => {
        const res = decodeOrJuteError(() => decodeWith(bytes, readMultiResponse));
        if (!res.ok) return;
        expect(res.value.consumed).toBeLessThanOrEqual(bytes.length);
        if (!allNumbersSafe(res.value.value)) return;
        const again = encodeResults(res.value.value);
        expect(decodeWith(again, readMultiResponse)).toStrictEqual({ value: res.value.value, consumed: again.length });
      }),
      { numRuns: GARBAGE_RUNS * 2 },
    );
  });
});

describe('multi golden bytes', () => {
  it('an empty multi is the end header alone', () => {
    expect(encodeOps([]).toString('hex')).toBe(hex(END).toString('hex'));
    expect(encodeResults([]).toString('hex')).toBe(hex(END).toString('hex'));
    expect(readMultiRequest(new JuteReader(hex(END)))).toEqual([]);
    expect(readMultiResponse(new JuteReader(hex(END)))).toEqual([]);
  });

  it('a check op', () => {
    const bytes = hex('0000000d 00 ffffffff  00000002 2f61 00000003' + END);
    expect(encodeOps([{ type: OpCode.check, req: { path: '/a', version: 3 } }]).equals(bytes)).toBe(true);
    expect(readMultiRequest(new JuteReader(bytes))).toEqual([{ type: OpCode.check, req: { path: '/a', version: 3 } }]);
  });

  it('a create op with the open ACL', () => {
    const op: MultiOp = {
      type: OpCode.create,
      req: { path: '/a', data: Buffer.from('x'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 1 },
    };
    const bytes = hex(
      '00000001 00 ffffffff' +
        '00000002 2f61  00000001 78  00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65  00000001' +
        END,
    );
    expect(encodeOps([op]).toString('hex')).toBe(bytes.toString('hex'));
    expect(readMultiRequest(new JuteReader(bytes))).toEqual([op]);
  });

  it('an error result carries its code twice: in the header and in the body', () => {
    const bytes = hex('ffffffff 00 ffffff9b  ffffff9b' + END);
    expect(encodeResults([{ type: OpCode.error, err: -101 }]).equals(bytes)).toBe(true);
    expect(readMultiResponse(new JuteReader(bytes))).toEqual([{ type: OpCode.error, err: -101 }]);
  });

  it('a done header ends the list whatever its type, and any non-zero done byte counts as true', () => {
    expect(readMultiRequest(new JuteReader(hex('00000001 02 00000000')))).toEqual([]);
    expect(readMultiResponse(new JuteReader(hex('0000000d ff 00000000')))).toEqual([]);
  });

  it('a missing end header is a JuteError', () => {
    expectJuteError(() => readMultiRequest(new JuteReader(hex('0000000d 00 ffffffff  00000002 2f61 00000003'))));
    expectJuteError(() => readMultiResponse(new JuteReader(hex('00000002 00 00000000'))));
  });
});
