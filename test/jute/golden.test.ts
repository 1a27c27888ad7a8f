/**
 * Golden bytes: pin the wire format to what Apache ZooKeeper's BinaryOutputArchive writes (big-endian
 * ints and longs, int length prefixes, -1 for null buffers, strings and vectors, one byte per boolean).
 */
import { describe, expect, it } from 'vitest';
import { buffer, bool, int, long, longNumber, path, ustring, vector, type Codec } from '../../src/jute/codec.js';
import { JuteError } from '../../src/jute/errors.js';
import { JuteReader } from '../../src/jute/reader.js';
import * as records from '../../src/jute/records.js';
import { JuteWriter } from '../../src/jute/writer.js';
import { encodeWith, expectJuteError, hex } from './helpers.js';

const enc = <T>(codec: Codec<T>, v: T): string => encodeWith((w) => codec.write(w, v)).toString('hex');
const dec = <T>(codec: Codec<T>, h: string): T => {
  const bytes = hex(h);
  const r = new JuteReader(bytes);
  const v = codec.read(r);
  expect(r.offset).toBe(bytes.length);
  return v;
};
const h = (s: string) => s.replace(/\s+/g, '');

describe('primitives', () => {
  it('int is 4 bytes big-endian, two’s complement', () => {
    expect(enc(int, 1)).toBe('00000001');
    expect(enc(int, -1)).toBe('ffffffff');
    expect(enc(int, 0x7fffffff)).toBe('7fffffff');
    expect(enc(int, -0x80000000)).toBe('80000000');
    expect(dec(int, '80000000')).toBe(-0x80000000);
  });

  it('long is 8 bytes big-endian and exact over the whole signed range', () => {
    expect(enc(long, -1n)).toBe('ffffffffffffffff');
    expect(enc(long, 2n ** 63n - 1n)).toBe('7fffffffffffffff');
    expect(enc(long, -(2n ** 63n))).toBe('8000000000000000');
    expect(enc(long, 0x0123456789abcdefn)).toBe('0123456789abcdef');
    expect(dec(long, 'fedcba9876543210')).toBe(-0x0123456789abcdf0n);
  });

  it('longNumber splits into high and low 32-bit halves, negatives included', () => {
    expect(enc(longNumber, -1)).toBe('ffffffffffffffff');
    expect(enc(longNumber, 2 ** 32)).toBe('0000000100000000');
    expect(enc(longNumber, 2 ** 32 - 1)).toBe('00000000ffffffff');
    expect(enc(longNumber, -(2 ** 32))).toBe('ffffffff00000000');
    expect(enc(longNumber, -(2 ** 32) - 1)).toBe('fffffffeffffffff');
    expect(enc(longNumber, Number.MAX_SAFE_INTEGER)).toBe('001fffffffffffff');
    expect(enc(longNumber, Number.MIN_SAFE_INTEGER)).toBe('ffe0000000000001');
    expect(dec(longNumber, 'ffffffffffffffff')).toBe(-1);
    expect(dec(longNumber, '0000000500000007')).toBe(5 * 2 ** 32 + 7);
    expect(dec(longNumber, 'ffe0000000000001')).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('bool is one byte; any non-zero byte reads as true', () => {
    expect(enc(bool, true)).toBe('01');
    expect(enc(bool, false)).toBe('00');
    expect(dec(bool, '02')).toBe(true);
    expect(dec(bool, 'ff')).toBe(true);
  });

  it('ustring is an int byte length then UTF-8 (CESU-8 outside the BMP); null is -1', () => {
    expect(enc(ustring, 'ab')).toBe(h('00000002 6162'));
    expect(enc(ustring, '')).toBe('00000000');
    expect(enc(ustring, null)).toBe('ffffffff');
    // Outside the BMP, Jute writes each surrogate on its own (CESU-8), as ZooKeeper's
    // BinaryOutputArchive does, and reads those back as one U+FFFD each, as ZooKeeper's decoder
    // does. Plain 4-byte UTF-8 (what kazoo sends) reads as the character itself.
    expect(enc(ustring, 'é€😀')).toBe(h('0000000b c3a9 e282ac eda0bd edb880'));
    expect(dec(ustring, '0000000b c3a9 e282ac eda0bd edb880')).toBe('é€\ufffd\ufffd');
    expect(dec(ustring, '00000009 c3a9 e282ac f09f9880')).toBe('é€😀');
    expect(dec(ustring, 'ffffffff')).toBeNull();
  });

  it('path is a ustring that reads null as the empty string', () => {
    expect(enc(path, '/zookeeper')).toBe('0000000a' + Buffer.from('/zookeeper').toString('hex'));
    expect(dec(path, 'ffffffff')).toBe('');
  });

  it('buffer is an int length then bytes; null is -1, empty is 0', () => {
    expect(enc(buffer, null)).toBe('ffffffff');
    expect(enc(buffer, Buffer.alloc(0))).toBe('00000000');
    expect(enc(buffer, Buffer.from([1, 2, 0xff]))).toBe(h('00000003 0102ff'));
    expect(dec(buffer, 'ffffffff')).toBeNull();
    expect(dec(buffer, '00000002cafe')).toEqual(Buffer.from([0xca, 0xfe]));
  });

  it('a decoded buffer is a copy that does not alias the input', () => {
    const input = hex('00000002cafe');
    const out = new JuteReader(input).buffer()!;
    input[4] = 0;
    expect(out).toEqual(Buffer.from([0xca, 0xfe]));
  });

  it('vector is an int count then elements; -1 reads as empty', () => {
    const paths = vector(path);
    expect(enc(paths, [])).toBe('00000000');
    expect(enc(paths, ['a', 'bc'])).toBe(h('00000002 00000001 61 00000002 6263'));
    expect(dec(paths, 'ffffffff')).toEqual([]);
    expect(dec(paths, h('00000002 00000001 61 00000002 6263'))).toEqual(['a', 'bc']);
  });

  it('rejects negative lengths other than -1 and lengths beyond the input with JuteError', () => {
    for (const codec of [buffer, ustring, path, vector(int)] as Codec<unknown>[]) {
      for (const bad of ['fffffffe', '80000000', '00000001', '7fffffff', '00000005 00000000', '000000']) {
        expectJuteError(() => codec.read(new JuteReader(hex(bad))));
      }
    }
  });

  it('vector counts are bounded by the bytes left, so a huge count fails fast instead of allocating', () => {
    const r = new JuteReader(hex('7fffffff' + '00'.repeat(16)));
    expect(() => vector(bool).read(r)).toThrow(JuteError);
  });
});

describe('records', () => {
  it('RequestHeader {xid:1, type:4}', () => {
    expect(enc(records.RequestHeader, { xid: 1, type: 4 })).toBe('0000000100000004');
    expect(dec(records.RequestHeader, '0000000100000004')).toEqual({ xid: 1, type: 4 });
  });

  it('ReplyHeader of a notification: xid -1, zxid -1, err 0', () => {
    const bytes = h('ffffffff ffffffffffffffff 00000000');
    expect(enc(records.ReplyHeader, { xid: -1, zxid: -1, err: 0 })).toBe(bytes);
    expect(dec(records.ReplyHeader, bytes)).toEqual({ xid: -1, zxid: -1, err: 0 });
  });

  it('ReplyHeader with a zxid above 2^32 and an error code', () => {
    const bytes = h('00000007 0000000300000009 ffffff9b');
    expect(enc(records.ReplyHeader, { xid: 7, zxid: 3 * 2 ** 32 + 9, err: -101 })).toBe(bytes);
  });

  const stat: records.Stat = {
    czxid: 1,
    mzxid: 2,
    ctime: 0x18c0a1b2c3d,
    mtime: 4,
    version: 5,
    cversion: 6,
    aversion: 7,
    ephemeralOwner: 0x0123456789abcdefn,
    dataLength: 9,
    numChildren: 10,
    pzxid: -1,
  };
  const statHex = h(`
    0000000000000001 0000000000000002 0000018c0a1b2c3d 0000000000000004
    00000005 00000006 00000007
    0123456789abcdef
    00000009 0000000a
    ffffffffffffffff`);

  it('Stat is 68 bytes: 11 fields of 8+8+8+8+4+4+4+8+4+4+8', () => {
    const bytes = enc(records.Stat, stat);
    expect(bytes.length / 2).toBe(68);
    expect(bytes).toBe(statHex);
    expect(dec(records.Stat, statHex)).toEqual(stat);
  });

  it('StatPersisted is 60 bytes: no dataLength, no numChildren', () => {
    const { dataLength: _d, numChildren: _n, ...persisted } = stat;
    const bytes = enc(records.StatPersisted, persisted);
    expect(bytes.length / 2).toBe(60);
    expect(bytes).toBe(h(`0000000000000001 0000000000000002 0000018c0a1b2c3d 0000000000000004
      00000005 00000006 00000007 0123456789abcdef ffffffffffffffff`));
  });

  it('GetDataResponse: the data then the Stat', () => {
    expect(enc(records.GetDataResponse, { data: Buffer.from('hi'), stat })).toBe('00000002' + '6869' + statHex);
    expect(enc(records.GetDataResponse, { data: null, stat })).toBe('ffffffff' + statHex);
  });

  it('ACL world:anyone with all permissions', () => {
    const bytes = h('0000001f 00000005 776f726c64 00000006 616e796f6e65');
    expect(enc(records.ACL, { perms: 31, id: { scheme: 'world', id: 'anyone' } })).toBe(bytes);
  });

  it('WatcherEvent NodeDataChanged in SyncConnected on /a', () => {
    expect(enc(records.WatcherEvent, { type: 3, state: 3, path: '/a' })).toBe(h('00000003 00000003 00000002 2f61'));
  });

  it('GetDataRequest {path:"/a", watch:true}', () => {
    expect(enc(records.GetDataRequest, { path: '/a', watch: true })).toBe(h('00000002 2f61 01'));
  });

  it('AuthPacket for digest auth', () => {
    expect(enc(records.AuthPacket, { type: 0, scheme: 'digest', auth: Buffer.from('u:p') })).toBe(
      h('00000000 00000006 646967657374 00000003 753a70'),
    );
  });

  it('TxnHeader', () => {
    expect(enc(records.TxnHeader, { clientId: -2n, cxid: 3, zxid: 2 ** 32 + 1, time: 1700000000000, type: 1 })).toBe(
      h('fffffffffffffffe 00000003 0000000100000001 0000018bcfe56800 00000001'),
    );
  });

  it('SetWatches: relativeZxid then three vectors of paths', () => {
    expect(enc(records.SetWatches, { relativeZxid: 16, dataWatches: ['/a'], existWatches: [], childWatches: ['/', '/b'] })).toBe(
      h('0000000000000010 00000001 00000002 2f61 00000000 00000002 00000001 2f 00000002 2f62'),
    );
  });

  it('a writer grows from a tiny initial size without corrupting earlier bytes', () => {
    const w = new JuteWriter(1);
    records.GetDataResponse.write(w, { data: Buffer.alloc(1000, 7), stat });
    const out = Buffer.from(w.bytes());
    expect(out.length).toBe(4 + 1000 + 68);
    expect(out.subarray(0, 4).toString('hex')).toBe('000003e8');
    expect(out.subarray(1004).toString('hex')).toBe(statHex);
  });
});
