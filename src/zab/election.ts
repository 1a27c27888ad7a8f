/**
 * FastLeaderElection for one peer, as Apache ZooKeeper 3.8 runs it (QuorumPeer + FastLeaderElection's
 * WorkerReceiver and lookForLeader loop), without IO: notifications and the time come in as
 * arguments, notifications to send and the decision go out in the returned Step. The runtime calls
 * tick() at nextDeadline(). Facts and line numbers: notes/quorum-protocol.md §A.
 *
 * One deliberate difference: ZooKeeper always waits finalizeWait (200 ms) after it first sees a quorum
 * for its vote, in case a better vote is still on its way. When every voter has already sent exactly
 * our vote in this round, no better vote can come (each peer's vote is at least as good as its own
 * initial vote), so we decide at once; a ZooKeeper peer in the ensemble decides the same 200 ms later.
 * The same holds for a voter the runtime reports unreachable (its election connection was refused or
 * closed, and none came back): no vote of its can arrive within finalizeWait, so a quorum for our vote
 * plus every other voter unreachable decides at once too. This is what makes failover after a kill -9
 * of the leader not wait 200 ms for the dead leader's vote. It only changes when we decide, never
 * what: the election is a liveness device, ZAB's epoch and quorum rules keep it safe, and a wrong
 * "unreachable" (a peer that comes back with a better vote) costs a new round, as a late vote does
 * in ZooKeeper.
 */
import { JuteError } from '../jute/errors.js';
import { NO_VOTE, PeerState, parseQuorumConfig, type Notification } from '../jute/election.js';
import { MajorityQuorum } from './quorum.js';

export interface ElectionOptions {
  myId: number;
  /** Voting members of the current (and next) configuration, including this peer. */
  voters: Iterable<number>;
  /** The config string our notifications carry (QuorumMaj.toString of our configuration). */
  config: string;
  /** FastLeaderElection.finalizeWait. */
  finalizeWaitMs?: number;
  /** zookeeper.fastleader.minNotificationInterval / maxNotificationInterval. */
  minNotificationIntervalMs?: number;
  maxNotificationIntervalMs?: number;
  /** Decide without finalizeWait when every voter has already sent our vote (see the file comment). */
  decideEarly?: boolean;
}

export interface Decision {
  /** OBSERVING for an observer, which learns the leader the voters chose and never leads. */
  state: PeerState.LEADING | PeerState.FOLLOWING | PeerState.OBSERVING;
  leader: number;
  zxid: number;
  electionEpoch: number;
  peerEpoch: number;
}

export interface OutgoingNotification {
  to: number;
  notification: Notification;
}

/** What one input produced: notifications to send (in order) and, once, the decision. */
export interface Step {
  messages: OutgoingNotification[];
  decision?: Decision;
  /**
   * A LOOKING peer received a configuration with a higher version than ours: ZooKeeper would apply it
   * (processReconfig) and restart the election. We do not reconfigure yet; the runtime reports it.
   */
  newerConfig?: { from: number; config: string };
}

/** A vote as ZooKeeper's Vote keeps it; `version` and `state` matter for how votes compare (sameVote). */
interface StoredVote {
  leader: number;
  zxid: number;
  electionEpoch: number;
  peerEpoch: number;
  state: PeerState;
  version: number;
}

/**
 * Vote.equals: LOOKING votes agree on (leader, zxid, electionEpoch, peerEpoch); votes of peers out of
 * election agree on (leader, peerEpoch), or on the leader alone when only one of them carries a
 * version (ZOOKEEPER-1732/1805: zxid and round of settled peers drift after an epoch change).
 */
function sameVote(a: StoredVote, b: StoredVote): boolean {
  if (a.state === PeerState.LOOKING || b.state === PeerState.LOOKING) {
    return a.leader === b.leader && a.zxid === b.zxid && a.electionEpoch === b.electionEpoch && a.peerEpoch === b.peerEpoch;
  }
  if (a.version > 0 !== b.version > 0) return a.leader === b.leader;
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}

