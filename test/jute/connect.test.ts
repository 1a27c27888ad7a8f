/** Property tests of the handshake records of src/jute/connect.ts, with and without the trailing readOnly byte. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  readConnectRequest,
  readConnectResponse,
  writeConnectRequest,
  writeConnectResponse,
  type ConnectRequest,
  type ConnectResponse,
} from '../../src/jute/connect.js';
import { JuteReader } from '../../src/jute/reader.js';
import type { JuteWriter } from '../../src/jute/writer.js';
import { ConnectRequestBase, ConnectResponseBase } from '../../src/jute/records.js';
import { bytes as bytesArb, int32, int64, plainRecord, safeLong } from './arbitraries.js';
import {
  GARBAGE_RUNS,
  RUNS,
  TRUNCATION_RUNS,
  allNumbersSafe,
  decodeOrJuteError,
  decodeWith,
  encodeWith,
  expectJuteError,
  garbage,
  hex,
  mutate,
  mutations,
} from './helpers.js';

const passwd = fc.option(bytesArb(24), { nil: null, freq: 6 });
const readOnly = fc.option(fc.boolean(), { nil: undefined, freq: 2 });

const connectRequest = plainRecord<ConnectRequest>({
  protocolVersion: int32(),
  lastZxidSeen: safeLong(),
  timeOut: int32(),
  sessionId: int64(),
  passwd,
  readOnly,
});
const connectResponse = plainRecord<ConnectResponse>({ protocolVersion: int32(), timeOut: int32(), sessionId: int64(), passwd, readOnly });

interface Case<T extends { passwd: Buffer | null; readOnly: boolean | undefined }> {
  name: string;
  arb: fc.Arbitrary<T>;
  read: (r: JuteReader) => T;
  write: (w: JuteWriter, v: T) => void;
  /** Bytes before passwd: the fixed-size fields. */
  fixed: number;
  base: { read(r: JuteReader): unknown };
}

const requestCase: Case<ConnectRequest> = {
  name: 'ConnectRequest',
  arb: connectRequest,
  read: readConnectRequest,
  write: writeConnectRequest,
  fixed: 4 + 8 + 4 + 8,
  base: ConnectRequestBase,
};
const responseCase: Case<ConnectResponse> = {
  name: 'ConnectResponse',
  arb: connectResponse,
  read: readConnectResponse,
  write: writeConnectResponse,
  fixed: 4 + 4 + 8,
  base: ConnectResponseBase,
};

