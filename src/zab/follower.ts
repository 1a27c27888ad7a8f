import { PacketType, ZAB_PROTOCOL_VERSION, encodeInt, encodeLearnerInfo, epochOf, zxidOf, type QuorumPacket } from '../jute/quorum.js';
import type { History, HistoryEntry } from './history.js';
import type { ZabTiming } from './ready.js';
import { RoleBase } from './role-base.js';

/**
 * The follower's side of ZAB, sans-IO (ZooKeeper's Follower + Learner): FOLLOWERINFO, accept the
 * new epoch (acceptedEpoch durable before ACKEPOCH), sync by DIFF, TRUNC or SNAP, log what the
 * leader sends, ACK NEWLEADER only once all of it and currentEpoch are durable (the order the
 * ZOOKEEPER-4394 family of bugs breaks in 3.8), then ACK each proposal once fsynced and apply
 * COMMITs in zxid order. A leader silent for initLimit (while syncing) or syncLimit ticks ends
 * the role.
 */
export interface FollowerParams {
  myid: number;
  leader: number;
  acceptedEpoch: number;
  currentEpoch: number;
  /** The local log tail; everything in the log is applied (fast-forward at election). */
  history: History;
  timing: ZabTiming;
  now: number;
  /** The config version in FOLLOWERINFO's LearnerInfo. */
  configVersion?: bigint;
  /**
   * An observer (ZooKeeper's Observer): OBSERVERINFO instead of FOLLOWERINFO; once synced it gets
   * each committed txn as one INFORM, logs and applies it, and acks nothing but NEWLEADER and UPTODATE.
   */
  observer?: boolean;
}

type Phase = 'connecting' | 'epoch' | 'sync-mode' | 'syncing' | 'newleader' | 'uptodate' | 'broadcast' | 'stopped';

export class ZabFollower extends RoleBase {
  readonly myid: number;
  readonly leader: number;
  private readonly timing: ZabTiming;
  private readonly history: History;
  private readonly configVersion: bigint;
  readonly observer: boolean;
  private phase: Phase = 'connecting';
  acceptedEpoch: number;
  currentEpoch: number;
  /** The epoch the leader announced in LEADERINFO. */
  private newEpoch = -1;
  /** The last txn received (appended, maybe not yet durable). */
  private lastReceived: number;
  /** Proposals logged but not yet acked: held back until NEWLEADER is acked. */
  private unacked: number[] = [];
  private lastHeard: number;
  /** Waiting for the runtime to install the snapshot that follows SNAP. */
  private awaitingSnapshot = false;
  /** mntr's learner_proposal_received_count and learner_commit_received_count. */
  proposalsReceived = 0;
  commitsReceived = 0;

  constructor(p: FollowerParams) {
    super(p.history.lastZxid);
    this.myid = p.myid;
    this.leader = p.leader;
    this.timing = p.timing;
    this.history = p.history;
    this.configVersion = p.configVersion ?? 0n;
    this.observer = p.observer ?? false;
    this.acceptedEpoch = p.acceptedEpoch;
    this.currentEpoch = p.currentEpoch;
    this.lastReceived = p.history.lastZxid;
    this.lastHeard = p.now;
  }

  get isServing(): boolean {
    return this.phase === 'broadcast';
  }

  get isStopped(): boolean {
    return this.phase === 'stopped';
  }

  // ---- inputs ----

  /** The connection to the leader's quorum port is up: introduce ourselves. */
  connected(now: number): void {
    this.lastHeard = now;
    this.phase = 'epoch';
    const info = encodeLearnerInfo({ serverId: BigInt(this.myid), protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: this.configVersion });
    this.send({ type: this.observer ? PacketType.OBSERVERINFO : PacketType.FOLLOWERINFO, zxid: zxidOf(this.acceptedEpoch, 0), data: info, authinfo: null });
  }