/** The `version=` of a config string, or null when it does not parse (ZooKeeper then logs and goes on). */
function configVersion(text: string): number | null {
  try {
    return parseQuorumConfig(text).version;
  } catch (err) {
    if (err instanceof JuteError) return null;
    throw err;
  }
}

/** totalOrderPredicate: is (newLeader, newZxid, newEpoch) a better vote than the current one? */
export function betterVote(next: { leader: number; zxid: number; peerEpoch: number }, cur: { leader: number; zxid: number; peerEpoch: number }): boolean {
  return (
    next.peerEpoch > cur.peerEpoch ||
    (next.peerEpoch === cur.peerEpoch && (next.zxid > cur.zxid || (next.zxid === cur.zxid && next.leader > cur.leader)))
  );
}

interface Proposal {
  leader: number;
  zxid: number;
  peerEpoch: number;
}

export class FastLeaderElection {
  readonly myId: number;
  quorum: MajorityQuorum;
  private config: string;
  private configVersion: number;
  private readonly finalizeWaitMs: number;
  private readonly minIntervalMs: number;
  private readonly maxIntervalMs: number;
  private readonly decideEarly: boolean;
  /** Not a voting member: votes Long.MIN_VALUE, never leads, and sends its notifications to voters only. */
  private observer: boolean;

  private peerState: PeerState = PeerState.LOOKING;
  private started = false;
  /** The logical clock: the round of the election we are in (or decided in). */
  private logicalClock = 0;
  private initial: Proposal = { leader: NO_VOTE, zxid: NO_VOTE, peerEpoch: NO_VOTE };
  private proposal: Proposal = { leader: NO_VOTE, zxid: NO_VOTE, peerEpoch: NO_VOTE };
  /** QuorumPeer's currentVote: what we answer LOOKING peers with once we are not LOOKING. */
  private current: StoredVote | null = null;
  /** Votes of this round, by sender. */
  private recvset = new Map<number, StoredVote>();
  /** FOLLOWING/LEADING votes of any round, by sender: how a late joiner finds an established leader. */
  private outOfElection = new Map<number, StoredVote>();
  private notTimeoutMs: number;
  private notificationDeadline = 0;
  /** Set while waiting finalizeWait after a quorum for our vote: when we decide unless a better vote comes. */
  private finalizeDeadline: number | null = null;
  /** Voters the runtime last reported unreachable (see the file comment). */
  private readonly unreachable = new Set<number>();

  constructor(opts: ElectionOptions) {
    this.myId = opts.myId;
    this.quorum = new MajorityQuorum(opts.voters);
    this.observer = !this.quorum.isVoter(this.myId);
    this.config = opts.config;
    this.configVersion = configVersion(opts.config) ?? 0;
    this.finalizeWaitMs = opts.finalizeWaitMs ?? 200;
    this.minIntervalMs = opts.minNotificationIntervalMs ?? 200;
    this.maxIntervalMs = opts.maxNotificationIntervalMs ?? 60_000;
    this.decideEarly = opts.decideEarly ?? true;
    this.notTimeoutMs = this.minIntervalMs;
  }

  get state(): PeerState {
    return this.peerState;
  }

  get round(): number {
    return this.logicalClock;
  }

  /** The vote we currently propose (while LOOKING). */
  get vote(): Proposal {
    return { ...this.proposal };
  }

  /** When tick() must next be called, or null when no timer runs (not LOOKING). */
  nextDeadline(): number | null {
    if (!this.started || this.peerState !== PeerState.LOOKING) return null;
    return this.finalizeDeadline ?? this.notificationDeadline;
  }

