/**
 * A whole ensemble's ZAB in one process under a seeded simulated network, disk and clock: the
 * sans-IO roles (src/zab/leader.ts, follower.ts) driven by a small runtime that carries their
 * Ready out as the real one must (epochs and truncation durable first, appends durable only after
 * a simulated fsync, a crash loses what was not fsynced). Leader election is the real
 * FastLeaderElection core (src/zab/election.ts) over the same simulated network: a peer without a
 * role looks for a leader with its currentEpoch and last logged zxid, notifications travel with
 * delays and are lost on cut links (the last one sent is sent again when a link heals, as
 * QuorumCnxManager does), the runtime reports peers it cannot reach, and a decision starts the
 * leader or follower role. What the election gets wrong (a leader behind a follower, a follower of
 * a peer that does not lead) ZAB must undo, and the invariants check that it does.
 *
 * The txns are real ones (test/zab/helpers.ts's TxnGen: sessions, ephemerals, multi, containers),
 * encoded as a leader encodes them, applied by each server to its own DataTree; a SNAP carries the
 * leader's tree serialized in ZooKeeper's wire layout, parsed by the learner. Every tree must be the
 * replay of the txns its server applied, and servers that applied the same txns must hold the same
 * nodes, sessions and ephemerals.
 *
 * Invariants are checked after every event; `run()` throws with the seed and the event count on
 * the first violation, and at the end checks that every acknowledged write survived.
 */
import { PacketType, packetTypeName, type QuorumPacket } from '../../../src/jute/quorum.js';

const TRACE = process.env.ZAB_SIM_TRACE ? Number(process.env.ZAB_SIM_TRACE) : undefined;
import { ZabFollower } from '../../../src/zab/follower.js';
import { History, type HistoryEntry } from '../../../src/zab/history.js';
import { PeerState, type Notification } from '../../../src/jute/election.js';
import { FastLeaderElection, type Step } from '../../../src/zab/election.js';
import { ZabLeader } from '../../../src/zab/leader.js';
import type { Ready, ZabTiming } from '../../../src/zab/ready.js';
import { DataTree } from '../../../src/datatree/index.js';
import { computeTreeDigest, encodeSnapshot, parseSnapshot } from '../../../src/zab/snapshot-file.js';
import { decodeTxnEntry, encodeTxnEntry } from '../../../src/zab/txn-codec.js';
import { prng, TxnGen } from '../helpers.js';

/** What a SNAP carries in the simulation: the leader's tree in the wire layout, and the txns behind it (the log model). */
interface SimSnapshot {
  entries: HistoryEntry[];
  bytes: Buffer;
}

export interface SimOptions {
  seed: number;
  servers: number;
  /** Simulated milliseconds to run with faults, then `settleMs` with none. */
  durationMs: number;
  settleMs?: number;
  faults?: boolean;
  /** Test-only sabotage, to show the invariants catch real bugs. */
  bug?: 'ack-before-fsync' | 'commit-without-quorum' | 'snapshot-without-sessions';
}

export interface SimResult {
  events: number;
  /** How learners were synced. */
  diffs: number;
  truncs: number;
  snaps: number;
  acknowledged: number;
  elections: number;
  crashes: number;
  partitions: number;
  finalZxid: number;
}

const TIMING: ZabTiming = { tickTime: 100, initLimit: 10, syncLimit: 5 };

interface Peer {
  sid: number;
  up: boolean;
  /** Durable log, and entries appended but not yet fsynced. */
  log: HistoryEntry[];
  pending: HistoryEntry[];
  fsyncing: boolean;
  acceptedEpoch: number;
  currentEpoch: number;
  /** The state machine: the txns applied, in order, and the data tree they built. */
  state: HistoryEntry[];
  tree: DataTree;
  role: ZabLeader | ZabFollower | undefined;
  /** Incremented on every crash and role change, so that stale timers and messages are dropped. */
  incarnation: number;
  /** The election core; a new one at every start (ZooKeeper keeps nothing of elections across restarts). */
  election: FastLeaderElection;
  /** Looking for a leader (the core's round is running). */
  looking: boolean;
  /** The zxid of the last SNAP installed (0 if none). */
  snapFloor: number;
}

const CONFIG_LINES = (n: number) => Array.from({ length: n }, (_, i) => `server.${i + 1}=127.0.0.1:${2000 + i}:${3000 + i}:participant\n`).join('') + 'version=0';

