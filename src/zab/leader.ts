import { OpCode } from '../jute/constants.js';
import { parseQuorumConfig } from '../jute/election.js';
import { PacketType, ZAB_PROTOCOL_VERSION, decodeInt, decodeLearnerInfo, encodeInt, epochOf, zxidOf, type QuorumPacket } from '../jute/quorum.js';
import type { History, HistoryEntry } from './history.js';
import { MajorityQuorum } from './quorum.js';
import type { Ready, ZabTiming } from './ready.js';
import { RoleBase } from './role-base.js';
import { planSync } from './sync-plan.js';

/**
 * The leader's side of ZAB, sans-IO (ZooKeeper's Leader + LearnerHandler): discovery (FOLLOWERINFO,
 * a new epoch once a quorum is in, LEADERINFO, ACKEPOCH), synchronization (DIFF/TRUNC/SNAP, then
 * NEWLEADER, UPTODATE once a quorum acks it), broadcast (PROPOSAL to every learner, COMMIT in zxid
 * order once a quorum acks), PINGs every half tick, and stepping down when a quorum is no longer
 * in touch. Time comes in as numbers; everything to do goes out through `ready()`.
 */
export interface LeaderParams {
  myid: number;
  voters: ReadonlySet<number>;
  /** Members that learn without voting (OBSERVERINFO): they get INFORMs, never PROPOSALs, and count in no quorum. */
  observers?: ReadonlySet<number>;
  acceptedEpoch: number;
  currentEpoch: number;
  /** The leader's log tail; everything in the log is applied (ZooKeeper's fast-forward at election). */
  history: History;
  timing: ZabTiming;
  now: number;
  /**
   * The config bytes NEWLEADER carries (QuorumVerifier.toString()), or null; a function gets the new
   * epoch once decided (ZooKeeper's leader versions an unversioned config with the epoch's first zxid).
   */
  config: Buffer | null | ((epoch: number) => Buffer | null);
}

type LearnerPhase = 'info' | 'epoch' | 'acked' | 'syncing' | 'synced';

interface Learner {
  sid: number;
  phase: LearnerPhase;
  acceptedEpoch: number;
  lastHeard: number;
  /** Gets PROPOSALs and COMMITs, or an observer INFORMs (from the moment its sync was planned). */
  forwarding: boolean;
  /** Introduced itself with OBSERVERINFO. */
  observer: boolean;
  ackedNewLeader: boolean;
  /** From its ACKEPOCH: where its log ends. */
  peerLastZxid: number;
  /** PINGs sent to it, and PINGs it sent back: a learner answers each PING with one, in order. */
  pingsSent: number;
  pingReplies: number;
}

/** A client's sync waiting for its answer (see ZabLeader.sync). */
interface PendingSync {
  from: number;
  /** Everything proposed when it arrived: committed and applied before the answer. */
  zxid: number;
  /** Per synced learner, the PING whose reply proves it still followed us after the sync arrived. */
  confirm: Map<number, number> | undefined;
}

interface Proposal {
  entry: HistoryEntry;
  acks: Set<number>;
  proposedAt: number;
  /** Committed once every one of them has a quorum of acks: the current config's, and a pending reconfig's. */
  quorums: MajorityQuorum[];
}

/** A reconfig proposed and not yet committed (ZooKeeper allows one at a time). */
interface PendingReconfig {
  zxid: number;
  quorum: MajorityQuorum;
  observers: ReadonlySet<number>;
  /** The new config's text (the txn's data), what NEWLEADER carries once it is active. */
  config: Buffer;
}

type Phase = 'discovery' | 'epoch-ack' | 'newleader' | 'broadcast' | 'stopped';