  /**
   * lookForLeader: a new round with our own vote (sid, lastLoggedZxid, currentEpoch), sent to every
   * voter. Also how a peer whose leader failed goes back to LOOKING.
   */
  start(nowMs: number, lastLoggedZxid: number, currentEpoch: number): Step {
    const step: Step = { messages: [] };
    this.started = true;
    this.peerState = PeerState.LOOKING;
    this.logicalClock++;
    // An observer's initial vote is Long.MIN_VALUE throughout (QuorumPeer.getInitId and friends): any voter's vote is better.
    this.initial = this.observer ? { leader: NO_VOTE, zxid: NO_VOTE, peerEpoch: NO_VOTE } : { leader: this.myId, zxid: lastLoggedZxid, peerEpoch: currentEpoch };
    this.proposal = { ...this.initial };
    this.current ??= { ...this.initial, electionEpoch: this.logicalClock, state: PeerState.LOOKING, version: 0 };
    this.recvset = new Map();
    this.outOfElection = new Map();
    this.notTimeoutMs = this.minIntervalMs;
    this.notificationDeadline = nowMs + this.notTimeoutMs;
    this.finalizeDeadline = null;
    this.sendNotifications(nowMs, step);
    return step;
  }

  /**
   * After ZAB establishes the new epoch, leader and followers answer LOOKING peers with it as
   * peerEpoch (QuorumPeer.updateElectionVote, ZOOKEEPER-1732).
   */
  updatePeerEpoch(newEpoch: number): void {
    if (this.current) this.current = { ...this.current, peerEpoch: newEpoch, version: 0 };
  }

  /**
   * A new config is active (QuorumPeer.processReconfig): who votes from now on, and the config our
   * notifications carry. Takes effect in the next round, as ZooKeeper restarts its election then.
   */
  reconfigure(voters: Iterable<number>, config: string): void {
    this.quorum = new MajorityQuorum(voters);
    this.observer = !this.quorum.isVoter(this.myId);
    this.config = config;
    this.configVersion = configVersion(config) ?? 0;
  }

  /** A notification from `fromSid` arrived. */
  received(nowMs: number, fromSid: number, n: Notification): Step {
    const step: Step = { messages: [] };
    if (!this.started) return step;
    this.receive(nowMs, fromSid, n, step);
    return step;
  }

  /**
   * The runtime's view of a voter's election connection: false when a dial failed or the connection
   * closed, true when one is up. While waiting out finalizeWait, the last voter we wait for becoming
   * unreachable decides at once.
   */
  peerReachable(fromSid: number, reachable: boolean): Step {
    const step: Step = { messages: [] };
    if (fromSid === this.myId || !this.quorum.isVoter(fromSid)) return step;
    if (reachable) this.unreachable.delete(fromSid);
    else this.unreachable.add(fromSid);
    if (!reachable && this.started && this.peerState === PeerState.LOOKING && this.finalizeDeadline !== null) {
      const ours: StoredVote = { ...this.proposal, electionEpoch: this.logicalClock, state: PeerState.LOOKING, version: 0 };
      if (this.nobodyElseToWaitFor(this.agreeing(this.recvset, ours))) this.decide(ours.leader, ours.zxid, ours.electionEpoch, ours.peerEpoch, step);
    }
    return step;
  }

  /** Time passed: resend on notification timeout, decide when finalizeWait ran out. */
  tick(nowMs: number): Step {
    const step: Step = { messages: [] };
    if (!this.started || this.peerState !== PeerState.LOOKING) return step;
    if (this.finalizeDeadline !== null) {
      if (nowMs >= this.finalizeDeadline) this.decide(this.proposal.leader, this.proposal.zxid, this.logicalClock, this.proposal.peerEpoch, step);
      return step;
    }
    if (nowMs >= this.notificationDeadline) {
      this.notTimeoutMs = Math.min(this.notTimeoutMs * 2, this.maxIntervalMs);
      this.notificationDeadline = nowMs + this.notTimeoutMs;
      this.sendNotifications(nowMs, step);
    }
    return step;
  }