type Event = { at: number; seq: number; run: () => void };

export class EnsembleSim {
  private readonly rand: () => number;
  private now = 0;
  private seq = 0;
  private queue: Event[] = [];
  private readonly peers: Peer[] = [];
  private readonly voters: Set<number>;
  /** Links cut by the current partition, as "a-b" with a < b. */
  private cut = new Set<string>();
  /** Per-direction channel: the time its last message arrives (TCP keeps order). */
  private readonly channelTail = new Map<string, number>();
  /** Channel generation per leader-learner pair: bumped when the connection breaks. */
  private readonly channelGen = new Map<string, number>();
  private readonly acknowledged = new Map<number, string>();
  private readonly everSeen = new Map<number, string>();
  private readonly establishedEpochs = new Map<number, number>();
  private nextWrite = 0;
  private readonly txns: TxnGen;
  private stats = { events: 0, elections: 0, crashes: 0, partitions: 0, diffs: 0, truncs: 0, snaps: 0 };

  /** This run's disk: a fast one (fsync within 15 ms) or a slow one (within 100 ms). */
  private readonly fsyncMaxMs: number;

  constructor(private readonly opts: SimOptions) {
    this.rand = prng(opts.seed);
    this.fsyncMaxMs = this.rand() < 0.5 ? 15 : 100;
    this.txns = new TxnGen(prng(opts.seed ^ 0x5eed), { ttl: false });
    this.voters = new Set(Array.from({ length: opts.servers }, (_, i) => i + 1));
    for (const sid of this.voters) {
      this.peers.push({ sid, up: true, log: [], pending: [], fsyncing: false, acceptedEpoch: 0, currentEpoch: 0, state: [], tree: new DataTree(), role: undefined, incarnation: 0, election: this.newElection(sid), looking: false, snapFloor: 0 });
    }
  }

  run(): SimResult {
    const settle = this.opts.settleMs ?? 20_000;
    const end = this.opts.durationMs + settle;
    for (const p of this.peers) this.at(this.int(0, 50), () => this.lookForLeader(p));
    this.every(10, () => this.tickElections());
    this.every(TIMING.tickTime / 4, () => this.tickRoles());
    this.every(10, () => this.now < this.opts.durationMs + settle / 2 && this.clientWrite());
    if (this.opts.faults !== false) this.scheduleFault();
    while (this.queue.length > 0) {
      const e = this.pop();
      if (e.at > end) break;
      this.now = e.at;
      e.run();
      this.stats.events++;
    }
    this.checkFinal();
    return { ...this.stats, acknowledged: this.acknowledged.size, finalZxid: Math.max(...this.peers.map((p) => p.state.at(-1)?.zxid ?? 0)) };
  }

  // ---- scheduling ----

  private at(delay: number, run: () => void): void {
    const e = { at: this.now + delay, seq: this.seq++, run };
    // Binary insertion keeps the queue ordered by (time, seq).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.at < e.at || (q.at === e.at && q.seq < e.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, e);
  }

  private pop(): Event {
    return this.queue.shift()!;
  }

