/**
 * A seeded in-process simulation of FastLeaderElection cores on a faulty network (delays, drops,
 * duplicates, a partition that heals; FIFO per link, as over one TCP connection), with a stub of what ZAB does right after an election (so that a
 * split decision is undone as ZooKeeper undoes it): a follower connects to its leader or, after
 * initLimit, looks again; a leader that gathers no quorum of followers within initLimit looks again;
 * once a quorum follows, the leader establishes a new epoch and the peers' election vote takes it as
 * peerEpoch. Everything happens in simulated time; one seed replays one run exactly.
 */
import { PeerState, type Notification } from '../../src/jute/election.js';
import { FastLeaderElection, betterVote, type Step } from '../../src/zab/election.js';
import { prng } from './helpers.js';

export interface SimOptions {
  peers: number;
  seed: number;
}

export interface SimResult {
  seed: number;
  /** Problems found; empty when every invariant held. */
  violations: string[];
  leader: number | null;
  bestSid: number;
  /** Simulated ms until every peer settled on the established leader. */
  settledAtMs: number | null;
  /** Rounds in which peers decided different leaders (FLE alone does not exclude this when messages are lost; ZAB undoes it). */
  splitRounds: number;
  /** Leaders that gave up because a follower of their quorum was ahead of them (ZAB's check, after lost votes). */
  aheadAborts: number;
  /** A run without lost messages, all peers starting together and delays under finalizeWait: FLE must pick the best vote at once. */
  clean: boolean;
  faults: string;
  events: number;
}

interface Peer {
  id: number;
  core: FastLeaderElection;
  zxid: number;
  currentEpoch: number;
  acceptedEpoch: number;
  role: 'looking' | 'leading' | 'following';
  /** Bumped at every role change, so stale timers of an older role do nothing. */
  generation: number;
  leaderOf?: { followers: Set<number>; established: boolean; epoch: number; vote: { zxid: number; peerEpoch: number } };
  follows?: { leader: number; joined: boolean };
}

type Event =
  | { kind: 'deliver'; from: number; to: number; n: Notification }
  | { kind: 'connect'; peer: number; generation: number; deadline: number }
  | { kind: 'initLimit'; peer: number; generation: number }
  | { kind: 'start'; peer: number }
  | { kind: 'health' }
  | { kind: 'heal' }
  | { kind: 'cut' };

const INIT_LIMIT_MS = 2000;
const SIM_LIMIT_MS = 30 * 60_000;

