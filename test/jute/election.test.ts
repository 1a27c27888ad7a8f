import { describe, expect, it } from 'vitest';
import {
  JuteError,
} from '../../src/jute/index.js';
import {
  PeerState,
  decodeElectionFrame,
  decodeInitialMessage,
  decodeNotification,
  encodeElectionFrame,
  encodeInitialMessage,
  encodeNotification,
  formatQuorumConfig,
  parseQuorumConfig,
} from '../../src/jute/election.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Bytes observed from Debian's ZooKeeper 3.8.0 (sid 3) on loopback (notes/quorum-protocol.md §A).
const CONFIG = 'server.2=127.0.0.1:33899:33898:participant\nserver.3=127.0.0.1:33889:33888:participant\nversion=0';
const INITIAL = hex('ffffffffffff0000 0000000000000003 0000000f 3132372e302e302e313a3333383838');
const LOOKING_FRAME = Buffer.concat([
  hex('0000008b 00000000 0000000000000003 0000000000000005 0000000000000001 0000000000000000 00000002 0000005f'),
  Buffer.from(CONFIG),
]);
const LEADING_FRAME = Buffer.concat([
  hex('0000008b 00000002 0000000000000003 0000000000000005 0000000000000001 0000000000000001 00000002 0000005f'),
  Buffer.from(CONFIG),
]);

describe('election initial message', () => {
  it('encodes what ZooKeeper 3.8.0 sends (V1, sid, address)', () => {
    expect(encodeInitialMessage(3, { host: '127.0.0.1', port: 33888 }).toString('hex')).toBe(INITIAL.toString('hex'));
  });

  it('decodes V1, waits for missing bytes', () => {
    expect(decodeInitialMessage(INITIAL)).toEqual({
      message: { protocolVersion: -65536, sid: 3, addresses: [{ host: '127.0.0.1', port: 33888 }] },
      length: INITIAL.length,
    });
    for (let n = 0; n < INITIAL.length; n++) expect(decodeInitialMessage(INITIAL.subarray(0, n))).toBeNull();
  });

  it('decodes the legacy bare sid and V2 with several addresses (wildcards dropped)', () => {
    expect(decodeInitialMessage(hex('0000000000000007'))).toEqual({ message: { protocolVersion: 7, sid: 7, addresses: [] }, length: 8 });
    const text = Buffer.from('10.0.0.1:3888|[::1]:3889|0.0.0.0:3890');
    const v2 = Buffer.concat([hex('ffffffffffff0001 0000000000000002'), hex(text.length.toString(16).padStart(8, '0')), text]);
    expect(decodeInitialMessage(v2)?.message).toEqual({
      protocolVersion: -65535,
      sid: 2,
      addresses: [
        { host: '10.0.0.1', port: 3888 },
        { host: '::1', port: 3889 },
      ],
    });
  });

  it('rejects unknown versions, lengths <= 0 or > 2048, and bad addresses', () => {
    expect(() => decodeInitialMessage(hex('fffffffffffffff0 0000000000000002 00000001 41'))).toThrow(JuteError);
    expect(() => decodeInitialMessage(hex('ffffffffffff0000 0000000000000002 00000000'))).toThrow(/length 0/);
    expect(() => decodeInitialMessage(hex('ffffffffffff0000 0000000000000002 ffffffff'))).toThrow(/length -1/);
    expect(() => decodeInitialMessage(hex('ffffffffffff0000 0000000000000002 00000801'))).toThrow(/length 2049/);
    expect(() => decodeInitialMessage(Buffer.concat([hex('ffffffffffff0000 0000000000000002 00000004'), Buffer.from('nope')]))).toThrow(/badly formed/);
    expect(() => decodeInitialMessage(Buffer.concat([hex('ffffffffffff0000 0000000000000002 00000006'), Buffer.from('h:port')]))).toThrow(/bad port/);
  });
});

describe('election frames', () => {
  it('splits a stream into frames and rejects lengths outside 1..512 KiB', () => {
    const two = Buffer.concat([encodeElectionFrame(Buffer.from('ab')), encodeElectionFrame(Buffer.from('c'))]);
    const first = decodeElectionFrame(two)!;
    expect(first.payload.toString()).toBe('ab');
    expect(decodeElectionFrame(two, first.next)!.payload.toString()).toBe('c');
    expect(decodeElectionFrame(two.subarray(0, 5))).toBeNull();
    expect(() => decodeElectionFrame(hex('00000000'))).toThrow(/invalid length 0/);
    expect(() => decodeElectionFrame(hex('00080001'))).toThrow(/invalid length 524289/);
    expect(decodeElectionFrame(hex('00080000'))).toBeNull(); // 512 KiB is allowed, just not here yet
  });
});