  private every(ms: number, run: () => void): void {
    const loop = () => {
      run();
      this.at(ms, loop);
    };
    this.at(ms, loop);
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  private peer(sid: number): Peer {
    return this.peers[sid - 1]!;
  }

  private fail(msg: string): never {
    throw new Error(`seed ${this.opts.seed}, event ${this.stats.events}, t=${this.now} ms: ${msg}\nreplay: ZAB_SIM_SEED=${this.opts.seed} ZAB_SIM_SERVERS=${this.opts.servers} npx vitest run test/zab/zab-sim.test.ts`);
  }

  // ---- faults ----

  private scheduleFault(): void {
    this.at(this.int(300, 1500), () => {
      if (this.now < this.opts.durationMs) {
        const r = this.rand();
        if (r < 0.45) this.crashOne();
        else if (r < 0.9) this.partition();
        else this.heal();
        this.scheduleFault();
      } else {
        this.heal();
      }
    });
  }

  private crashOne(): void {
    const up = this.peers.filter((p) => p.up);
    // Prefer the leader now and then: that is where the interesting cases are.
    const leader = up.find((p) => p.role instanceof ZabLeader);
    const victim = leader && this.rand() < 0.5 ? leader : up[this.int(0, up.length - 1)];
    if (!victim) return;
    this.stats.crashes++;
    this.crash(victim);
    this.at(this.int(100, 1500), () => this.restart(victim));
  }

  private crash(p: Peer): void {
    p.up = false;
    p.pending = []; // not fsynced: lost
    p.fsyncing = false;
    this.dropRole(p, 'crashed');
    p.incarnation++;
    p.looking = false;
    for (const q of this.peers) if (q !== p) this.linkDown(p.sid, q.sid);
  }

  /** Recovery: the state is the replay of the durable log; then a new election core looks for a leader. */
  private restart(p: Peer): void {
    p.up = true;
    this.replayLog(p, true);
    p.election = this.newElection(p.sid);
    for (const k of [...this.lastNotification.keys()]) if (k.startsWith(`${p.sid}>`)) this.lastNotification.delete(k);
    this.lookForLeader(p);
    for (const q of this.peers) if (q !== p && this.reachable(p.sid, q.sid)) this.linkUp(p.sid, q.sid);
  }

  private partition(): void {
    this.stats.partitions++;
    this.heal();
    const sids = [...this.voters];
    const shape = this.rand();
    if (shape < 0.5) {
      const lonely = sids[this.int(0, sids.length - 1)]!;
      for (const s of sids) if (s !== lonely) this.cut.add(linkKey(lonely, s));
    } else {
      const side = new Set(sids.filter(() => this.rand() < 0.5));
      for (const a of sids) for (const b of sids) if (a < b && side.has(a) !== side.has(b)) this.cut.add(linkKey(a, b));
    }
    for (const link of this.cut) {
      const [a, b] = link.split('-').map(Number) as [number, number];
      // A dial across the cut fails at once, or hangs (the runtime then cannot tell).
      if (this.rand() < 0.7) this.linkDown(a, b);
    }
    // Connections across the cut break (as TCP would after its timeouts, here at once or never).
    for (const p of this.peers) if (p.role instanceof ZabFollower && !this.reachable(p.sid, p.role.leader) && this.rand() < 0.5) this.breakLink(p.sid, p.role.leader, 'partitioned');
  }

  private heal(): void {
    const healed = [...this.cut];
    this.cut.clear();
    for (const link of healed) {
      const [a, b] = link.split('-').map(Number) as [number, number];
      this.linkUp(a, b);
    }
  }

  private reachable(a: number, b: number): boolean {
    return a === b || !this.cut.has(linkKey(a, b));
  }

  // ---- election (the real FastLeaderElection core over the simulated network) ----

  private newElection(sid: number): FastLeaderElection {
    return new FastLeaderElection({ myId: sid, voters: this.voters, config: CONFIG_LINES(this.voters.size) });
  }

  /** A peer without a role starts a round with its own vote. */
  private lookForLeader(p: Peer): void {
    if (!p.up || p.role || p.looking) return;
    p.looking = true;
    for (const q of this.peers) if (q !== p) this.electionStep(p, p.election.peerReachable(q.sid, q.up && this.reachable(p.sid, q.sid)));
    this.electionStep(p, p.election.start(this.now, lastZxid(p), p.currentEpoch));
  }

  private tickElections(): void {
    for (const p of this.peers) {
      const d = p.up ? p.election.nextDeadline() : null;
      if (d !== null && d <= this.now) this.electionStep(p, p.election.tick(this.now));
    }
  }

  /** QuorumCnxManager keeps the last notification per peer and sends it again on a new connection. */
  private readonly lastNotification = new Map<string, Notification>();

  private electionStep(p: Peer, step: Step): void {
    for (const m of step.messages) {
      this.lastNotification.set(`${p.sid}>${m.to}`, m.notification);
      this.sendNotification(p.sid, m.to, m.notification);
    }
    const d = step.decision;
    if (!d || !p.looking) return;
    p.looking = false;
    if (d.state === PeerState.LEADING) {
      this.stats.elections++;
      this.lead(p);
    } else {
      this.follow(p, d.leader);
    }
  }

  private sendNotification(from: number, to: number, n: Notification): void {
    if (!this.reachable(from, to)) return; // lost; sent again when the link heals
    const dir = `e${from}>${to}`;
    const arrive = Math.max(this.channelTail.get(dir) ?? 0, this.now + this.int(1, 20));
    this.channelTail.set(dir, arrive);
    this.at(arrive - this.now, () => {
      const q = this.peer(to);
      if (!q.up || !this.reachable(from, to)) return;
      this.electionStep(q, q.election.received(this.now, from, n));
    });
  }

  /** A link came back (heal, restart): each side's last notification goes out again, and each can reach the other. */
  private linkUp(a: number, b: number): void {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const px = this.peer(x);
      if (!px.up) continue;
      this.electionStep(px, px.election.peerReachable(y, this.peer(y).up));
      const last = this.lastNotification.get(`${x}>${y}`);
      if (last && this.peer(y).up) this.sendNotification(x, y, last);
    }
  }