/** What a leader's mntr shows of its learners and proposals (ZooKeeper's names in the comments). */
export interface LeaderFigures {
  /** learners: connected learners that introduced themselves. */
  learners: number;
  /** synced_followers: followers that get PROPOSALs and COMMITs (ZooKeeper's forwardingFollowers). */
  syncedFollowers: number;
  /** synced_observers: observers that get INFORMs (ZooKeeper's observingLearners). */
  syncedObservers: number;
  /** pending_syncs: client syncs waiting for the commits before them. */
  pendingSyncs: number;
  /** proposal_count, and last/min/max_proposal_size in bytes (-1 before the first). */
  proposals: number;
  lastProposalSize: number;
  minProposalSize: number;
  maxProposalSize: number;
}

export class ZabLeader extends RoleBase {
  readonly myid: number;
  private quorum: MajorityQuorum;
  private observers: ReadonlySet<number>;
  private readonly timing: ZabTiming;
  private readonly history: History;
  private config: Buffer | null | ((epoch: number) => Buffer | null);
  private pendingReconfig: PendingReconfig | undefined;
  /** The designated leader a reconfig that removed us named: we only wait for the followers to leave. */
  private handedOverTo: number | undefined;
  private phase: Phase = 'discovery';
  private readonly learners = new Map<number, Learner>();
  private readonly currentEpoch: number;
  private maxAcceptedEpoch: number;
  /** The new epoch, once a quorum has sent FOLLOWERINFO. */
  epoch = -1;
  private readonly epochAcks = new Set<number>();
  private readonly newLeaderAcks = new Set<number>();
  private phaseDeadline: number;
  private nextPing = 0;
  /** Proposed and not yet committed, in zxid order. */
  private readonly outstanding = new Map<number, Proposal>();
  lastProposed: number;
  /** Syncs waiting for lastCommitted to reach `zxid`. */
  private readonly pendingSyncs: PendingSync[] = [];
  /** A sync arrived since the last confirmation round of PINGs. */
  private confirmationDue = false;
  private readonly proposalStats = { count: 0, last: -1, min: -1, max: -1 };

  constructor(p: LeaderParams) {
    super(p.history.lastZxid);
    this.myid = p.myid;
    this.quorum = new MajorityQuorum(p.voters);
    this.observers = p.observers ?? new Set();
    this.timing = p.timing;
    this.history = p.history;
    this.config = p.config;
    this.currentEpoch = p.currentEpoch;
    this.maxAcceptedEpoch = p.acceptedEpoch;
    this.lastProposed = p.history.lastZxid;
    this.phaseDeadline = p.now + p.timing.initLimit * p.timing.tickTime;
    this.tryDecideEpoch(p.now);
  }

  get isServing(): boolean {
    return this.phase === 'broadcast';
  }

  get isStopped(): boolean {
    return this.phase === 'stopped';
  }

  /** The observers that get INFORMs. */
  get syncedObservers(): number[] {
    return [...this.learners.values()].filter((l) => l.forwarding && l.observer).map((l) => l.sid);
  }

  get figures(): LeaderFigures {
    let synced = 0;
    let observing = 0;
    for (const l of this.learners.values()) if (l.forwarding) l.observer ? observing++ : synced++;
    const p = this.proposalStats;
    return {
      learners: this.learners.size,
      syncedFollowers: synced,
      syncedObservers: observing,
      pendingSyncs: this.pendingSyncs.length,
      proposals: p.count,
      lastProposalSize: p.last,
      minProposalSize: p.min,
      maxProposalSize: p.max,
    };
  }

  // ---- inputs ----

  /** A packet from a learner on the quorum port; `sid` is the one its FOLLOWERINFO named. */
  receive(sid: number, p: QuorumPacket, now: number): void {
    if (this.phase === 'stopped') return;
    const learner = this.learners.get(sid);
    if (learner) learner.lastHeard = now;
    if (learner && p.type === PacketType.PING) {
      learner.pingReplies++;
      if (this.pendingSyncs.length > 0) this.answerSyncs();
    }
    switch (p.type) {
      case PacketType.FOLLOWERINFO:
      case PacketType.OBSERVERINFO:
        return this.onFollowerInfo(sid, p, now);
      case PacketType.ACKEPOCH:
        return this.onAckEpoch(sid, p);
      case PacketType.ACK:
        return this.onAck(sid, p.zxid, now);
      default:
        this.out.events.push({ kind: 'deliver', from: sid, packet: p });
    }
  }

