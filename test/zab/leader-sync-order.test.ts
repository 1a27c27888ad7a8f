/**
 * The order in which a zkts leader syncs a learner that joins while proposals are outstanding.
 * An Apache ZooKeeper 3.8.0 follower logs and forgets the proposals it holds when NEWLEADER arrives
 * and fails on a COMMIT that then finds none (ZOOKEEPER-4394: a NullPointerException in
 * Learner.syncWithLeader, the follower drops out and syncs again). So every COMMIT a learner gets
 * after NEWLEADER must be for a PROPOSAL it also got after NEWLEADER: proposals not yet committed
 * when the sync is planned go after NEWLEADER. (Seen in the rolling migration: a ZooKeeper server
 * joining a zkts leader under load.)
 */
import { describe, expect, it } from 'vitest';
import { encodeInt, encodeLearnerInfo, PacketType, packetTypeName, ZAB_PROTOCOL_VERSION, zxidOf, type QuorumPacket } from '../../src/jute/quorum.js';
import { History } from '../../src/zab/history.js';
import { ZabLeader } from '../../src/zab/leader.js';

const TIMING = { tickTime: 100, initLimit: 50, syncLimit: 30 };
const packet = (type: number, zxid: number, data: Buffer | null = null): QuorumPacket => ({ type, zxid, data, authinfo: null });

/** The packets the leader sent to `sid` since the last call. */
function sentTo(leader: ZabLeader, sid: number): QuorumPacket[] {
  return leader
    .ready()
    .messages.filter((m) => m.to === sid && 'packet' in m)
    .map((m) => (m as { packet: QuorumPacket }).packet);
}

function join(leader: ZabLeader, sid: number, lastZxid: number, currentEpoch: number): void {
  leader.receive(sid, packet(PacketType.FOLLOWERINFO, zxidOf(currentEpoch, 0), encodeLearnerInfo({ serverId: BigInt(sid), protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: 0n })), 0);
  leader.receive(sid, packet(PacketType.ACKEPOCH, lastZxid, encodeInt(currentEpoch)), 0);
}

describe('a learner joining a leader with proposals outstanding', () => {
  it('gets no COMMIT after NEWLEADER for a PROPOSAL it got before NEWLEADER', () => {
    const leader = new ZabLeader({ myid: 1, voters: new Set([1, 2, 3]), acceptedEpoch: 1, currentEpoch: 1, history: new History(zxidOf(1, 0)), timing: TIMING, now: 0, config: null });
    // Follower 2 makes the quorum: the leader serves epoch 2.
    join(leader, 2, zxidOf(1, 0), 1);
    leader.receive(2, packet(PacketType.ACK, zxidOf(2, 0)), 0);
    expect(leader.isServing).toBe(true);
    leader.ready();
    // Two proposals, the first committed (acked by the leader and 2), the second outstanding.
    const [a, b] = [zxidOf(2, 1), zxidOf(2, 2)];
    leader.propose({ zxid: a, payload: Buffer.from('a') }, 0);
    leader.propose({ zxid: b, payload: Buffer.from('b') }, 0);
    leader.persisted(b);
    leader.receive(2, packet(PacketType.ACK, a), 0);
    leader.ready();

    // Follower 3 joins now (DIFF from the epoch's start); then 2 acks the outstanding proposal.
    join(leader, 3, zxidOf(1, 0), 1);
    leader.receive(2, packet(PacketType.ACK, b), 0);
    const toThree = sentTo(leader, 3);
    const kinds = toThree.map((p) => `${packetTypeName(p.type)}${p.type === PacketType.PROPOSAL || p.type === PacketType.COMMIT ? ` ${(p.zxid & 0xff).toString()}` : ''}`);
    const newLeader = toThree.findIndex((p) => p.type === PacketType.NEWLEADER);
    expect(newLeader, kinds.join(', ')).toBeGreaterThan(0);
    for (const [i, p] of toThree.entries()) {
      if (p.type !== PacketType.COMMIT || i < newLeader) continue;
      const proposedAt = toThree.findIndex((q) => q.type === PacketType.PROPOSAL && q.zxid === p.zxid);
      expect(proposedAt, `COMMIT 0x${p.zxid.toString(16)} after NEWLEADER: ${kinds.join(', ')}`).toBeGreaterThan(newLeader);
    }
    // Everything still reaches it, in zxid order: a (committed) before NEWLEADER, b after, then b's COMMIT.
    expect(kinds).toEqual(['LEADERINFO', 'DIFF', 'PROPOSAL 1', 'COMMIT 1', 'NEWLEADER', 'PROPOSAL 2', 'COMMIT 2']);
  });
});
