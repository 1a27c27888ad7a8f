/**
 * The ZAB roles with an observer, sans-IO: a leader (3) with one follower (2) and one observer (9).
 * The observer introduces itself with OBSERVERINFO, counts in no quorum (epoch, NEWLEADER, commits),
 * gets each committed txn as one INFORM (never a PROPOSAL or COMMIT once synced), and acks no txn.
 */
import { describe, expect, it } from 'vitest';
import { OpCode } from '../../src/jute/index.js';
import { PacketType, type QuorumPacket } from '../../src/jute/quorum.js';
import { encodeTxnEntry, History, ZabFollower, ZabLeader } from '../../src/zab/index.js';

const TIMING = { tickTime: 1000, initLimit: 10, syncLimit: 5 };

class Net {
  /** Every packet the leader sent to a learner, and every packet a learner sent, in order. */
  readonly toLearner = new Map<number, QuorumPacket[]>();
  readonly fromLearner = new Map<number, QuorumPacket[]>();
  readonly applied = new Map<number, number[]>();
  readonly connected = new Set<number>();
  leaderServing = false;

  constructor(readonly leader: ZabLeader, readonly learners: Map<number, ZabFollower>) {}

  pump(): void {
    for (let moved = true; moved; ) {
      moved = false;
      const r = this.leader.ready();
      if (r.appends.length > 0) this.leader.persisted(r.appends.at(-1)!.zxid);
      if (r.events.some((e) => e.kind === 'serving')) this.leaderServing = true;
      for (const m of r.messages) {
        if (!('packet' in m) || !this.connected.has(m.to)) continue;
        this.toLearner.set(m.to, [...(this.toLearner.get(m.to) ?? []), m.packet]);
        this.learners.get(m.to)!.receive(m.packet, 0);
        moved = true;
      }
      moved ||= r.appends.length > 0 || r.messages.length > 0;
      for (const [sid, l] of this.learners) {
        const lr = l.ready();
        if (lr.appends.length > 0) {
          l.persisted(lr.appends.at(-1)!.zxid);
          moved = true;
        }
        for (const c of lr.commits) this.applied.set(sid, [...(this.applied.get(sid) ?? []), c.zxid]);
        for (const m of lr.messages) {
          if (!('packet' in m) || !this.connected.has(sid)) continue;
          this.fromLearner.set(sid, [...(this.fromLearner.get(sid) ?? []), m.packet]);
          this.leader.receive(sid, m.packet, 0);
          moved = true;
        }
        if (lr.commits.length > 0) moved = true;
      }
    }
  }

  connect(sid: number): void {
    this.connected.add(sid);
    this.learners.get(sid)!.connected(0);
    this.pump();
  }
}

function setup(extra: number[] = []): Net {
  const leader = new ZabLeader({ myid: 3, voters: new Set([2, 3]), observers: new Set([9]), acceptedEpoch: 0, currentEpoch: 0, history: new History(0), timing: TIMING, now: 0, config: null });
  const learner = (myid: number, observer: boolean) => new ZabFollower({ myid, leader: 3, acceptedEpoch: 0, currentEpoch: 0, history: new History(0), timing: TIMING, now: 0, observer });
  return new Net(leader, new Map([[2, learner(2, false)], [9, learner(9, true)], ...extra.map((sid): [number, ZabFollower] => [sid, learner(sid, true)])]));
}

const types = (ps: QuorumPacket[] | undefined) => (ps ?? []).map((p) => p.type);

