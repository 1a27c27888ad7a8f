import { describe, expect, it } from 'vitest';
import { PeerState, type Notification } from '../../src/jute/election.js';
import { FastLeaderElection, type Decision, type Step } from '../../src/zab/election.js';
import { MajorityQuorum } from '../../src/zab/quorum.js';

const CONFIG = 'server.1=127.0.0.1:1:2:participant\nserver.2=127.0.0.1:3:4:participant\nserver.3=127.0.0.1:5:6:participant\nversion=0';

function peer(myId: number, opts: { voters?: number[]; decideEarly?: boolean } = {}): FastLeaderElection {
  return new FastLeaderElection({ myId, voters: opts.voters ?? [1, 2, 3], config: CONFIG, decideEarly: opts.decideEarly });
}

function note(state: PeerState, leader: number, zxid: number, electionEpoch: number, peerEpoch: number): Notification {
  return { state, leader, zxid, electionEpoch, peerEpoch, version: 2, config: CONFIG };
}

/** The messages of a step as compact tuples: [to, state, leader, zxid, round, peerEpoch]. */
function sent(step: Step): number[][] {
  return step.messages.map((m) => [m.to, m.notification.state, m.notification.leader, m.notification.zxid, m.notification.electionEpoch, m.notification.peerEpoch]);
}

/** Runs peers to quiescence over a lossless FIFO network with no delay; ticks the clock when idle. */
function runAll(peers: FastLeaderElection[], starts: Map<number, [number, number]>): Map<number, Decision> {
  const byId = new Map(peers.map((p) => [p.myId, p]));
  const decisions = new Map<number, Decision>();
  const queue: { from: number; to: number; n: Notification }[] = [];
  let now = 0;
  const absorb = (from: number, step: Step) => {
    for (const m of step.messages) queue.push({ from, to: m.to, n: m.notification });
    if (step.decision) decisions.set(from, step.decision);
  };
  for (const p of peers) absorb(p.myId, p.start(now, ...starts.get(p.myId)!));
  for (let guard = 0; guard < 10_000 && decisions.size < peers.length; guard++) {
    const msg = queue.shift();
    if (msg) {
      const target = byId.get(msg.to);
      if (target) absorb(target.myId, target.received(now, msg.from, msg.n));
      continue;
    }
    const deadlines = peers.map((p) => p.nextDeadline()).filter((d): d is number => d !== null);
    if (deadlines.length === 0) break;
    now = Math.min(...deadlines);
    for (const p of peers) absorb(p.myId, p.tick(now));
  }
  return decisions;
}

describe('MajorityQuorum', () => {
  it('needs more than half of the voters and ignores non-voters', () => {
    const q = new MajorityQuorum([1, 2, 3, 4, 5]);
    expect(q.size).toBe(3);
    expect(q.isQuorum([1, 2])).toBe(false);
    expect(q.isQuorum([1, 2, 9, 10])).toBe(false);
    expect(q.isQuorum([1, 2, 2, 5])).toBe(true);
    expect(new MajorityQuorum([1, 2, 3, 4]).size).toBe(3);
    expect(new MajorityQuorum([7]).isQuorum([7])).toBe(true);
  });
});