  private linkDown(a: number, b: number): void {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const px = this.peer(x);
      if (px.up) this.electionStep(px, px.election.peerReachable(y, false));
    }
  }

  private lead(p: Peer): void {
    const role = new ZabLeader({
      myid: p.sid,
      voters: this.voters,
      acceptedEpoch: p.acceptedEpoch,
      currentEpoch: p.currentEpoch,
      history: historyOf(p),
      timing: TIMING,
      now: this.now,
      config: null,
    });
    if (this.opts.bug === 'commit-without-quorum') {
      // Sabotage: a leader that takes any set holding itself for a quorum.
      Object.assign(role, { quorum: { members: this.voters, isVoter: (sid: number) => this.voters.has(sid), isQuorum: (ids: Iterable<number>) => [...ids].includes(p.sid) } });
    }
    p.role = role;
    this.process(p);
  }

  private follow(p: Peer, leaderSid: number): void {
    const role = new ZabFollower({ myid: p.sid, leader: leaderSid, acceptedEpoch: p.acceptedEpoch, currentEpoch: p.currentEpoch, history: historyOf(p), timing: TIMING, now: this.now });
    p.role = role;
    this.connectToLeader(p, role, this.now + TIMING.initLimit * TIMING.tickTime, 10);
  }

  /**
   * As the runtime's LearnerPort: the leader's quorum port accepts only while it leads, so the
   * learner retries (10 ms, doubling to 200 ms) until initLimit runs out, then gives up the role.
   */
  private connectToLeader(p: Peer, role: ZabFollower, deadline: number, retryMs: number): void {
    if (p.role !== role || !p.up) return;
    const leader = this.peer(role.leader);
    if (leader.up && leader.role instanceof ZabLeader && !leader.role.isStopped && this.reachable(p.sid, leader.sid)) {
      const key = linkKey(p.sid, role.leader);
      this.channelGen.set(key, (this.channelGen.get(key) ?? 0) + 1);
      role.connected(this.now);
      this.process(p);
      return;
    }
    if (this.now + retryMs > deadline) {
      role.stop(`could not reach leader ${role.leader}'s quorum port within initLimit`);
      this.process(p);
      return;
    }
    this.at(retryMs, () => this.connectToLeader(p, role, deadline, Math.min(retryMs * 2, 200)));
  }

  /** Leaving a role: the log is flushed and all of it applied (ZooKeeper's fast-forward). */
  private dropRole(p: Peer, reason: string): void {
    const role = p.role;
    if (!role) return;
    if (TRACE === p.sid) console.log(`${this.now} ${p.sid} leaves its role: ${reason}`);
    p.role = undefined;
    p.incarnation++;
    if (p.up) {
      p.log.push(...p.pending);
      p.pending = [];
      p.fsyncing = false;
      this.replayLog(p, false);
    }
    // Back to LOOKING (a crashed peer looks again when it restarts).
    if (p.up) this.at(0, () => this.lookForLeader(p));
    if (role instanceof ZabLeader) {
      for (const q of this.peers) if (q.role instanceof ZabFollower && q.role.leader === p.sid) this.breakLink(q.sid, p.sid, `leader ${reason}`);
    } else {
      const l = this.peer(role.leader);
      if (l.role instanceof ZabLeader) l.role.learnerGone(p.sid);
      const key = linkKey(p.sid, role.leader);
      this.channelGen.set(key, (this.channelGen.get(key) ?? 0) + 1);
      if (l.role) this.process(l);
    }
  }

  private breakLink(followerSid: number, leaderSid: number, reason: string): void {
    const f = this.peer(followerSid);
    if (f.role instanceof ZabFollower && f.role.leader === leaderSid) {
      f.role.stop(reason);
      this.process(f);
    }
  }

  // ---- the runtime ----

  private tickRoles(): void {
    for (const p of this.peers) {
      if (!p.up || !p.role) continue;
      p.role.tick(this.now);
      this.process(p);
    }
  }

  private clientWrite(): void {
    const leader = this.peers.find((p) => p.up && p.role instanceof ZabLeader && p.role.isServing);
    if (!leader || !(leader.role instanceof ZabLeader)) return;
    const role = leader.role;
    // A txn as a client's request would make it (sessions, ephemerals, multi, containers, TTLs),
    // prepared against every txn proposed so far; the id makes each payload unique.
    const txn = { ...this.txns.next(), zxid: role.nextZxid(), cxid: this.nextWrite++ };
    role.propose({ zxid: txn.zxid, payload: encodeTxnEntry(txn) }, this.now);
    this.process(leader);
  }

  /** Carries out a role's Ready, in the order src/zab/ready.ts prescribes. */
  private process(p: Peer): void {
    for (let guard = 0; guard < 1000 && p.role; guard++) {
      const role = p.role;
      const r: Ready = role.ready();
      if (isEmpty(r)) return;
      for (const e of r.epochs) {
        p[e.name] = e.value;
        if (p.acceptedEpoch < p.currentEpoch) this.fail(`server ${p.sid}: acceptedEpoch ${p.acceptedEpoch} < currentEpoch ${p.currentEpoch}`);
      }
      if (r.truncate !== undefined) {
        const z = r.truncate;
        // A real learner keeps no log before the snapshot of a SNAP: it could not rebuild a state
        // older than that snapshot (quorum-peer.ts then clears its files and asks to be synced anew).
        if (z < p.snapFloor) this.fail(`server ${p.sid}: TRUNC to 0x${z.toString(16)}, below the SNAP at 0x${p.snapFloor.toString(16)} it installed`);
        p.log = p.log.filter((e) => e.zxid <= z);
        p.pending = p.pending.filter((e) => e.zxid <= z);
        this.replayLog(p, true);
      }
      for (const c of r.commits) this.apply(p, c, role instanceof ZabLeader);
      for (const m of r.messages) this.send(p, m.to, 'packet' in m ? m.packet : { type: PacketType.SNAP, zxid: m.zxid, data: null, authinfo: null }, 'snapshot' in m ? { entries: [...p.state], bytes: this.snapshotBytes(p.tree) } : undefined);
      if (r.appends.length > 0) {
        for (const a of r.appends) {
          this.checkAppend(p, a);
          this.remember(a);
          p.pending.push(a);
        }
        if (this.opts.bug === 'ack-before-fsync' && role instanceof ZabFollower) {
          // Sabotage: report the appends durable at once (the ACK goes out before the fsync).
          role.persisted(r.appends.at(-1)!.zxid);
        }
        this.scheduleFsync(p);
      }
      for (const ev of r.events) {
        if (ev.kind === 'stopped') this.dropRole(p, ev.reason);
        else if (ev.kind === 'dropLearner') this.breakLink(ev.sid, p.sid, ev.reason);
        else if (ev.kind === 'serving' && role instanceof ZabLeader) this.established(p.sid, ev.epoch);
        else if (ev.kind === 'serving') p.election.updatePeerEpoch(ev.epoch);
        else if (ev.kind === 'deliver' && ev.packet.type === PacketType.PING && role instanceof ZabFollower) {
          this.send(p, role.leader, { type: PacketType.PING, zxid: ev.packet.zxid, data: Buffer.alloc(0), authinfo: null });
        }
      }
    }
  }

  private snapshotBytes(tree: DataTree): Buffer {
    // Sabotage: a SNAP that leaves the session table out (a learner then expires nobody's ephemerals right).
    const sessions = this.opts.bug === 'snapshot-without-sessions' ? new Map<bigint, number>() : undefined;
    return encodeSnapshot(tree, { format: 'wire', ...(sessions ? { sessions } : {}) }).bytes;
  }

  private scheduleFsync(p: Peer): void {
    if (p.fsyncing || p.pending.length === 0) return;
    p.fsyncing = true;
    const inc = p.incarnation;
    const batch = p.pending.length;
    this.at(this.int(1, this.fsyncMaxMs), () => {
      if (p.incarnation !== inc || !p.up) return;
      p.fsyncing = false;
      const done = p.pending.splice(0, batch);
      p.log.push(...done);
      p.role?.persisted(done.at(-1)!.zxid);
      this.process(p);
      this.scheduleFsync(p);
    });
  }

  private send(from: Peer, to: number, packet: QuorumPacket, snapshot?: SimSnapshot): void {
    if (packet.type === PacketType.DIFF) this.stats.diffs++;
    else if (packet.type === PacketType.TRUNC) this.stats.truncs++;
    else if (packet.type === PacketType.SNAP) this.stats.snaps++;
    const key = linkKey(from.sid, to);
    const gen = this.channelGen.get(key) ?? 0;
    if (!this.reachable(from.sid, to)) {
      // TCP delivers in order or not at all: a message that cannot get through breaks the connection.
      const leaderSid = from.role instanceof ZabLeader ? from.sid : to;
      this.at(0, () => this.breakLink(leaderSid === from.sid ? to : from.sid, leaderSid, 'connection lost'));
      return;
    }
    const dir = `${from.sid}>${to}`;
    const arrive = Math.max(this.channelTail.get(dir) ?? 0, this.now + this.int(1, 20));
    this.channelTail.set(dir, arrive);
    this.at(arrive - this.now, () => this.deliver(from.sid, to, gen, packet, snapshot));
  }

  private deliver(from: number, to: number, gen: number, packet: QuorumPacket, snapshot?: SimSnapshot): void {
    if ((this.channelGen.get(linkKey(from, to)) ?? 0) !== gen) return; // that connection is gone
    if (TRACE === to || TRACE === from) console.log(`${this.now} ${from}->${to} ${packetTypeName(packet.type)} 0x${packet.zxid.toString(16)}`);
    const p = this.peer(to);
    if (!p.up || !p.role) return;
    if (p.role instanceof ZabLeader) {
      p.role.receive(from, packet, this.now);
    } else {
      if (p.role.leader !== from) return;
      p.role.receive(packet, this.now);
      if (snapshot) {
        // The runtime loads the snapshot and makes it durable, then tells the role.
        // The log model keeps the txns the snapshot holds; the tree is the one the snapshot's bytes build.
        const zxid = snapshot.entries.at(-1)?.zxid ?? 0;
        p.log = [...snapshot.entries];
        p.snapFloor = zxid;
        p.pending = [];
        p.state = [...snapshot.entries];
        p.tree = parseSnapshot(snapshot.bytes, { zxid, format: 'wire' }).tree;
        this.checkTreeIsReplay(p, 'after installing a snapshot');
        p.role.snapshotInstalled(zxid);
      }
    }
    this.process(p);
  }

  /** The state stays the replay of a prefix of the log: the next entry applied is the next one logged. */
  private apply(p: Peer, entry: HistoryEntry, asLeader: boolean): void {
    const i = p.state.length;
    if (TRACE === p.sid) console.log(`${this.now} ${p.sid} applies 0x${entry.zxid.toString(16)}`);
    const logged = i < p.log.length ? p.log[i] : p.pending[i - p.log.length];
    if (logged?.zxid !== entry.zxid) this.fail(`server ${p.sid} applies 0x${entry.zxid.toString(16)}, but its log has 0x${logged?.zxid.toString(16)} there`);
    p.state.push(entry);
    p.tree.apply(decodeTxnEntry(entry.payload).txn);
    if (asLeader) this.acknowledged.set(entry.zxid, entry.payload.toString('base64'));
  }

  /**
   * The state becomes the whole durable log: replayed from an empty tree (`fresh`: a restart, a
   * truncation), or, when the state is a prefix of the log (a role ending), the rest applied on top.
   */
  private replayLog(p: Peer, fresh: boolean): void {
    if (fresh || p.state.length > p.log.length || p.state.some((e, i) => p.log[i]!.zxid !== e.zxid)) {
      p.tree = new DataTree();
      p.state = [];
    }
    for (const e of p.log.slice(p.state.length)) {
      p.state.push(e);
      p.tree.apply(decodeTxnEntry(e.payload).txn);
    }
  }

  private remember(e: HistoryEntry): void {
    const text = e.payload.toString('base64');
    const seen = this.everSeen.get(e.zxid);
    if (seen !== undefined && seen !== text) this.fail(`two different txns with zxid 0x${e.zxid.toString(16)}`);
    this.everSeen.set(e.zxid, text);
  }

  private established(sid: number, epoch: number): void {
    // ZOOKEEPER-1732: members of an established epoch answer LOOKING peers with it.
    const leader = this.peer(sid);
    leader.election.updatePeerEpoch(epoch);
    // The client's requests are now prepared against this leader's log, all of which it commits.
    this.txns.restartFrom([...leader.log, ...leader.pending].map((e) => decodeTxnEntry(e.payload).txn));
    const other = this.establishedEpochs.get(epoch);
    if (other !== undefined && other !== sid) this.fail(`two leaders established in epoch ${epoch}: ${other} and ${sid}`);
    this.establishedEpochs.set(epoch, sid);
    this.checkLeaderHasAcknowledged(this.peer(sid));
  }

  // ---- invariants ----

  private checkAppend(p: Peer, e: HistoryEntry): void {
    const last = (p.pending.at(-1) ?? p.log.at(-1))?.zxid ?? 0;
    if (e.zxid <= last) this.fail(`server ${p.sid} logs 0x${e.zxid.toString(16)} after 0x${last.toString(16)}`);
  }

  /** An acknowledged write is in the log of every leader established after it was acknowledged. */
  private checkLeaderHasAcknowledged(p: Peer): void {
    const have = new Set([...p.log, ...p.pending].map((e) => e.zxid));
    for (const zxid of this.acknowledged.keys()) {
      if (!have.has(zxid)) this.fail(`leader ${p.sid} established without acknowledged txn 0x${zxid.toString(16)}`);
    }
  }

  private checkFinal(): void {
    const live = this.peers.filter((p) => p.up);
    const serving = live.filter((p) => p.role?.isServing);
    if (serving.length !== live.length) this.fail(`after settling with no faults, ${live.length - serving.length} of ${live.length} servers are not serving`);
    for (const p of live) {
      const have = new Map(p.state.map((e) => [e.zxid, e.payload.toString('base64')]));
      for (const [zxid, text] of this.acknowledged) {
        if (have.get(zxid) !== text) this.fail(`after settling, server ${p.sid} lacks acknowledged txn 0x${zxid.toString(16)}; has ${p.state.length} txns`);
      }
    }
    const reference = serving[0]!.state.map((e) => e.zxid);
    for (const p of serving) {
      const mine = p.state.map((e) => e.zxid);
      const n = Math.min(mine.length, reference.length);
      if (mine.slice(0, n).join() !== reference.slice(0, n).join()) this.fail(`servers ${serving[0]!.sid} and ${p.sid} applied different txns`);
    }
    // Every tree is the replay of what its server applied, and servers that applied the same txns
    // hold the same tree: nodes and their digest, sessions, ephemerals by owner.
    for (const p of live) this.checkTreeIsReplay(p, 'after settling');
    const last = (p: Peer) => p.state.at(-1)?.zxid ?? 0;
    for (const p of serving) {
      const q = serving.find((x) => x !== p && last(x) === last(p));
      if (q && treeSummary(p.tree) !== treeSummary(q.tree)) this.fail(`servers ${p.sid} and ${q.sid} applied the same txns but hold different trees`);
    }
  }

  private checkTreeIsReplay(p: Peer, when: string): void {
    const replay = new DataTree();
    for (const e of p.state) replay.apply(decodeTxnEntry(e.payload).txn);
    if (treeSummary(p.tree) !== treeSummary(replay)) this.fail(`${when}, server ${p.sid}'s tree is not the replay of the ${p.state.length} txns it applied`);
  }
}