export function simulate(opts: SimOptions): SimResult {
  const rand = prng(opts.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const ids = Array.from({ length: opts.peers }, (_, i) => i + 1);
  const config = ids.map((id) => `server.${id}=127.0.0.1:${2000 + id}:${3000 + id}:participant\n`).join('') + 'version=0';

  // Faults of this run; a quarter of the runs are clean (see SimResult.clean).
  const clean = rand() < 0.25;
  const dropP = clean || rand() < 0.3 ? 0 : rand() * 0.3;
  const dupP = rand() * 0.1;
  const maxDelay = clean ? int(1, 150) : int(1, 400);
  const startSpread = clean ? 40 : 1000;
  const cut = new Set<string>();
  const partition = !clean && rand() < 0.6;
  const partStart = int(0, 3000);
  const partEnd = partStart + int(200, 30_000);
  if (partition) {
    // Cut a random set of links; sometimes isolate one side completely.
    const side = new Set(ids.filter(() => rand() < 0.5));
    for (const a of ids) for (const b of ids) if (a < b && (side.has(a) !== side.has(b) ? rand() < 0.8 : rand() < 0.1)) cut.add(`${a}-${b}`);
  }
  // Unclean runs may also tell the cores which peers they cannot reach (a peer not started yet, a
  // cut link), as the runtime does when a dial is refused: the early decision it allows must stay safe.
  const reachability = !clean && rand() < 0.7;
  const faults = `${clean ? 'clean ' : ''}${reachability ? 'reachability ' : ''}drop=${dropP.toFixed(2)} dup=${dupP.toFixed(2)} delay<=${maxDelay}ms partition=${partition ? `[${[...cut].join(',')}] ${partStart}..${partEnd}ms` : 'none'}`;
  const linkUp = (a: number, b: number, t: number) =>
    a === b || !partition || t < partStart || t >= partEnd || !cut.has(a < b ? `${a}-${b}` : `${b}-${a}`);

  // Initial states: epochs and zxids close together so that every tie-break gets exercised.
  const peers = new Map<number, Peer>();
  for (const id of ids) {
    // A peer may have accepted an epoch without logging a txn in it yet: zxid's epoch <= currentEpoch.
    const currentEpoch = int(0, 2);
    const zxid = int(0, currentEpoch) * 2 ** 32 + int(0, 2);
    peers.set(id, {
      id,
      core: new FastLeaderElection({ myId: id, voters: ids, config, decideEarly: rand() < 0.5 }),
      zxid,
      currentEpoch,
      acceptedEpoch: currentEpoch,
      role: 'looking',
      generation: 0,
    });
  }
  const best = [...peers.values()].reduce((a, b) => (betterVote({ leader: b.id, zxid: b.zxid, peerEpoch: b.currentEpoch }, { leader: a.id, zxid: a.zxid, peerEpoch: a.currentEpoch }) ? b : a));

  const violations: string[] = [];
  const decidedLeaders = new Map<number, Set<number>>();
  const establishedEpochs = new Map<number, number>();
  let events = 0;
  let now = 0;
  let seq = 0;
  const queue: { t: number; seq: number; e: Event }[] = [];
  const push = (t: number, e: Event) => {
    const item = { t, seq: seq++, e };
    let i = queue.length;
    while (i > 0 && (queue[i - 1]!.t > t || (queue[i - 1]!.t === t && queue[i - 1]!.seq > item.seq))) i--;
    queue.splice(i, 0, item);
  };

  // QuorumCnxManager keeps the last message per peer and sends it again when a connection comes up.
  const lastSent = new Map<string, Notification>();
  // One TCP connection per pair: messages on a link arrive in the order sent.
  const linkClock = new Map<string, number>();
  const deliver = (from: number, to: number, n: Notification) => {
    const key = `${from}>${to}`;
    const t = Math.max(now + int(1, maxDelay), linkClock.get(key) ?? 0);
    linkClock.set(key, t);
    push(t, { kind: 'deliver', from, to, n });
  };
  const resendLast = (from: number, to: number) => {
    const n = lastSent.get(`${from}>${to}`);
    if (n) deliver(from, to, n);
  };
  const started = new Set<number>();

  const send = (from: number, to: number, n: Notification) => {
    lastSent.set(`${from}>${to}`, n);
    if (rand() < dropP) return;
    const copies = rand() < dupP ? 2 : 1;
    for (let c = 0; c < copies; c++) deliver(from, to, n);
  };

  let aheadAborts = 0;
  const lookAgain = (p: Peer) => {
    if (p.role === 'leading') {
      // Its followers lose the connection and look again too.
      for (const q of peers.values()) if (q !== p && q.role === 'following' && q.follows?.leader === p.id) lookAgain(q);
    }
    p.role = 'looking';
    p.generation++;
    p.leaderOf = undefined;
    p.follows = undefined;
    absorb(p, p.core.start(now, p.zxid, p.currentEpoch));
  };

  const absorb = (p: Peer, step: Step) => {
    if (process.env.SIM_TRACE && step.decision) console.log(now, p.id, "decides", JSON.stringify(step.decision), "cur", p.currentEpoch, p.zxid.toString(16));
    for (const m of step.messages) send(p.id, m.to, m.notification);
    const d = step.decision;
    if (!d) return;
    let leaders = decidedLeaders.get(d.electionEpoch);
    if (!leaders) decidedLeaders.set(d.electionEpoch, (leaders = new Set()));
    leaders.add(d.leader);
    p.generation++;
    if (d.state === PeerState.LEADING) {
      p.role = 'leading';
      p.leaderOf = { followers: new Set([p.id]), established: false, epoch: 0, vote: { zxid: d.zxid, peerEpoch: d.peerEpoch } };
      push(now + INIT_LIMIT_MS, { kind: 'initLimit', peer: p.id, generation: p.generation });
      tryEstablish(p);
    } else {
      p.role = 'following';
      p.follows = { leader: d.leader, joined: false };
      push(now + int(1, 20), { kind: 'connect', peer: p.id, generation: p.generation, deadline: now + INIT_LIMIT_MS });
    }
  };

  const tryEstablish = (leader: Peer) => {
    const lead = leader.leaderOf!;
    if (lead.established || !leader.core.quorum.isQuorum(lead.followers)) return;
    // A follower ahead of its leader makes the leader give up (Leader.waitForEpochAck: "Follower is
    // ahead of the leader"); FLE leads there only when the better vote was lost on the way.
    for (const sid of lead.followers) {
      const f = peers.get(sid)!;
      if (betterVote({ leader: 0, zxid: f.zxid, peerEpoch: f.currentEpoch }, { leader: 0, zxid: leader.zxid, peerEpoch: leader.currentEpoch })) {
        if (clean) violations.push(`t=${now}: leader ${leader.id} (epoch ${leader.currentEpoch}, zxid ${leader.zxid.toString(16)}) elected over follower ${sid} (epoch ${f.currentEpoch}, zxid ${f.zxid.toString(16)}) though no vote was lost`);
        aheadAborts++;
        lookAgain(leader);
        return;
      }
    }
    const epoch = Math.max(...[...lead.followers].map((sid) => peers.get(sid)!.acceptedEpoch)) + 1;
    const previous = establishedEpochs.get(epoch);
    if (previous !== undefined && previous !== leader.id) violations.push(`t=${now}: epoch ${epoch} established by both ${previous} and ${leader.id}`);
    establishedEpochs.set(epoch, leader.id);
    lead.established = true;
    lead.epoch = epoch;
    for (const sid of lead.followers) adoptEpoch(peers.get(sid)!, leader);
  };

  const adoptEpoch = (p: Peer, leader: Peer) => {
    p.acceptedEpoch = p.currentEpoch = leader.leaderOf!.epoch;
    p.zxid = leader.zxid; // synced to the leader's history
    p.core.updatePeerEpoch(p.currentEpoch);
  };

  const tellReachable = (a: number, b: number, up: boolean) => {
    if (started.has(a)) absorb(peers.get(a)!, peers.get(a)!.core.peerReachable(b, up && started.has(b)));
    if (started.has(b)) absorb(peers.get(b)!, peers.get(b)!.core.peerReachable(a, up && started.has(a)));
  };

  const handle = (e: Event) => {
    switch (e.kind) {
      case 'start': {
        const p = peers.get(e.peer)!;
        started.add(p.id);
        if (reachability) {
          for (const other of ids) if (other !== p.id) absorb(p, p.core.peerReachable(other, started.has(other) && linkUp(p.id, other, now)));
          for (const other of started) if (other !== p.id && linkUp(p.id, other, now)) absorb(peers.get(other)!, peers.get(other)!.core.peerReachable(p.id, true));
        }
        for (const other of ids) if (other !== p.id) resendLast(other, p.id);
        absorb(p, p.core.start(now, p.zxid, p.currentEpoch));
        return;
      }
      case 'deliver': {
        if (process.env.SIM_TRACE) console.log(now, e.from, '->', e.to, linkUp(e.from, e.to, now) ? '' : 'CUT', JSON.stringify({ ...e.n, config: undefined }));
        if (!linkUp(e.from, e.to, now) || !started.has(e.to)) return; // resent when the link or the peer comes up
        const p = peers.get(e.to)!;
        absorb(p, p.core.received(now, e.from, e.n));
        return;
      }
      case 'connect': {
        const p = peers.get(e.peer)!;
        if (p.generation !== e.generation || !p.follows) return;
        const leader = peers.get(p.follows.leader)!;
        if (leader.role === 'leading' && linkUp(p.id, leader.id, now)) {
          p.follows.joined = true;
          leader.leaderOf!.followers.add(p.id);
          if (leader.leaderOf!.established) adoptEpoch(p, leader);
          else tryEstablish(leader);
        } else if (now + 100 < e.deadline) {
          push(now + 100, { ...e });
        } else {
          lookAgain(p);
        }
        return;
      }
      case 'initLimit': {
        const p = peers.get(e.peer)!;
        if (p.generation === e.generation && p.leaderOf && !p.leaderOf.established) lookAgain(p);
        return;
      }
      case 'heal': {
        for (const link of cut) {
          const [a, b] = link.split('-').map(Number) as [number, number];
          if (reachability) tellReachable(a, b, true);
          resendLast(a, b);
          resendLast(b, a);
        }
        return;
      }
      case 'cut': {
        for (const link of cut) {
          const [a, b] = link.split('-').map(Number) as [number, number];
          if (rand() < 0.7) tellReachable(a, b, false);
        }
        return;
      }
      case 'health': {
        // syncLimit: a follower cut from its leader looks again; a leader without a quorum steps down.
        for (const p of peers.values()) {
          if (p.role === 'following' && p.follows?.joined && !linkUp(p.id, p.follows.leader, now)) {
            peers.get(p.follows.leader)!.leaderOf?.followers.delete(p.id);
            lookAgain(p);
          }
        }
        for (const p of peers.values()) {
          if (p.role === 'leading' && p.leaderOf!.established && !p.core.quorum.isQuorum(p.leaderOf!.followers)) lookAgain(p);
        }
        push(now + 500, e);
        return;
      }
    }
  };

  for (const id of ids) push(int(0, startSpread), { kind: 'start', peer: id });
  push(500, { kind: 'health' });
  if (partition) {
    const heal = { kind: 'heal' } as const;
    push(partEnd, heal);
    if (reachability) push(partStart, { kind: 'cut' });
  }

  const settled = (): Peer | null => {
    const leaders = [...peers.values()].filter((p) => p.role === 'leading' && p.leaderOf!.established);
    if (leaders.length !== 1) return null;
    const leader = leaders[0]!;
    for (const p of peers.values()) if (p !== leader && !(p.role === 'following' && p.follows!.leader === leader.id && p.follows!.joined)) return null;
    return leader;
  };

  let settledAtMs: number | null = null;
  let leader: Peer | null = null;
  while (now < SIM_LIMIT_MS) {
    // The next thing to happen: a queued event or a core's timer.
    let nextTick = Infinity;
    let ticker: Peer | null = null;
    for (const p of peers.values()) {
      const d = p.core.nextDeadline();
      if (d !== null && d < nextTick) [nextTick, ticker] = [d, p];
    }
    const head = queue[0];
    if (ticker && (!head || nextTick < head.t)) {
      now = Math.max(now, nextTick);
      absorb(ticker, ticker.core.tick(now));
    } else if (head) {
      queue.shift();
      now = Math.max(now, head.t);
      handle(head.e);
    } else {
      break;
    }
    events++;
    // Settled for good: every link is healed and everyone follows one established leader.
    if (now >= (partition ? partEnd : 0) && (leader = settled())) {
      settledAtMs = now;
      break;
    }
  }

  if (!leader) violations.push(`no agreement after ${now} ms: ${[...peers.values()].map((p) => `${p.id}:${p.role}${p.follows ? `->${p.follows.leader}` : ''}`).join(' ')}`);
  const splitRounds = [...decidedLeaders.values()].filter((s) => s.size > 1).length;
  if (clean) {
    // Every vote arrived within finalizeWait of every start: one round, one leader, the best vote.
    if (leader && leader.id !== best.id) violations.push(`leader ${leader.id} is not the best vote ${best.id}`);
    if (splitRounds > 0) violations.push(`${splitRounds} rounds decided different leaders`);
  }
  return { seed: opts.seed, violations, leader: leader?.id ?? null, bestSid: best.id, settledAtMs, splitRounds, aheadAborts, clean, faults, events };
}