  /** WorkerReceiver: answer where ZooKeeper answers, and hand the notification to the election loop while LOOKING. */
  private receive(nowMs: number, fromSid: number, n: Notification, step: Step): void {
    if (!this.quorum.isVoter(fromSid)) {
      // A non-voter (observer) is answered at once with our current vote.
      const cur = this.current!;
      step.messages.push(this.notification(fromSid, cur, this.logicalClock, this.peerState));
      return;
    }
    if (this.peerState === PeerState.LOOKING && n.config !== null && (configVersion(n.config) ?? 0) > this.configVersion) {
      step.newerConfig = { from: fromSid, config: n.config };
    }
    if (this.peerState === PeerState.LOOKING) {
      if (n.state === PeerState.LOOKING && n.electionEpoch < this.logicalClock) {
        // A peer in an older round: tell it ours so it catches up.
        step.messages.push(this.notification(fromSid, this.proposal, this.logicalClock, PeerState.LOOKING));
      }
      this.electionLoop(nowMs, fromSid, n, step);
    } else if (n.state === PeerState.LOOKING) {
      // We have decided: tell a LOOKING peer whom we follow (or that we lead), in the round we decided in.
      const cur = this.current!;
      step.messages.push(this.notification(fromSid, cur, cur.electionEpoch, this.peerState));
    }
  }

  /** One pass of lookForLeader's loop for a received notification. */
  private electionLoop(nowMs: number, fromSid: number, n: Notification, step: Step): void {
    if (this.finalizeDeadline !== null) {
      // Waiting out finalizeWait: only a better vote matters; anything else is drained, and the wait restarts.
      if (!betterVote(n, this.proposal)) {
        this.finalizeDeadline = nowMs + this.finalizeWaitMs;
        if (this.decideEarly) this.completesUnanimity(fromSid, n, step);
        return;
      }
      this.finalizeDeadline = null;
    }
    this.notificationDeadline = nowMs + this.notTimeoutMs;
    if (!this.quorum.isVoter(fromSid) || !this.quorum.isVoter(n.leader)) return; // not a member's vote for a member
    switch (n.state) {
      case PeerState.LOOKING:
        return this.lookingNotification(nowMs, fromSid, n, step);
      case PeerState.FOLLOWING:
      case PeerState.LEADING:
        return this.settledNotification(fromSid, n, step);
      case PeerState.OBSERVING:
        return;
    }
  }

  private lookingNotification(nowMs: number, fromSid: number, n: Notification, step: Step): void {
    if (this.initial.zxid === -1 || n.zxid === -1) return;
    if (n.electionEpoch > this.logicalClock) {
      // A newer round: join it, forget this round's votes, and vote the better of its vote and our own.
      this.logicalClock = n.electionEpoch;
      this.recvset.clear();
      this.proposal = betterVote(n, this.initial) ? { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch } : { ...this.initial };
      this.sendNotifications(nowMs, step);
      if (this.peerState !== PeerState.LOOKING) return; // our own vote completed a quorum
    } else if (n.electionEpoch < this.logicalClock) {
      return;
    } else if (betterVote(n, this.proposal)) {
      this.proposal = { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch };
      this.sendNotifications(nowMs, step);
      if (this.peerState !== PeerState.LOOKING) return;
    }
    this.recvset.set(fromSid, { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: PeerState.LOOKING, version: 0 });
    const ours: StoredVote = { ...this.proposal, electionEpoch: this.logicalClock, state: PeerState.LOOKING, version: 0 };
    const agreeing = this.agreeing(this.recvset, ours);
    if (!this.quorum.isQuorum(agreeing)) return;
    if (this.nobodyElseToWaitFor(agreeing)) {
      this.decide(ours.leader, ours.zxid, ours.electionEpoch, ours.peerEpoch, step);
    } else {
      this.finalizeDeadline = nowMs + this.finalizeWaitMs;
    }
  }

  /**
   * While waiting out finalizeWait ZooKeeper drops votes that are not better; we still note one that
   * equals ours in this round, and decide when it makes every voter agree.
   */
  private completesUnanimity(fromSid: number, n: Notification, step: Step): void {
    if (n.state !== PeerState.LOOKING || n.electionEpoch !== this.logicalClock || !this.quorum.isVoter(fromSid)) return;
    const vote: StoredVote = { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: PeerState.LOOKING, version: 0 };
    const ours: StoredVote = { ...this.proposal, electionEpoch: this.logicalClock, state: PeerState.LOOKING, version: 0 };
    if (!sameVote(vote, ours)) return;
    this.recvset.set(fromSid, vote);
    if (this.nobodyElseToWaitFor(this.agreeing(this.recvset, ours))) this.decide(ours.leader, ours.zxid, ours.electionEpoch, ours.peerEpoch, step);
  }