  learnerGone(sid: number): void {
    this.learners.delete(sid);
    this.reconfirmSyncs();
    for (const prop of this.outstanding.values()) prop.acks.delete(sid);
  }

  /** The local log made everything up to `zxid` durable. */
  persisted(zxid: number): void {
    this.lastLogged = Math.max(this.lastLogged, zxid);
    for (const [z, prop] of this.outstanding) {
      if (z > zxid) break; // in zxid order
      prop.acks.add(this.myid);
    }
    this.tryCommit();
  }

  tick(now: number): void {
    if (this.phase === 'stopped') return;
    if (this.phase !== 'broadcast') {
      if (now >= this.phaseDeadline) this.stop(`no quorum of learners within initLimit (${this.phase})`);
      return;
    }
    if (now >= this.nextPing) {
      this.nextPing = now + this.timing.tickTime / 2;
      for (const l of this.learners.values()) if (l.forwarding) this.ping(l);
    }
    const limit = this.timing.syncLimit * this.timing.tickTime;
    const initLimit = this.timing.initLimit * this.timing.tickTime;
    const inTouch = new Set<number>([this.myid]);
    for (const l of [...this.learners.values()]) {
      if (l.phase !== 'synced') {
        if (now - l.lastHeard > initLimit) this.dropLearner(l.sid, `not synced within initLimit (${initLimit} ms)`);
        continue;
      }
      // An observer acks no proposal: only its silence counts.
      if (now - l.lastHeard > limit || (!l.observer && this.oldestUnacked(l.sid) < now - limit)) {
        this.learnerGone(l.sid);
        this.out.events.push({ kind: 'dropLearner', sid: l.sid, reason: `no ack or ping reply within syncLimit (${limit} ms)` });
        continue;
      }
      inTouch.add(l.sid);
    }
    if (!this.quorum.isQuorum(inTouch)) this.stop(`only ${[...inTouch].join(',')} in touch: not a quorum of ${[...this.quorum.members].join(',')}`);
  }

  /** The zxid the next proposal must carry. */
  nextZxid(): number {
    return this.lastProposed + 1;
  }

  /** A new txn (prepared by the runtime with `nextZxid()`): logged here, sent to every learner. */
  propose(entry: HistoryEntry, now: number): void {
    if (this.phase !== 'broadcast') throw new Error('not serving: cannot propose');
    if (entry.zxid !== this.lastProposed + 1) throw new Error(`proposal 0x${entry.zxid.toString(16)} out of order after 0x${this.lastProposed.toString(16)}`);
    // ZooKeeper forces an election before the counter wraps (ZOOKEEPER-1277).
    this.lastProposed = entry.zxid;
    this.countProposal(entry.payload.length);
    this.history.add(entry);
    this.unapplied.push(entry);
    this.out.appends.push(entry);
    const reconfig = reconfigOf(entry);
    if (reconfig) {
      if (this.pendingReconfig) throw new Error('a reconfig is in progress already');
      this.pendingReconfig = { zxid: entry.zxid, ...reconfig };
    }
    const quorums = this.pendingReconfig ? [this.quorum, this.pendingReconfig.quorum] : [this.quorum];
    this.outstanding.set(entry.zxid, { entry, acks: new Set(), proposedAt: now, quorums });
    const proposal = proposalPacket(entry);
    for (const l of this.learners.values()) if (l.forwarding && !l.observer) this.send(l.sid, proposal);
  }

