/**
 * A zkts follower does not answer the leader's PINGs until it is up to date. Apache ZooKeeper's
 * follower ignores them during the sync (Learner.syncWithLeader has no PING case), and a ZooKeeper
 * 3.8 leader drops a learner whose first packet after the sync is not the ACK of NEWLEADER ("Next
 * packet was supposed to be an ACK, but received packet: PING"): a zkts server joining a ZooKeeper
 * leader under load had its sync broken that way (seen in the rolling migration).
 */
import { describe, expect, it } from 'vitest';
import { encodeInt, PacketType, ZAB_PROTOCOL_VERSION, zxidOf, type QuorumPacket } from '../../src/jute/quorum.js';
import { History } from '../../src/zab/history.js';
import { ZabFollower } from '../../src/zab/follower.js';

const TIMING = { tickTime: 100, initLimit: 50, syncLimit: 30 };
const packet = (type: number, zxid: number, data: Buffer | null = null): QuorumPacket => ({ type, zxid, data, authinfo: null });
const ping = packet(PacketType.PING, zxidOf(2, 0));
const delivered = (f: ZabFollower) => f.ready().events.filter((e) => e.kind === 'deliver');

describe('a follower and the leader PINGs', () => {
  it('leaves PINGs unanswered while it syncs, and hands them to the session layer once up to date', () => {
    const f = new ZabFollower({ myid: 2, leader: 1, acceptedEpoch: 1, currentEpoch: 1, history: new History(zxidOf(1, 0)), timing: TIMING, now: 0 });
    f.connected(0);
    f.receive(packet(PacketType.LEADERINFO, zxidOf(2, 0), encodeInt(ZAB_PROTOCOL_VERSION)), 0);
    f.receive(packet(PacketType.DIFF, zxidOf(1, 0)), 0);
    f.ready();
    f.receive(ping, 0);
    expect(delivered(f), 'a PING while syncing').toEqual([]);
    f.receive(packet(PacketType.NEWLEADER, zxidOf(2, 0)), 0);
    f.receive(ping, 0);
    const afterNewLeader = f.ready();
    expect(afterNewLeader.events.filter((e) => e.kind === 'deliver'), 'a PING before UPTODATE').toEqual([]);
    expect(afterNewLeader.messages.map((m) => ('packet' in m ? m.packet.type : 'snapshot')), 'only the ACK of NEWLEADER goes out').toEqual([PacketType.ACK]);
    f.receive(packet(PacketType.UPTODATE, -1), 0);
    expect(f.isServing).toBe(true);
    f.ready();
    f.receive(ping, 0);
    expect(delivered(f).map((e) => e.kind === 'deliver' && e.packet.type)).toEqual([PacketType.PING]);
  });
});