  /** With decideEarly: every voter either sent our vote (`agreeing`, a quorum) or is unreachable. */
  private nobodyElseToWaitFor(agreeing: number[]): boolean {
    if (!this.decideEarly || !this.quorum.isQuorum(agreeing)) return false;
    const agree = new Set(agreeing);
    for (const sid of this.quorum.members) if (!agree.has(sid) && !this.unreachable.has(sid)) return false;
    return true;
  }

  /** receivedFollowingNotification / receivedLeadingNotification (without the 2-node oracle). */
  private settledNotification(fromSid: number, n: Notification, step: Step): void {
    if (n.electionEpoch === this.logicalClock) {
      // Stored without version, compared with it: within this round only the leader must match.
      this.recvset.set(fromSid, { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: n.state, version: 0 });
      const theirs: StoredVote = { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: n.state, version: n.version };
      if (this.quorum.isQuorum(this.agreeing(this.recvset, theirs)) && this.checkLeader(this.recvset, n.leader, n.electionEpoch)) {
        return this.decide(n.leader, n.zxid, n.electionEpoch, n.peerEpoch, step);
      }
    }
    // A quorum already follows one leader (from any round): join it (ZOOKEEPER-1732).
    const vote: StoredVote = { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: n.state, version: n.version };
    this.outOfElection.set(fromSid, vote);
    if (this.quorum.isQuorum(this.agreeing(this.outOfElection, vote)) && this.checkLeader(this.outOfElection, n.leader, n.electionEpoch)) {
      this.logicalClock = n.electionEpoch;
      this.decide(n.leader, n.zxid, n.electionEpoch, n.peerEpoch, step);
    }
  }

  /** checkLeader: follow another peer only once it has said it is LEADING; lead only from our own round. */
  private checkLeader(votes: Map<number, StoredVote>, leader: number, electionEpoch: number): boolean {
    if (leader !== this.myId) return votes.get(leader)?.state === PeerState.LEADING;
    return this.logicalClock === electionEpoch;
  }

  private agreeing(votes: Map<number, StoredVote>, vote: StoredVote): number[] {
    const sids: number[] = [];
    for (const [sid, v] of votes) if (sameVote(vote, v)) sids.push(sid);
    return sids;
  }

  private decide(leader: number, zxid: number, electionEpoch: number, peerEpoch: number, step: Step): void {
    const state = leader === this.myId ? PeerState.LEADING : this.observer ? PeerState.OBSERVING : PeerState.FOLLOWING;
    this.peerState = state;
    this.finalizeDeadline = null;
    this.current = { leader, zxid, electionEpoch, peerEpoch, state, version: 0 };
    step.decision = { state, leader, zxid, electionEpoch, peerEpoch };
  }

  /** sendNotifications: our vote to every voter; ours comes back to us (QuorumCnxManager's loopback). */
  private sendNotifications(nowMs: number, step: Step): void {
    const own = this.notification(this.myId, this.proposal, this.logicalClock, PeerState.LOOKING);
    for (const sid of this.quorum.members) {
      if (sid !== this.myId) step.messages.push(this.notification(sid, this.proposal, this.logicalClock, PeerState.LOOKING));
    }
    // An observer is not among the voters it sends to: its own vote does not come back to it.
    if (!this.observer) this.receive(nowMs, this.myId, own.notification, step);
  }

  private notification(to: number, vote: Proposal, electionEpoch: number, state: PeerState): OutgoingNotification {
    return {
      to,
      notification: { state, leader: vote.leader, zxid: vote.zxid, electionEpoch, peerEpoch: vote.peerEpoch, version: 2, config: this.config },
    };
  }
}