describe('FastLeaderElection', () => {
  it('starts a round by sending its own vote to every other voter', () => {
    const p = peer(1);
    expect(sent(p.start(0, 0x100000003, 1))).toEqual([
      [2, PeerState.LOOKING, 1, 0x100000003, 1, 1],
      [3, PeerState.LOOKING, 1, 0x100000003, 1, 1],
    ]);
    expect(p.state).toBe(PeerState.LOOKING);
    expect(p.nextDeadline()).toBe(200);
  });

  it('3 peers on a fresh start elect the highest sid', () => {
    const peers = [peer(1), peer(2), peer(3)];
    const d = runAll(peers, new Map([[1, [0, 0]], [2, [0, 0]], [3, [0, 0]]]));
    expect(d.get(3)).toEqual({ state: PeerState.LEADING, leader: 3, zxid: 0, electionEpoch: 1, peerEpoch: 0 });
    expect(d.get(1)).toEqual({ state: PeerState.FOLLOWING, leader: 3, zxid: 0, electionEpoch: 1, peerEpoch: 0 });
    expect(d.get(2)).toEqual({ state: PeerState.FOLLOWING, leader: 3, zxid: 0, electionEpoch: 1, peerEpoch: 0 });
  });

  it('adopts a better vote and broadcasts it, counting its own vote through loopback', () => {
    const p = peer(1);
    p.start(0, 0, 0);
    expect(sent(p.received(5, 2, note(PeerState.LOOKING, 2, 0, 1, 0)))).toEqual([
      [2, PeerState.LOOKING, 2, 0, 1, 0],
      [3, PeerState.LOOKING, 2, 0, 1, 0],
    ]);
    // Our vote for 2 and 2's own vote make a quorum of 3, but 3 may still send a better vote: wait.
    expect(p.state).toBe(PeerState.LOOKING);
    expect(p.nextDeadline()).toBe(205);
    const better = p.received(100, 3, note(PeerState.LOOKING, 3, 0, 1, 0));
    expect(sent(better).map((m) => m[2])).toEqual([3, 3]);
    expect(p.nextDeadline()).toBe(300); // the notification timer again: 3 alone with us is a quorum only once 3 votes 3
  });

  it('decides after finalizeWait when a quorum but not every voter agrees', () => {
    const p = peer(3);
    p.start(0, 0, 0);
    expect(p.received(10, 1, note(PeerState.LOOKING, 3, 0, 1, 0)).decision).toBeUndefined();
    expect(p.nextDeadline()).toBe(210);
    expect(p.tick(209).decision).toBeUndefined();
    // A vote that is not better is drained and restarts the wait.
    expect(p.received(150, 1, note(PeerState.LOOKING, 3, 0, 1, 0)).decision).toBeUndefined();
    expect(p.tick(349).decision).toBeUndefined();
    expect(p.tick(350).decision).toEqual({ state: PeerState.LEADING, leader: 3, zxid: 0, electionEpoch: 1, peerEpoch: 0 });
    expect(p.nextDeadline()).toBeNull();
  });

  it('decides at once when every voter has sent its vote, unless told to wait like ZooKeeper', () => {
    for (const decideEarly of [true, false]) {
      const p = peer(3, { decideEarly });
      p.start(0, 0, 0);
      p.received(10, 1, note(PeerState.LOOKING, 3, 0, 1, 0));
      const step = p.received(20, 2, note(PeerState.LOOKING, 3, 0, 1, 0));
      expect(step.decision?.leader).toBe(decideEarly ? 3 : undefined);
    }
  });

  it('decides at once when the only voter missing from a quorum is unreachable, whichever comes first', () => {
    // Reported unreachable while waiting out finalizeWait.
    const waiting = peer(3);
    waiting.start(0, 0, 0);
    expect(waiting.received(10, 2, note(PeerState.LOOKING, 3, 0, 1, 0)).decision).toBeUndefined();
    expect(waiting.nextDeadline()).toBe(210);
    expect(waiting.peerReachable(1, false).decision).toEqual({ state: PeerState.LEADING, leader: 3, zxid: 0, electionEpoch: 1, peerEpoch: 0 });
    // Unreachable before the quorum's last vote arrives.
    const known = peer(2);
    known.peerReachable(1, false);
    known.start(0, 0, 0);
    expect(known.received(5, 3, note(PeerState.LOOKING, 3, 0, 1, 0)).decision).toMatchObject({ state: PeerState.FOLLOWING, leader: 3 });
    // Reachable again (its connection came back): the wait is ZooKeeper's again.
    const back = peer(3);
    back.peerReachable(1, false);
    back.peerReachable(1, true);
    back.start(0, 0, 0);
    expect(back.received(10, 2, note(PeerState.LOOKING, 3, 0, 1, 0)).decision).toBeUndefined();
    // No quorum, or told to wait like ZooKeeper: no early decision.
    const alone = peer(3, { voters: [1, 2, 3, 4, 5] });
    alone.start(0, 0, 0);
    alone.peerReachable(1, false);
    expect(alone.received(10, 2, note(PeerState.LOOKING, 3, 0, 1, 0)).decision).toBeUndefined();
    expect(alone.peerReachable(4, false).decision).toBeUndefined(); // {2,3} of 5 is not a quorum
    const zk = peer(3, { decideEarly: false });
    zk.start(0, 0, 0);
    zk.received(10, 2, note(PeerState.LOOKING, 3, 0, 1, 0));
    expect(zk.peerReachable(1, false).decision).toBeUndefined();
  });

  it('a peer with a higher zxid wins', () => {
    const d = runAll([peer(1), peer(2), peer(3)], new Map([[1, [0x100000007, 1]], [2, [0x100000003, 1]], [3, [0x100000005, 1]]]));
    for (const sid of [1, 2, 3]) expect(d.get(sid)).toMatchObject({ leader: 1, zxid: 0x100000007, peerEpoch: 1 });
    expect(d.get(1)!.state).toBe(PeerState.LEADING);
  });

  it('a higher epoch beats a higher zxid', () => {
    const d = runAll([peer(1), peer(2), peer(3)], new Map([[1, [0x100000002, 2]], [2, [0x100000009, 1]], [3, [0x100000009, 1]]]));
    for (const sid of [1, 2, 3]) expect(d.get(sid)).toMatchObject({ leader: 1, zxid: 0x100000002, peerEpoch: 2 });
  });

  it('a late joiner in the same round follows the leader once it has said LEADING', () => {
    const p = peer(1);
    p.start(0, 0, 0);
    // 2 follows 3 (decided in round 1, epoch already updated to 1): not enough on its own.
    expect(p.received(5, 2, note(PeerState.FOLLOWING, 3, 0, 1, 1)).decision).toBeUndefined();
    expect(p.received(6, 3, note(PeerState.LEADING, 3, 0, 1, 1)).decision).toEqual({
      state: PeerState.FOLLOWING,
      leader: 3,
      zxid: 0,
      electionEpoch: 1,
      peerEpoch: 1,
    });
  });

  it('a late joiner learns the established leader from an older round (out of election)', () => {
    const p = peer(1);
    p.start(0, 0x500000002, 5);
    expect(p.received(5, 3, note(PeerState.LEADING, 3, 0x500000002, 7, 6)).decision).toBeUndefined();
    expect(p.received(6, 2, note(PeerState.FOLLOWING, 3, 0x500000001, 7, 6)).decision).toEqual({
      state: PeerState.FOLLOWING,
      leader: 3,
      zxid: 0x500000001,
      electionEpoch: 7,
      peerEpoch: 6,
    });
    expect(p.round).toBe(7);
  });

  it('does not follow a quorum whose leader never said LEADING', () => {
    const p = peer(1);
    p.start(0, 0, 0);
    p.received(5, 2, note(PeerState.FOLLOWING, 3, 0, 4, 1));
    expect(p.received(6, 1, note(PeerState.FOLLOWING, 3, 0, 4, 1)).decision).toBeUndefined();
    expect(p.state).toBe(PeerState.LOOKING);
  });

  it('a higher round from a peer resets ours and re-votes the better of its vote and our own', () => {
    const p = peer(2);
    p.start(0, 0x100000004, 1);
    p.received(1, 1, note(PeerState.LOOKING, 1, 0x100000001, 1, 1)); // a vote of round 1, to be forgotten
    const step = p.received(2, 3, note(PeerState.LOOKING, 3, 0x100000001, 4, 1));
    expect(p.round).toBe(4);
    // 3's vote is worse (lower zxid): we keep our own, now in round 4.
    expect(sent(step)).toEqual([
      [1, PeerState.LOOKING, 2, 0x100000004, 4, 1],
      [3, PeerState.LOOKING, 2, 0x100000004, 4, 1],
    ]);
    // 1's round-1 vote was cleared: 1's vote in round 4 plus ours is the quorum that starts finalizeWait.
    expect(p.nextDeadline()).toBe(202);
    p.received(3, 1, note(PeerState.LOOKING, 2, 0x100000004, 4, 1));
    expect(p.nextDeadline()).toBe(203);
  });

  it('answers a LOOKING peer in an older round with its own round and vote', () => {
    const p = peer(2);
    p.start(0, 0, 0);
    p.received(1, 3, note(PeerState.LOOKING, 3, 0, 2, 0)); // now round 2, voting 3
    expect(sent(p.received(2, 1, note(PeerState.LOOKING, 1, 0, 1, 0)))).toEqual([[1, PeerState.LOOKING, 3, 0, 2, 0]]);
  });

  it('ignores votes from non-members and for non-members, answering a non-member at once', () => {
    const p = peer(1);
    p.start(0, 0, 0);
    expect(sent(p.received(1, 4, note(PeerState.LOOKING, 4, 0x900000000, 1, 9)))).toEqual([[4, PeerState.LOOKING, 1, 0, 1, 0]]);
    expect(sent(p.received(2, 2, note(PeerState.LOOKING, 9, 0x900000000, 1, 9)))).toEqual([]);
    expect(p.vote).toEqual({ leader: 1, zxid: 0, peerEpoch: 0 });
  });

  it('ignores zxid -1 votes', () => {
    const p = peer(1);
    p.start(0, 0, 0);
    expect(sent(p.received(1, 2, note(PeerState.LOOKING, 2, -1, 1, 0)))).toEqual([]);
    expect(p.vote.leader).toBe(1);
  });

  it('once decided, answers LOOKING peers with its decision and state, and with the new epoch after ZAB updates it', () => {
    const p = peer(3);
    p.start(0, 5, 0);
    p.received(1, 1, note(PeerState.LOOKING, 3, 5, 1, 0));
    p.received(2, 2, note(PeerState.LOOKING, 3, 5, 1, 0));
    expect(p.state).toBe(PeerState.LEADING);
    expect(sent(p.received(3, 1, note(PeerState.LOOKING, 1, 0, 2, 0)))).toEqual([[1, PeerState.LEADING, 3, 5, 1, 0]]);
    p.updatePeerEpoch(1);
    expect(sent(p.received(4, 1, note(PeerState.LOOKING, 1, 0, 2, 0)))).toEqual([[1, PeerState.LEADING, 3, 5, 1, 1]]);
    // Settled peers do not answer settled peers.
    expect(sent(p.received(5, 2, note(PeerState.FOLLOWING, 3, 5, 1, 1)))).toEqual([]);
  });

  it('resends its vote when nothing arrives, backing off from 200 ms to 60 s', () => {
    const p = peer(1);
    p.start(0, 0, 0);
    expect(p.tick(199).messages).toEqual([]);
    const gaps: number[] = [];
    let now = 0;
    for (let i = 0; i < 12; i++) {
      const next = p.nextDeadline()!;
      gaps.push(next - now);
      now = next;
      expect(sent(p.tick(now)).map((m) => m[0])).toEqual([2, 3]);
    }
    expect(gaps).toEqual([200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000, 60000]);
    // A notification restarts the wait without resetting the interval.
    p.received(now + 10, 2, note(PeerState.LOOKING, 2, 0, 0, 0));
    expect(p.nextDeadline()).toBe(now + 10 + 60000);
  });

  it('reports a configuration newer than ours while LOOKING, and only then', () => {
    const p = peer(1);
    p.start(0, 0, 0);
    const newer = CONFIG.replace('version=0', 'version=100000002');
    expect(p.received(1, 2, { ...note(PeerState.LOOKING, 2, 0, 1, 0), config: newer }).newerConfig).toEqual({ from: 2, config: newer });
    expect(p.received(2, 3, note(PeerState.LOOKING, 3, 0, 1, 0)).newerConfig).toBeUndefined();
    expect(p.received(3, 3, { ...note(PeerState.LOOKING, 3, 0, 1, 0), config: 'garbage' }).newerConfig).toBeUndefined();
  });

  it('a new start after a failed leadership is a new round with fresh votes', () => {
    const p = peer(3);
    p.start(0, 0, 0);
    p.received(1, 1, note(PeerState.LOOKING, 3, 0, 1, 0));
    p.received(2, 2, note(PeerState.LOOKING, 3, 0, 1, 0));
    expect(p.state).toBe(PeerState.LEADING);
    const step = p.start(10, 0x100000000, 1);
    expect(p.round).toBe(2);
    expect(sent(step)).toEqual([
      [1, PeerState.LOOKING, 3, 0x100000000, 2, 1],
      [2, PeerState.LOOKING, 3, 0x100000000, 2, 1],
    ]);
  });
});