/** What two trees must agree on: the nodes' digest, the session table, and the ephemerals of each session. */
function treeSummary(t: DataTree): string {
  const sessions = [...t.sessions].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, to]) => `${id.toString(16)}:${to}`);
  const ephemerals = [...t.ephemeralSessions()].filter(([, paths]) => paths.size > 0).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, paths]) => `${id.toString(16)}=${[...paths].sort().join(',')}`);
  return `${computeTreeDigest(t)}|${t.nodeCount}|${sessions.join(' ')}|${ephemerals.join(' ')}`;
}

function linkKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

function lastZxid(p: Peer): number {
  return p.log.at(-1)?.zxid ?? 0;
}

/** A small in-memory history (ZooKeeper keeps 500), so that learners far behind get a SNAP. */
const HISTORY_SIZE = 64;

function historyOf(p: Peer): History {
  const tail = p.log.slice(-HISTORY_SIZE);
  const h = new History(p.log.length > tail.length ? p.log[p.log.length - tail.length - 1]!.zxid : 0, HISTORY_SIZE);
  for (const e of tail) h.add(e);
  return h;
}

function isEmpty(r: Ready): boolean {
  return r.epochs.length === 0 && r.truncate === undefined && r.commits.length === 0 && r.messages.length === 0 && r.appends.length === 0 && r.events.length === 0;
}