function properties<T extends { passwd: Buffer | null; readOnly: boolean | undefined }>(c: Case<T>): void {
  const encode = (v: T) => encodeWith((w) => c.write(w, v));
  const baseSize = (v: T) => c.fixed + 4 + (v.passwd?.length ?? 0);

  describe(c.name, () => {
    it('round-trips with and without readOnly, consuming every byte', () => {
      fc.assert(
        fc.property(c.arb, (x) => {
          const bytes = encode(x);
          expect(bytes.length).toBe(baseSize(x) + (x.readOnly === undefined ? 0 : 1));
          const { value, consumed } = decodeWith(bytes, c.read);
          expect(value).toStrictEqual(x);
          expect('readOnly' in (value as object)).toBe(true);
          expect(consumed).toBe(bytes.length);
          expect(encode(value).equals(bytes)).toBe(true);
        }),
        { numRuns: RUNS },
      );
    });

    it('reads the readOnly byte as a boolean (any non-zero byte is true) and undefined when absent', () => {
      fc.assert(
        fc.property(c.arb, fc.integer({ min: 0, max: 255 }), (x, byte) => {
          const base = encode({ ...x, readOnly: undefined });
          expect(c.read(new JuteReader(base)).readOnly).toBeUndefined();
          const withByte = Buffer.concat([base, Buffer.of(byte)]);
          expect(c.read(new JuteReader(withByte)).readOnly).toBe(byte !== 0);
          // The base record is exactly what zookeeper.jute's record (without readOnly) decodes.
          const r = new JuteReader(base);
          const { readOnly: _omit, ...rest } = x;
          expect(c.base.read(r)).toStrictEqual(rest);
          expect(r.remaining).toBe(0);
        }),
        { numRuns: RUNS / 2 },
      );
    });

    it('throws JuteError on every prefix shorter than the base record; the base alone decodes with readOnly undefined', () => {
      fc.assert(
        fc.property(c.arb, (x) => {
          const bytes = encode(x);
          const n0 = baseSize(x);
          for (let n = 0; n < n0; n++) expectJuteError(() => c.read(new JuteReader(bytes.subarray(0, n))));
          if (x.readOnly !== undefined) {
            expect(c.read(new JuteReader(bytes.subarray(0, n0)))).toStrictEqual({ ...x, readOnly: undefined });
          }
        }),
        { numRuns: TRUNCATION_RUNS * 2 },
      );
    });

    it('decodes random or mutated bytes or throws JuteError, nothing else', () => {
      fc.assert(
        fc.property(fc.oneof(garbage, fc.tuple(c.arb, mutations).map(([x, ms]) => mutate(encode(x), ms))), (bytes) => {
          const res = decodeOrJuteError(() => decodeWith(bytes, c.read));
          if (!res.ok) return;
          const { value, consumed } = res.value;
          expect(consumed).toBeLessThanOrEqual(bytes.length);
          // Bytes after the readOnly byte are left for the caller (the frame length bounds the record).
          expect(value.readOnly === undefined ? consumed === bytes.length : consumed === baseSize(value) + 1).toBe(true);
          if (!allNumbersSafe(value)) return;
          expect(decodeWith(encode(value), c.read).value).toStrictEqual(value);
        }),
        { numRuns: GARBAGE_RUNS * 2 },
      );
    });
  });
}

properties(requestCase);
properties(responseCase);

describe('connect golden bytes', () => {
  const password = Buffer.alloc(16, 0xab);
  const req: ConnectRequest = { protocolVersion: 0, lastZxidSeen: 0x100000002, timeOut: 30000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false };
  const reqBase = '00000000 0000000100000002 00007530 0000000000000000 00000010' + '00'.repeat(16);

  it('a ConnectRequest with readOnly is 45 bytes, without it 44', () => {
    const withRo = encodeWith((w) => writeConnectRequest(w, req));
    expect(withRo.toString('hex')).toBe(hex(reqBase + '00').toString('hex'));
    expect(withRo.length).toBe(45);
    const without = encodeWith((w) => writeConnectRequest(w, { ...req, readOnly: undefined }));
    expect(without.toString('hex')).toBe(hex(reqBase).toString('hex'));
    expect(readConnectRequest(new JuteReader(hex(reqBase + '01')))).toStrictEqual({ ...req, readOnly: true });
    expect(readConnectRequest(new JuteReader(hex(reqBase)))).toStrictEqual({ ...req, readOnly: undefined });
  });

  it('a ConnectResponse', () => {
    const res: ConnectResponse = { protocolVersion: 0, timeOut: 4000, sessionId: 0x0100000a0b0c0001n, passwd: password, readOnly: false };
    const bytes = hex('00000000 00000fa0 0100000a0b0c0001 00000010' + 'ab'.repeat(16) + '00');
    expect(encodeWith((w) => writeConnectResponse(w, res)).toString('hex')).toBe(bytes.toString('hex'));
    expect(readConnectResponse(new JuteReader(bytes))).toStrictEqual(res);
    // A session id with the top bit set stays exact as a bigint.
    const neg = hex('00000000 00000fa0 ffffffffffffffff ffffffff');
    expect(readConnectResponse(new JuteReader(neg))).toStrictEqual({ protocolVersion: 0, timeOut: 4000, sessionId: -1n, passwd: null, readOnly: undefined });
  });
});