  /**
   * A sync from a learner's client (`from` = its sid) or one of ours (`from` = myid): answered once
   * everything proposed so far is committed, so the client then reads at least that state, and once
   * a quorum has answered a PING sent after the sync arrived. ZooKeeper's leader answers at once: a
   * leader cut off from its quorum, that has not noticed yet (up to syncLimit), would answer from a
   * state a new leader has already moved past, and a read after that sync would be stale. Waiting
   * for one round trip to a quorum proves it still leads when it answers (as Raft's ReadIndex).
   */
  sync(from: number): void {
    // The last txn proposed (lastProposed may be the new epoch's zxid 0, which no txn carries).
    this.pendingSyncs.push({ from, zxid: this.history.lastZxid, confirm: undefined });
    this.confirmationDue = true;
  }

  /** One PING to every synced follower for the syncs that arrived since the last round; see sync(). */
  private startConfirmationRound(): void {
    this.confirmationDue = false;
    const targets = new Map<number, number>();
    for (const l of this.learners.values()) {
      if (l.phase !== 'synced') continue;
      this.ping(l);
      targets.set(l.sid, l.pingsSent);
    }
    for (const s of this.pendingSyncs) s.confirm ??= targets;
    this.answerSyncs();
  }

  /** The synced followers changed: a round started before may no longer be answerable, so start another. */
  private reconfirmSyncs(): void {
    if (this.pendingSyncs.length === 0) return;
    for (const s of this.pendingSyncs) s.confirm = undefined;
    this.confirmationDue = true;
  }

  /** The syncs of this turn share one confirmation round, sent with the rest of the turn's packets. */
  override ready(): Ready {
    if (this.confirmationDue && this.phase === 'broadcast') this.startConfirmationRound();
    return super.ready();
  }

  // ---- discovery ----

  private onFollowerInfo(sid: number, p: QuorumPacket, now: number): void {
    const info = decodeLearnerInfo(p.data ?? Buffer.alloc(0));
    const observer = p.type === PacketType.OBSERVERINFO;
    if (Number(info.serverId) !== sid || !(observer ? this.observers.has(sid) : this.quorum.isVoter(sid))) {
      const what = observer ? 'OBSERVERINFO' : 'FOLLOWERINFO';
      this.out.events.push({ kind: 'dropLearner', sid, reason: `${what} from ${info.serverId}, not ${observer ? 'an observer' : 'a voting member'}` });
      return;
    }
    const learner: Learner = { sid, phase: 'info', acceptedEpoch: epochOf(p.zxid), lastHeard: now, forwarding: false, observer, ackedNewLeader: false, peerLastZxid: 0, pingsSent: 0, pingReplies: 0 };
    this.learners.set(sid, learner);
    if (this.epoch < 0) {
      this.maxAcceptedEpoch = Math.max(this.maxAcceptedEpoch, learner.acceptedEpoch);
      this.tryDecideEpoch(now);
    } else {
      this.sendLeaderInfo(learner);
    }
  }

  private tryDecideEpoch(now: number): void {
    const connecting = [this.myid, ...[...this.learners.values()].filter((l) => l.phase === 'info').map((l) => l.sid)];
    if (!this.quorum.isQuorum(connecting)) return;
    this.epoch = this.maxAcceptedEpoch + 1;
    if (typeof this.config === 'function') this.config = this.config(this.epoch);
    this.out.epochs.push({ name: 'acceptedEpoch', value: this.epoch });
    this.epochAcks.add(this.myid);
    this.newLeaderAcks.add(this.myid);
    this.phase = 'epoch-ack';
    for (const l of this.learners.values()) this.sendLeaderInfo(l);
    // A quorum of one (standaloneEnabled=false with one server line): our own acks are a quorum,
    // and no learner's ACKEPOCH or NEWLEADER ack will come to move us on.
    if (this.quorum.isQuorum(this.epochAcks)) {
      this.out.epochs.push({ name: 'currentEpoch', value: this.epoch });
      this.phase = 'newleader';
      if (this.quorum.isQuorum(this.newLeaderAcks)) this.establish(now);
    }
  }

  private sendLeaderInfo(l: Learner): void {
    l.phase = 'epoch';
    this.send(l.sid, { type: PacketType.LEADERINFO, zxid: zxidOf(this.epoch, 0), data: encodeInt(ZAB_PROTOCOL_VERSION), authinfo: null });
  }