describe('ZAB with an observer', () => {
  it('does not let an observer make the epoch quorum, then syncs it as a learner that says OBSERVERINFO', () => {
    const net = setup();
    net.connect(9);
    expect(types(net.fromLearner.get(9))).toEqual([PacketType.OBSERVERINFO]);
    expect(net.toLearner.get(9)).toBeUndefined(); // no LEADERINFO: leader + observer is no quorum of {2, 3}
    net.connect(2);
    expect(net.leaderServing).toBe(true);
    expect(types(net.toLearner.get(9))).toEqual([PacketType.LEADERINFO, PacketType.DIFF, PacketType.NEWLEADER, PacketType.UPTODATE]);
    expect(net.learners.get(9)!.isServing).toBe(true);
  });

  it('sends a committed txn to the observer as one INFORM, commits without it, and gets no ack from it', () => {
    const net = setup();
    net.connect(2);
    net.connect(9);
    const before = types(net.toLearner.get(9)).length;
    const zxid = net.leader.nextZxid();
    net.leader.propose({ zxid, payload: Buffer.from('txn') }, 0);
    net.pump();
    expect(net.leader.lastCommitted).toBe(zxid);
    expect(types(net.toLearner.get(9)).slice(before)).toEqual([PacketType.INFORM]);
    expect(types(net.toLearner.get(2))).toContain(PacketType.PROPOSAL);
    expect(net.applied.get(9)).toEqual([zxid]);
    expect(net.applied.get(2)).toEqual([zxid]);
    expect(net.fromLearner.get(9)!.filter((p) => p.type === PacketType.ACK && p.zxid === zxid)).toEqual([]);
    expect(net.leader.figures).toMatchObject({ syncedFollowers: 1, syncedObservers: 1 });
    expect(net.leader.syncedObservers).toEqual([9]);
  });

  it('refuses OBSERVERINFO from a server that is not an observer', () => {
    const leader = new ZabLeader({ myid: 3, voters: new Set([2, 3]), observers: new Set([9]), acceptedEpoch: 0, currentEpoch: 0, history: new History(0), timing: TIMING, now: 0, config: null });
    const net = new Net(leader, new Map([[2, new ZabFollower({ myid: 2, leader: 3, acceptedEpoch: 0, currentEpoch: 0, history: new History(0), timing: TIMING, now: 0, observer: true })]]));
    net.connected.add(2);
    net.learners.get(2)!.connected(0);
    const step = leader.ready();
    expect(step.events).toEqual([]);
    leader.receive(2, net.learners.get(2)!.ready().messages.map((m) => ('packet' in m ? m.packet : undefined))[0]!, 0);
    expect(leader.ready().events).toEqual([{ kind: 'dropLearner', sid: 2, reason: 'OBSERVERINFO from 2, not an observer' }]);
  });

  it('commits a reconfig as COMMITANDACTIVATE and INFORMANDACTIVATE naming itself, and accepts the observer it adds', () => {
    const net = setup([8]);
    net.connect(2);
    net.connect(9);
    net.connect(8); // not an observer yet: dropped
    expect(types(net.toLearner.get(8))).toEqual([]);
    expect(net.leader.isQuorumSynced([2, 3])).toBe(true);
    expect(net.leader.isQuorumSynced([2, 4, 5])).toBe(false);

    const zxid = net.leader.nextZxid();
    const data = Buffer.from('server.2=h:1:2:participant\nserver.3=h:3:4:participant\nserver.8=h:5:6:observer;h:7\nserver.9=h:8:9:observer\nversion=' + zxid.toString(16));
    const txn = { sessionId: 0n, cxid: 1, zxid, time: 0, body: { type: OpCode.reconfig, txn: { path: '/zookeeper/config', data, version: -1 } } } as const;
    const payload = encodeTxnEntry(txn);
    net.leader.propose({ zxid, payload, txn }, 0);
    expect(net.leader.reconfigPending).toBe(true);
    const sent = (sid: number) => net.toLearner.get(sid)!.length;
    const before = { 2: sent(2), 9: sent(9) };
    net.pump();
    expect(net.leader.reconfigPending).toBe(false);
    const designated = Buffer.alloc(8);
    designated.writeBigInt64BE(3n);
    expect(net.toLearner.get(2)!.slice(before[2])).toEqual([
      { type: PacketType.PROPOSAL, zxid, data: payload, authinfo: null },
      { type: PacketType.COMMITANDACTIVATE, zxid, data: designated, authinfo: null },
    ]);
    expect(net.toLearner.get(9)!.slice(before[9])).toEqual([{ type: PacketType.INFORMANDACTIVATE, zxid, data: Buffer.concat([designated, payload]), authinfo: null }]);
    expect(net.applied.get(2)).toEqual([zxid]);
    expect(net.applied.get(9)).toEqual([zxid]);

    // Server 8 is an observer now: it is synced, and NEWLEADER gives it the new config.
    net.learners.set(8, new ZabFollower({ myid: 8, leader: 3, acceptedEpoch: 0, currentEpoch: 0, history: new History(0), timing: TIMING, now: 0, observer: true }));
    net.connect(8);
    expect(net.learners.get(8)!.isServing).toBe(true);
    expect(net.toLearner.get(8)!.find((p) => p.type === PacketType.NEWLEADER)?.data).toEqual(data);
  });
});
