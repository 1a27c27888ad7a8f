/**
 * A sync on the leader is answered only once a quorum has answered a PING sent after the sync
 * arrived: a leader cut off from its followers, that has not noticed yet, must not tell a client
 * that its reads are up to date (ZooKeeper's leader would, for up to syncLimit). The roles are
 * driven by hand over an in-memory network whose links the test holds or cuts.
 */
import { describe, expect, it } from 'vitest';
import { PacketType, type QuorumPacket } from '../../src/jute/quorum.js';
import { ZabFollower } from '../../src/zab/follower.js';
import { History } from '../../src/zab/history.js';
import { ZabLeader } from '../../src/zab/leader.js';
import type { Ready, RoleEvent, ZabTiming } from '../../src/zab/ready.js';

const TIMING: ZabTiming = { tickTime: 1000, initLimit: 10, syncLimit: 5 };

interface InFlight {
  from: number;
  to: number;
  packet: QuorumPacket;
}

/** A leader (1) and two followers (2, 3); every packet waits in `wire` until the test delivers it. */
class Trio {
  readonly leader = new ZabLeader({ myid: 1, voters: new Set([1, 2, 3]), acceptedEpoch: 0, currentEpoch: 0, history: new History(0), timing: TIMING, now: 0, config: null });
  readonly followers = new Map([2, 3].map((sid) => [sid, new ZabFollower({ myid: sid, leader: 1, acceptedEpoch: 0, currentEpoch: 0, history: new History(0), timing: TIMING, now: 0 })]));
  wire: InFlight[] = [];
  readonly leaderEvents: RoleEvent[] = [];

  constructor(establish = true) {
    for (const f of this.followers.values()) f.connected(0);
    for (const sid of this.followers.keys()) this.pump(sid);
    if (establish) this.deliverAll();
  }

  /** Carries out a role's Ready: appends are durable at once, PINGs answered as the runtime does. */
  pump(sid: number): void {
    for (;;) {
      const role = sid === 1 ? this.leader : this.followers.get(sid)!;
      const r: Ready = role.ready();
      if (r.messages.length + r.appends.length + r.events.length + r.commits.length + r.epochs.length === 0 && r.truncate === undefined) return;
      for (const m of r.messages) if ('packet' in m) this.wire.push({ from: sid, to: m.to, packet: m.packet });
      if (r.appends.length > 0) role.persisted(r.appends.at(-1)!.zxid);
      for (const e of r.events) {
        if (sid === 1) this.leaderEvents.push(e);
        else if (e.kind === 'deliver' && e.packet.type === PacketType.PING) this.wire.push({ from: sid, to: 1, packet: { type: PacketType.PING, zxid: e.packet.zxid, data: Buffer.alloc(0), authinfo: null } });
      }
    }
  }

  deliver(m: InFlight): void {
    this.wire.splice(this.wire.indexOf(m), 1);
    if (m.to === 1) this.leader.receive(m.from, m.packet, 0);
    else this.followers.get(m.to)!.receive(m.packet, 0);
    this.pump(m.to);
  }

  deliverAll(filter: (m: InFlight) => boolean = () => true): void {
    for (let m = this.wire.find(filter); m; m = this.wire.find(filter)) this.deliver(m);
  }

  synced(): number {
    return this.leaderEvents.filter((e) => e.kind === 'synced').length;
  }
}

describe('the leader answers a sync only after a quorum round trip', () => {
  // Also: with no txn yet in the new epoch (a client re-attached after a failover and syncs), the
  // sync waited for a commit of the epoch's zxid 0, which no txn carries: it hung until another write.
  it('establishes, then answers a sync once one follower answered the PING sent after it', () => {
    const t = new Trio();
    expect(t.leader.isServing).toBe(true);
    t.leader.sync(1);
    t.pump(1);
    expect(t.synced(), 'not before any follower answered').toBe(0);
    const pings = t.wire.filter((m) => m.from === 1 && m.packet.type === PacketType.PING);
    expect(pings.map((m) => m.to).sort()).toEqual([2, 3]);
    // Follower 3 is cut off: only follower 2 gets the PING and answers; 2 and the leader are a quorum.
    t.deliverAll((m) => m.to === 2 || m.from === 2);
    expect(t.synced()).toBe(1);
  });

  it('never answers while cut off from every follower, and a reply to an older PING does not count', () => {
    const t = new Trio();
    // A periodic PING goes out before the sync; the followers' replies are still on the wire.
    t.leader.tick(TIMING.tickTime);
    t.pump(1);
    t.deliverAll((m) => m.from === 1);
    const stale = t.wire.filter((m) => m.to === 1 && m.packet.type === PacketType.PING);
    expect(stale).toHaveLength(2);
    t.leader.sync(1);
    t.pump(1);
    for (const m of stale) t.deliver(m);
    expect(t.synced(), 'replies sent before the sync arrived prove nothing').toBe(0);
    // The confirmation PINGs never arrive (a partition): still no answer.
    t.wire = t.wire.filter((m) => !(m.from === 1 && m.packet.type === PacketType.PING));
    expect(t.synced()).toBe(0);
    // The followers drop out and come back synced: a new round is sent, and its answers count.
    for (const sid of [2, 3]) t.leader.learnerGone(sid);
    t.pump(1);
    expect(t.synced()).toBe(0);
  });

  it('PINGs a learner left unanswered while it synced do not hold back later syncs', () => {
    const t = new Trio(false);
    // The leader establishes with follower 2 alone; follower 3 syncs later, while the leader
    // broadcasts, and a periodic PING reaches it before UPTODATE: it leaves it unanswered, as
    // ZooKeeper's learners do.
    t.deliverAll((m) => m.from === 2 || m.to === 2);
    expect(t.leader.isServing).toBe(true);
    t.deliverAll((m) => m.packet.type !== PacketType.NEWLEADER);
    t.leader.tick(TIMING.tickTime);
    t.pump(1);
    expect(t.wire.some((m) => m.to === 3 && m.packet.type === PacketType.PING)).toBe(true);
    t.deliverAll();
    // Follower 2 is cut off now: only follower 3's answer can confirm a sync.
    t.leader.sync(1);
    t.pump(1);
    t.deliverAll((m) => m.from === 3 || m.to === 3);
    expect(t.synced()).toBe(1);
  });

  it('many syncs in one turn share one round of PINGs', () => {
    const t = new Trio();
    for (let i = 0; i < 5; i++) t.leader.sync(1);
    t.pump(1);
    expect(t.wire.filter((m) => m.from === 1 && m.packet.type === PacketType.PING)).toHaveLength(2);
    t.deliverAll();
    expect(t.synced()).toBe(5);
  });
});