  private onAckEpoch(sid: number, p: QuorumPacket): void {
    const l = this.learners.get(sid);
    if (!l || l.phase !== 'epoch') return this.dropLearner(sid, 'ACKEPOCH out of turn');
    const peerEpoch = decodeInt(p.data);
    l.peerLastZxid = p.zxid;
    // -1: it had accepted this epoch already; it does not count towards the epoch's quorum.
    if (peerEpoch !== -1) {
      const ahead = peerEpoch > this.currentEpoch || (peerEpoch === this.currentEpoch && p.zxid > this.history.lastZxid);
      if (ahead && this.phase === 'epoch-ack') return this.dropLearner(sid, 'learner is ahead of the leader');
      this.epochAcks.add(sid);
    }
    l.phase = 'acked';
    if (this.phase === 'epoch-ack' && this.quorum.isQuorum(this.epochAcks)) {
      this.out.epochs.push({ name: 'currentEpoch', value: this.epoch });
      this.phase = 'newleader';
    }
    // As ZooKeeper's LearnerHandlers, learners are synced once a quorum has acked the new epoch.
    if (this.phase !== 'epoch-ack') for (const waiting of this.learners.values()) if (waiting.phase === 'acked') this.syncLearner(waiting);
  }

  // ---- synchronization ----

  private syncLearner(l: Learner): void {
    const peerLastZxid = l.peerLastZxid;
    l.phase = 'syncing';
    const plan = planSync(this.history, peerLastZxid);
    let after: number;
    if (plan.mode === 'snap') {
      this.out.messages.push({ to: l.sid, snapshot: true, zxid: this.lastApplied });
      after = this.lastApplied;
    } else {
      this.send(l.sid, { type: plan.mode === 'diff' ? PacketType.DIFF : PacketType.TRUNC, zxid: plan.zxid, data: null, authinfo: null });
      after = plan.mode === 'diff' ? peerLastZxid : plan.zxid;
    }
    let txns = 0;
    const uncommitted: HistoryEntry[] = [];
    for (const entry of this.history.after(after)) {
      if (entry.zxid > this.lastCommitted) {
        // An observer gets what is committed; the rest comes as INFORMs once committed (Leader.startForwarding).
        if (!l.observer) uncommitted.push(entry);
        continue;
      }
      txns++;
      this.send(l.sid, proposalPacket(entry));
      this.send(l.sid, { type: PacketType.COMMIT, zxid: entry.zxid, data: null, authinfo: null });
    }
    this.out.events.push({ kind: 'learnerSync', sid: l.sid, mode: plan.mode, from: peerLastZxid, to: this.lastProposed, txns: txns + uncommitted.length });
    l.forwarding = true;
    this.send(l.sid, { type: PacketType.NEWLEADER, zxid: zxidOf(this.epoch, 0), data: this.config as Buffer | null, authinfo: null });
    // Proposals still outstanding go after NEWLEADER, as if proposed after it: their COMMITs come
    // later, and a ZooKeeper 3.8.0 follower forgets at NEWLEADER the proposals it got before it, then
    // fails on a COMMIT that finds none (ZOOKEEPER-4394) and has to sync again.
    for (const entry of uncommitted) this.send(l.sid, proposalPacket(entry));
  }

  private onAck(sid: number, zxid: number, now: number): void {
    const l = this.learners.get(sid);
    if (!l) return;
    if (zxid === zxidOf(this.epoch, 0)) {
      if (l.ackedNewLeader || l.phase !== 'syncing') return; // the ACK of UPTODATE carries the same zxid
      l.ackedNewLeader = true;
      this.newLeaderAcks.add(sid);
      if (this.phase === 'broadcast') this.upToDate(l);
      else if (this.phase === 'newleader' && this.quorum.isQuorum(this.newLeaderAcks)) this.establish(now);
      return;
    }
    // An ACK means the proposal is in that learner's log, whatever its phase.
    if (l.forwarding) this.outstanding.get(zxid)?.acks.add(sid);
    this.tryCommit();
  }