describe('notification', () => {
  it('decodes the LOOKING vote ZooKeeper sent and encodes it back byte for byte', () => {
    const frame = decodeElectionFrame(LOOKING_FRAME)!;
    expect(frame.next).toBe(LOOKING_FRAME.length);
    const n = decodeNotification(frame.payload);
    expect(n).toEqual({ state: PeerState.LOOKING, leader: 3, zxid: 5, electionEpoch: 1, peerEpoch: 0, version: 2, config: CONFIG });
    expect(encodeElectionFrame(encodeNotification(n)).toString('hex')).toBe(LOOKING_FRAME.toString('hex'));
  });

  it('decodes the LEADING answer with the updated peerEpoch', () => {
    const n = decodeNotification(decodeElectionFrame(LEADING_FRAME)!.payload);
    expect(n).toMatchObject({ state: PeerState.LEADING, leader: 3, zxid: 5, electionEpoch: 1, peerEpoch: 1 });
  });

  it('decodes the 28- and 40-byte legacy forms', () => {
    const n28 = decodeNotification(hex('00000001 0000000000000002 0000000300000007 0000000000000004'));
    expect(n28).toEqual({ state: PeerState.FOLLOWING, leader: 2, zxid: 0x300000007, electionEpoch: 4, peerEpoch: 3, version: 0, config: null });
    const n40 = decodeNotification(hex('00000000 0000000000000002 0000000000000009 0000000000000004 0000000000000006 00000001'));
    expect(n40).toEqual({ state: PeerState.LOOKING, leader: 2, zxid: 9, electionEpoch: 4, peerEpoch: 6, version: 0, config: null });
  });

  it('keeps Long.MIN_VALUE and -1 exact', () => {
    const n = { state: PeerState.OBSERVING, leader: -(2 ** 63), zxid: -1, electionEpoch: 1, peerEpoch: -(2 ** 63), config: 'version=0' };
    expect(decodeNotification(encodeNotification(n))).toEqual({ ...n, version: 2 });
  });

  it('rejects what ZooKeeper drops: short, truncated, bad config length, unknown state', () => {
    expect(() => decodeNotification(Buffer.alloc(27))).toThrow(/short/);
    expect(() => decodeNotification(Buffer.alloc(36))).toThrow(JuteError);
    const good = encodeNotification({ state: 0, leader: 1, zxid: 0, electionEpoch: 1, peerEpoch: 0, config: CONFIG });
    expect(() => decodeNotification(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    const badLen = Buffer.from(good);
    badLen.writeInt32BE(-5, 40);
    expect(() => decodeNotification(badLen)).toThrow(/config length -5/);
    const badState = Buffer.from(good);
    badState.writeInt32BE(9, 0);
    expect(() => decodeNotification(badState)).toThrow(/state 9/);
  });
});

describe('quorum config string', () => {
  it('parses and prints what ZooKeeper sends', () => {
    const cfg = parseQuorumConfig(CONFIG);
    expect(cfg).toEqual({
      version: 0,
      members: [
        { sid: 2, role: 'participant', addresses: [{ host: '127.0.0.1', quorumPort: 33899, electionPort: 33898 }] },
        { sid: 3, role: 'participant', addresses: [{ host: '127.0.0.1', quorumPort: 33889, electionPort: 33888 }] },
      ],
    });
    expect(formatQuorumConfig(cfg)).toBe(CONFIG);
  });

  it('round-trips observers, client addresses, IPv6 and hex versions', () => {
    const text = 'server.1=[::1]:2888:3888:participant;127.0.0.1:2181\nserver.9=h9:2889:3889:observer;[::1]:2182\nversion=1000000a3';
    const cfg = parseQuorumConfig(text);
    expect(cfg.version).toBe(0x1000000a3);
    expect(cfg.members[0]).toEqual({ sid: 1, role: 'participant', addresses: [{ host: '::1', quorumPort: 2888, electionPort: 3888 }], client: { host: '127.0.0.1', port: 2181 } });
    expect(cfg.members[1]!.role).toBe('observer');
    expect(formatQuorumConfig(cfg)).toBe(text);
  });

  it('rejects malformed lines', () => {
    expect(() => parseQuorumConfig('server.1=h:1\nversion=0')).toThrow(JuteError);
    expect(() => parseQuorumConfig('bogus\nversion=0')).toThrow(/malformed config line/);
    expect(() => parseQuorumConfig('server.1=h:1:2:participant\nversion=xyz')).toThrow(/version/);
  });
});