describe('FastLeaderElection for an observer', () => {
  const NO_VOTE = -(2 ** 63);

  it('votes Long.MIN_VALUE to the voters only, and learns the leader the voters chose as OBSERVING', () => {
    const observer = peer(4);
    const start = observer.start(0, 0x100000005, 1);
    // Its vote goes to the three voters, not back to itself, and names nobody.
    expect(sent(start)).toEqual([1, 2, 3].map((to) => [to, PeerState.LOOKING, NO_VOTE, NO_VOTE, 1, NO_VOTE]));
    expect(start.decision).toBeUndefined();
    // The voters answer with their settled votes: leader 3.
    expect(observer.received(1, 3, note(PeerState.LEADING, 3, 0x100000005, 1, 1)).decision).toBeUndefined();
    const d = observer.received(1, 2, note(PeerState.FOLLOWING, 3, 0x100000005, 1, 1)).decision;
    expect(d).toMatchObject({ state: PeerState.OBSERVING, leader: 3 });
  });

  it('is never elected and its vote does not count: voters elect among themselves alongside it', () => {
    const voters = [1, 2, 3].map((id) => peer(id));
    const observer = peer(9);
    const starts = new Map<number, [number, number]>([[1, [5, 1]], [2, [5, 1]], [3, [5, 1]], [9, [99, 7]]]);
    const decisions = runAll([...voters, observer], starts);
    expect(decisions.get(3)?.state).toBe(PeerState.LEADING);
    for (const id of [1, 2]) expect(decisions.get(id)).toMatchObject({ state: PeerState.FOLLOWING, leader: 3 });
    // The observer's log is the longest, yet it observes the leader the voters chose.
    expect(decisions.get(9)).toMatchObject({ state: PeerState.OBSERVING, leader: 3 });
  });
});