  private establish(now: number): void {
    this.phase = 'broadcast';
    this.nextPing = now;
    this.out.events.push({ kind: 'serving', epoch: this.epoch });
    for (const l of this.learners.values()) if (l.ackedNewLeader && l.phase === 'syncing') this.upToDate(l);
    this.lastProposed = Math.max(this.lastProposed, zxidOf(this.epoch, 0));
  }

  private upToDate(l: Learner): void {
    l.phase = 'synced';
    // A learner leaves PINGs unanswered until UPTODATE (ZooKeeper's Learner, and ours): the PINGs
    // counted from here on are the ones it answers, one each, in order.
    l.pingsSent = 0;
    l.pingReplies = 0;
    this.reconfirmSyncs();
    this.send(l.sid, { type: PacketType.UPTODATE, zxid: -1, data: null, authinfo: null });
  }

  // ---- broadcast ----

  private tryCommit(): void {
    // A leader a reconfig removed commits nothing more (ZooKeeper's allowedToCommit).
    if (this.phase === 'stopped' || this.handedOverTo !== undefined) return;
    for (const [zxid, prop] of this.outstanding) {
      if (!prop.quorums.every((q) => q.isQuorum(prop.acks))) break;
      this.outstanding.delete(zxid);
      this.lastCommitted = zxid;
      if (zxid === this.pendingReconfig?.zxid) {
        this.activate(this.pendingReconfig, prop);
        continue;
      }
      const commit: QuorumPacket = { type: PacketType.COMMIT, zxid, data: null, authinfo: null };
      const inform: QuorumPacket = { type: PacketType.INFORM, zxid, data: prop.entry.payload, authinfo: null };
      for (const l of this.learners.values()) if (l.forwarding) this.send(l.sid, l.observer ? inform : commit);
    }
    this.applyCommitted();
    this.answerSyncs();
  }

  /**
   * A reconfig is committed (Leader.tryToCommit): the new config counts from now on, followers get
   * COMMITANDACTIVATE and observers INFORMANDACTIVATE, both naming the designated leader: us while we
   * stay a voter, else the new voter that acked the most (getDesignatedLeader). A leader that is no
   * voter any more commits nothing after it; as in ZooKeeper, its followers leave it on activating
   * (so that the commit reaches them: closing their connections now could lose it), and it steps down
   * once no quorum of the new config is with it. Learners the new config leaves out are let go.
   */
  private activate(next: PendingReconfig, prop: Proposal): void {
    this.pendingReconfig = undefined;
    this.quorum = next.quorum;
    this.observers = next.observers;
    this.config = next.config;
    for (const p of this.outstanding.values()) p.quorums = [next.quorum];
    const designated = next.quorum.isVoter(this.myid) ? this.myid : this.designatedLeader(next.quorum, prop);
    const leader = Buffer.alloc(8);
    leader.writeBigInt64BE(BigInt(designated));
    const commit: QuorumPacket = { type: PacketType.COMMITANDACTIVATE, zxid: next.zxid, data: leader, authinfo: null };
    const inform: QuorumPacket = { type: PacketType.INFORMANDACTIVATE, zxid: next.zxid, data: Buffer.concat([leader, prop.entry.payload]), authinfo: null };
    for (const l of this.learners.values()) if (l.forwarding) this.send(l.sid, l.observer ? inform : commit);
    for (const l of [...this.learners.values()]) {
      if (!next.quorum.isVoter(l.sid) && !next.observers.has(l.sid)) this.dropLearner(l.sid, 'not in the new configuration');
    }
    if (designated !== this.myid) this.handedOverTo = designated;
  }