  receive(p: QuorumPacket, now: number): void {
    if (this.phase === 'stopped') return;
    this.lastHeard = now;
    if (this.awaitingSnapshot) return this.stop('packet before the snapshot was installed');
    switch (p.type) {
      case PacketType.LEADERINFO:
        return this.onLeaderInfo(p);
      case PacketType.DIFF:
        return this.onSyncMode(p, () => {});
      case PacketType.TRUNC:
        return this.onSyncMode(p, () => {
          this.out.truncate = p.zxid;
          this.history.truncateAfter(p.zxid);
          this.resetUnapplied();
          this.lastReceived = this.lastLogged = this.lastCommitted = this.lastApplied = p.zxid;
        });
      case PacketType.SNAP:
        return this.onSyncMode(p, () => (this.awaitingSnapshot = true));
      case PacketType.PROPOSAL:
        this.proposalsReceived++;
        return this.onProposal(p);
      case PacketType.COMMIT:
      // A reconfig's commit (data: the designated leader): the runtime activates the config when it
      // applies the txn, and leaves a leader the config removed.
      case PacketType.COMMITANDACTIVATE:
        this.commitsReceived++;
        return this.onCommit(p.zxid);
      case PacketType.INFORM:
      case PacketType.INFORMANDACTIVATE: {
        if (!this.observer) return this.stop(`${p.type === PacketType.INFORM ? 'INFORM' : 'INFORMANDACTIVATE'} sent to a follower`);
        if (p.type === PacketType.INFORMANDACTIVATE && (p.data?.length ?? 0) <= 8) return this.stop('INFORMANDACTIVATE without a proposal');
        // A proposal and its commit in one packet; INFORMANDACTIVATE puts the designated leader first.
        const proposal = p.type === PacketType.INFORM ? p : { ...p, data: p.data?.subarray(8) ?? null };
        this.onProposal(proposal);
        return this.onCommit(p.zxid);
      }
      case PacketType.NEWLEADER:
        return this.onNewLeader(p);
      case PacketType.UPTODATE:
        if (this.phase !== 'uptodate') return this.stop(`UPTODATE in phase ${this.phase}`);
        this.phase = 'broadcast';
        this.send({ type: PacketType.ACK, zxid: zxidOf(this.newEpoch, 0), data: null, authinfo: null });
        this.out.events.push({ kind: 'serving', epoch: this.newEpoch });
        return;
      default:
        // Until UPTODATE, ZooKeeper's Learner.syncWithLeader ignores PINGs; its LearnerHandler takes
        // any answer before the ACK of NEWLEADER for a broken sync and drops the learner.
        if (p.type === PacketType.PING && this.phase !== 'broadcast') return;
        // PING, SYNC, REVALIDATE: the session layer's business.
        this.out.events.push({ kind: 'deliver', from: this.leader, packet: p });
    }
  }

  /** The runtime loaded (and durably snapshotted) the state the leader streamed after SNAP. */
  snapshotInstalled(zxid: number): void {
    if (!this.awaitingSnapshot) throw new Error('no SNAP to install');
    this.awaitingSnapshot = false;
    this.history.reset(zxid);
    this.resetUnapplied();
    this.lastReceived = this.lastLogged = this.lastCommitted = this.lastApplied = zxid;
  }

  /** The local log made everything up to `zxid` durable. */
  persisted(zxid: number): void {
    if (this.phase === 'stopped') return;
    this.lastLogged = Math.max(this.lastLogged, zxid);
    this.applyCommitted();
    if (this.phase === 'newleader') this.tryAckNewLeader();
    else if (this.phase === 'uptodate' || this.phase === 'broadcast') this.ackLogged();
  }

  tick(now: number): void {
    if (this.phase === 'stopped') return;
    const ticks = this.phase === 'broadcast' || this.phase === 'uptodate' ? this.timing.syncLimit : this.timing.initLimit;
    if (now - this.lastHeard > ticks * this.timing.tickTime) this.stop(`leader ${this.leader} silent for ${ticks} ticks`);
  }

  stop(reason: string): void {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.out.events.push({ kind: 'stopped', reason });
  }

