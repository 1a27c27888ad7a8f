/**
 * Quorum packets against the bytes Apache ZooKeeper 3.8.0 sent and accepted on the wire
 * (../shared/notes/quorum-protocol.md §B, observed with a scripted peer).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JuteReader,
  OpCode,
  PacketType,
  QuorumPacketStream,
  ZAB_PROTOCOL_VERSION,
  decodeForwardedRequest,
  decodeInt,
  decodeLearnerInfo,
  decodeRevalidateReply,
  decodeRevalidateRequest,
  decodeSessionTouches,
  encodeForwardedRequest,
  encodeInt,
  encodeLearnerInfo,
  encodeQuorumPacket,
  encodeRevalidateReply,
  encodeSessionTouches,
  epochOf,
  counterOf,
  readQuorumPacket,
  zxidOf,
  type QuorumPacket,
} from '../../src/jute/index.js';
import { decodeTxnEntry } from '../../src/zab/txn-codec.js';

const hex = (s: string) => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const decode = (s: string) => readQuorumPacket(new JuteReader(hex(s)));

describe('QuorumPacket, byte for byte with Apache ZooKeeper 3.8.0', () => {
  const observed: [string, string, QuorumPacket][] = [
    [
      'FOLLOWERINFO(acceptedEpoch 0, LearnerInfo{sid 2, 0x10000, config 0})',
      '0000000b 0000000000000000 00000014 0000000000000002 00010000 0000000000000000 ffffffff',
      { type: PacketType.FOLLOWERINFO, zxid: 0, data: encodeLearnerInfo({ serverId: 2n, protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: 0n }), authinfo: null },
    ],
    ['LEADERINFO(epoch 1)', '00000011 0000000100000000 00000004 00010000 ffffffff', { type: PacketType.LEADERINFO, zxid: zxidOf(1, 0), data: encodeInt(0x10000), authinfo: null }],
    ['ACKEPOCH(lastZxid 3, currentEpoch 0)', '00000012 0000000000000003 00000004 00000000 ffffffff', { type: PacketType.ACKEPOCH, zxid: 3, data: encodeInt(0), authinfo: null }],
    ['ACK of NEWLEADER', '00000003 0000000100000000 ffffffff ffffffff', { type: PacketType.ACK, zxid: zxidOf(1, 0), data: null, authinfo: null }],
    ['UPTODATE', '0000000c ffffffffffffffff ffffffff ffffffff', { type: PacketType.UPTODATE, zxid: -1, data: null, authinfo: null }],
    ['empty DIFF', '0000000d 0000000000000005 ffffffff ffffffff', { type: PacketType.DIFF, zxid: 5, data: null, authinfo: null }],
    ['SYNC answer', '00000007 0000000000000000 ffffffff ffffffff', { type: PacketType.SYNC, zxid: 0, data: null, authinfo: null }],
    [
      'REQUEST createSession from a learner',
      '00000001 ffffffffffffffff 00000014 0200000000001234 00000000 fffffff6 00002710 ffffffff',
      { type: PacketType.REQUEST, zxid: -1, data: encodeForwardedRequest({ sessionId: 0x0200000000001234n, cxid: 0, type: OpCode.createSession, request: encodeInt(10000) }), authinfo: null },
    ],
    [
      'REVALIDATE answer',
      '00000006 ffffffffffffffff 00000009 03000008b93d0000 01 ffffffff',
      { type: PacketType.REVALIDATE, zxid: -1, data: encodeRevalidateReply(0x03000008b93d0000n, true), authinfo: null },
    ],
  ];
  for (const [what, bytes, packet] of observed) {
    it(what, () => {
      expect(encodeQuorumPacket(packet).toString('hex')).toBe(hex(bytes).toString('hex'));
      expect(decode(bytes)).toEqual(packet);
    });
  }

  it('decodes the payloads ZooKeeper sent', () => {
    expect(decodeLearnerInfo(decode('0000000b 0000000000000000 00000014 0000000000000002 00010000 0000000000000000 ffffffff').data!)).toEqual({
      serverId: 2n,
      protocolVersion: 0x10000,
      configVersion: 0n,
    });
    expect(decodeInt(decode('00000011 0000000100000000 00000004 00010000 ffffffff').data)).toBe(0x10000);
    const req = decodeForwardedRequest(decode('00000001 ffffffffffffffff 00000014 0200000000001234 00000000 fffffff6 00002710 ffffffff').data!);
    expect(req).toEqual({ sessionId: 0x0200000000001234n, cxid: 0, type: OpCode.createSession, request: hex('00002710') });
    expect(decodeRevalidateRequest(decode('00000006 ffffffffffffffff 0000000c 03000008b93d0000 00007530 ffffffff').data!)).toEqual({
      sessionId: 0x03000008b93d0000n,
      timeout: 30000,
    });
    expect(decodeRevalidateReply(hex('03000008b93d0000 01'))).toEqual({ sessionId: 0x03000008b93d0000n, valid: true });
    // A PROPOSAL's data is a txn log entry's payload: TxnHeader, the txn, TxnDigest.
    const proposal = decodeTxnEntry(hex('03000008b93d0000 00000000 0000000100000001 000001a2439235e9 fffffff6 | 00002710 | 00000002 000000019c15d7bd'));
    expect(proposal.txn).toMatchObject({ sessionId: 0x03000008b93d0000n, cxid: 0, zxid: zxidOf(1, 1), body: { type: OpCode.createSession, txn: { timeOut: 10000 } } });
    expect(proposal.digest).toEqual({ version: 2, treeDigest: 0x19c15d7bdn });
  });

  it('PING replies list the sessions touched, with their timeouts', () => {
    const touches: [bigint, number][] = [[0x0100017f2c3e0001n, 30000], [-5n, 4000]];
    expect(decodeSessionTouches(encodeSessionTouches(touches))).toEqual(touches);
    expect(decodeSessionTouches(null)).toEqual([]);
    expect(encodeSessionTouches([]).length).toBe(0);
  });

  it('zxids are epoch << 32 | counter', () => {
    expect(zxidOf(1, 0)).toBe(0x100000000);
    expect(epochOf(0x300000007)).toBe(3);
    expect(counterOf(0x300000007)).toBe(7);
    expect(epochOf(-1)).toBe(-1);
  });
});

describe('QuorumPacketStream', () => {
  const packet = fc.record({
    type: fc.integer({ min: 1, max: 19 }),
    zxid: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 52 })),
    data: fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { nil: null }),
    authinfo: fc.option(fc.array(fc.record({ scheme: fc.constantFrom('ip', 'digest', 'sasl'), id: fc.string({ maxLength: 20 }) }), { maxLength: 3 }), { nil: null }),
  });

  it('splits packets sent back to back however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (packets, cuts) => {
        const bytes = Buffer.concat(packets.map(encodeQuorumPacket));
        const stream = new QuorumPacketStream(1 << 20);
        const got: QuorumPacket[] = [];
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const n = cuts[i % cuts.length]!;
          stream.push(bytes.subarray(at, at + n));
          at += n;
          for (let p = stream.next(); p; p = stream.next()) got.push(p);
        }
        expect(got).toEqual(packets);
        expect(stream.buffered).toBe(0);
      }),
    );
  });

  it('hands over the raw bytes that follow a SNAP', () => {
    const stream = new QuorumPacketStream(1 << 20);
    stream.push(Buffer.concat([encodeQuorumPacket({ type: PacketType.SNAP, zxid: 9, data: null, authinfo: null }), Buffer.from('raw snapshot')]));
    expect(stream.next()?.type).toBe(PacketType.SNAP);
    expect(stream.takeRaw(3).toString()).toBe('raw');
    expect(stream.takeRaw(100).toString()).toBe(' snapshot');
  });

  it('refuses a data length past jute.maxbuffer instead of waiting for it', () => {
    const stream = new QuorumPacketStream(1024);
    stream.push(hex('00000002 0000000100000001 00100000'));
    expect(() => stream.next()).toThrow(/maxbuffer/);
  });
});