  /** A voter of the new config that acked the reconfig and the most proposals after it (Leader.getDesignatedLeader). */
  private designatedLeader(quorum: MajorityQuorum, prop: Proposal): number {
    let candidates = [...prop.acks].filter((sid) => sid !== this.myid && quorum.isVoter(sid));
    for (const later of this.outstanding.values()) {
      const still = candidates.filter((sid) => later.acks.has(sid));
      if (still.length === 0) break;
      candidates = still;
    }
    return candidates[0] ?? this.myid;
  }

  /**
   * Whether a quorum of `voters` is with us: ourselves if one of them, and followers that are synced
   * (Leader.isQuorumSynced, which a reconfig needs of its new config).
   */
  isQuorumSynced(voters: Iterable<number>): boolean {
    const quorum = new MajorityQuorum(voters);
    const synced = [...this.learners.values()].filter((l) => l.phase === 'synced' && !l.observer).map((l) => l.sid);
    return quorum.isQuorum([this.myid, ...synced]);
  }

  /** The active config's text as NEWLEADER carries it: a reconfig's from the moment it commits. */
  get activeConfig(): Buffer | null {
    return typeof this.config === 'function' ? null : this.config;
  }

  /** A reconfig is proposed and not committed yet. */
  get reconfigPending(): boolean {
    return this.pendingReconfig !== undefined;
  }

  private answerSyncs(): void {
    for (;;) {
      const head = this.pendingSyncs[0];
      if (!head || head.zxid > this.lastApplied || head.zxid > this.lastCommitted || !this.confirmed(head)) return;
      const { from } = this.pendingSyncs.shift()!;
      if (from === this.myid) this.out.events.push({ kind: 'synced', from });
      else if (this.learners.has(from)) this.send(from, { type: PacketType.SYNC, zxid: 0, data: null, authinfo: null });
    }
  }

  /** A quorum (with us) answered the confirmation PING sent after this sync arrived. */
  private confirmed(s: PendingSync): boolean {
    if (!s.confirm) return this.quorum.isQuorum([this.myid]);
    const answered = [this.myid];
    for (const [sid, ping] of s.confirm) {
      const l = this.learners.get(sid);
      if (l && l.pingReplies >= ping) answered.push(sid);
    }
    return this.quorum.isQuorum(answered);
  }

  private oldestUnacked(sid: number): number {
    for (const prop of this.outstanding.values()) if (!prop.acks.has(sid)) return prop.proposedAt;
    return Infinity;
  }

  // ---- helpers ----

  private ping(l: Learner): void {
    l.pingsSent++;
    this.send(l.sid, { type: PacketType.PING, zxid: this.lastProposed, data: null, authinfo: null });
  }

  private countProposal(size: number): void {
    const p = this.proposalStats;
    p.count++;
    p.last = size;
    p.min = p.min === -1 ? size : Math.min(p.min, size);
    p.max = Math.max(p.max, size);
  }

  private send(to: number, packet: QuorumPacket): void {
    this.out.messages.push({ to, packet });
  }

  private dropLearner(sid: number, reason: string): void {
    this.learnerGone(sid);
    this.out.events.push({ kind: 'dropLearner', sid, reason });
  }

  stop(reason: string): void {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.out.events.push({ kind: 'stopped', reason });
  }
}

function proposalPacket(entry: HistoryEntry): QuorumPacket {
  return { type: PacketType.PROPOSAL, zxid: entry.zxid, data: entry.payload, authinfo: null };
}

/** The voters, observers and text of the config a reconfig txn activates; undefined for any other txn. */
function reconfigOf(entry: HistoryEntry): Omit<PendingReconfig, 'zxid'> | undefined {
  const body = entry.txn?.body;
  if (body?.type !== OpCode.reconfig || !body.txn.data) return undefined;
  const config = parseQuorumConfig(body.txn.data.toString('utf8'));
  const voters = config.members.filter((m) => m.role === 'participant').map((m) => m.sid);
  const observers = new Set(config.members.filter((m) => m.role === 'observer').map((m) => m.sid));
  return { quorum: new MajorityQuorum(voters), observers, config: body.txn.data };
}