  // ---- the protocol ----

  private onLeaderInfo(p: QuorumPacket): void {
    if (this.phase !== 'epoch') return this.stop(`LEADERINFO in phase ${this.phase}`);
    const epoch = epochOf(p.zxid);
    if (epoch < this.acceptedEpoch) return this.stop(`leader proposed epoch ${epoch}, older than our accepted epoch ${this.acceptedEpoch}`);
    this.newEpoch = epoch;
    let ack = -1; // already accepted: not a vote for the epoch
    if (epoch > this.acceptedEpoch) {
      this.acceptedEpoch = epoch;
      this.out.epochs.push({ name: 'acceptedEpoch', value: epoch });
      ack = this.currentEpoch;
    }
    this.phase = 'sync-mode';
    this.send({ type: PacketType.ACKEPOCH, zxid: this.lastLogged, data: encodeInt(ack), authinfo: null });
  }

  private onSyncMode(p: QuorumPacket, apply: () => void): void {
    if (this.phase !== 'sync-mode') return this.stop(`${p.type} in phase ${this.phase}`);
    this.phase = 'syncing';
    apply();
  }

  private onProposal(p: QuorumPacket): void {
    if (this.phase !== 'syncing' && this.phase !== 'newleader' && this.phase !== 'uptodate' && this.phase !== 'broadcast') return this.stop(`PROPOSAL in phase ${this.phase}`);
    if (p.zxid <= this.lastReceived || !p.data) return this.stop(`proposal 0x${p.zxid.toString(16)} out of order after 0x${this.lastReceived.toString(16)}`);
    const entry: HistoryEntry = { zxid: p.zxid, payload: p.data };
    this.lastReceived = p.zxid;
    this.history.add(entry);
    this.unapplied.push(entry);
    this.out.appends.push(entry);
    this.unacked.push(p.zxid);
  }

  private onCommit(zxid: number): void {
    if (zxid > this.lastReceived) return this.stop(`COMMIT of 0x${zxid.toString(16)}, never proposed`);
    if (zxid > this.lastCommitted) this.lastCommitted = zxid;
    this.applyCommitted();
  }

  private onNewLeader(p: QuorumPacket): void {
    if (this.phase !== 'syncing') return this.stop(`NEWLEADER in phase ${this.phase}`);
    if (epochOf(p.zxid) !== this.newEpoch) return this.stop(`NEWLEADER of epoch ${epochOf(p.zxid)}, expected ${this.newEpoch}`);
    this.phase = 'newleader';
    // The leader's config (QuorumVerifier.toString), for the runtime to activate if newer (at UPTODATE, as Learner does).
    if (p.data && p.data.length > 1) this.out.events.push({ kind: 'leaderConfig', config: p.data });
    this.tryAckNewLeader();
  }

  /** NEWLEADER is acked once everything before it is durable, and currentEpoch with it. */
  private tryAckNewLeader(): void {
    if (this.lastLogged < this.lastReceived) return;
    this.currentEpoch = this.newEpoch;
    this.out.epochs.push({ name: 'currentEpoch', value: this.newEpoch });
    this.send({ type: PacketType.ACK, zxid: zxidOf(this.newEpoch, 0), data: null, authinfo: null });
    this.phase = 'uptodate';
    this.ackLogged();
  }

  private ackLogged(): void {
    if (this.observer) {
      // An observer is not part of any quorum: its log is not acked (ZooKeeper's observer has no SendAckRequestProcessor).
      this.unacked = [];
      return;
    }
    let n = 0;
    while (n < this.unacked.length && this.unacked[n]! <= this.lastLogged) {
      this.send({ type: PacketType.ACK, zxid: this.unacked[n]!, data: null, authinfo: null });
      n++;
    }
    // Everything logged is acked at once, so this cuts the front of a short list.
    if (n > 0) this.unacked.splice(0, n);
  }

  private send(packet: QuorumPacket): void {
    this.out.messages.push({ to: this.leader, packet });
  }
}
