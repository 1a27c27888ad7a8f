import type { Logger } from 'pino';
import { JuteError, PacketType, QuorumPacketStream, encodeQuorumPacket, type QuorumPacket } from '../jute/index.js';
import { WireSnapshotScanner, type HistoryEntry, type Ready, type RoleEvent, type ZabFollower, type ZabLeader } from '../zab/index.js';

/**
 * What a ZAB role's Ready needs from the server: durable epochs and log, the state machine, and the
 * snapshot a SNAP streams. The ensemble's server implements it over its Persistence and DataTree;
 * tests over memory.
 */
export interface ReplicaStore {
  writeEpoch(name: 'acceptedEpoch' | 'currentEpoch', value: number): Promise<void>;
  /** Drops the logged txns after `zxid` and rebuilds the state from what is left (a TRUNC). */
  truncate(zxid: number): Promise<void>;
  /** Applies a committed txn (already durable in the local log). */
  apply(entry: HistoryEntry): void;
  /** Appends to the log; resolves once these entries (and all before them) are fsynced. */
  append(entries: HistoryEntry[]): Promise<void>;
  /** The state as it is now (once no other snapshot is being written), in the layout a SNAP streams. */
  snapshot(): Promise<Iterable<Buffer>>;
  /** Replaces the state with a streamed snapshot at `zxid` and makes it durable. */
  installSnapshot(bytes: Buffer, zxid: number): Promise<void>;
}

export interface RoleHooks {
  onEvent(event: RoleEvent): void;
  /** A follower's answer to the leader's PING: the sessions its clients touched since the last one. */
  pingReply?(zxid: number): QuorumPacket;
}

/** Sends on the quorum port: a learner's one socket, or the leader's socket per learner. */
export interface QuorumSender {
  send(to: number, bytes: Buffer): void;
  /** Ends the connection to `to` (the leader drops a learner; a follower leaves its leader). */
  close(to: number, reason: string): void;
}

type Role = ZabLeader | ZabFollower;

/**
 * Carries a role's Ready out, one after another, in the order src/zab/ready.ts prescribes: epochs
 * and truncation durable first, then commits applied, then messages sent (a snapshot streamed from
 * the state as it is after those commits), then appends handed to the log (their fsync reported
 * back to the role as `persisted`), then events. Inputs are fed to the role at once; the Ready they
 * produce waits for the ones before it.
 */
export class ReadyRunner {
  private chain: Promise<void> = Promise.resolve();
  private failed = false;
  private pumpQueued = false;

  constructor(
    private readonly role: Role,
    private readonly store: ReplicaStore,
    private readonly sender: QuorumSender,
    private readonly hooks: RoleHooks,
    private readonly log: Logger,
  ) {}

  /**
   * Call after every input to the role. The inputs of one turn of the event loop (the packets of
   * one socket read, the requests of one client read) are carried out as one Ready: one log append,
   * one batch of packets per peer, instead of one of each per input.
   */
  pump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => this.pumpNow());
  }

  private pumpNow(): void {
    if (!this.pumpQueued) return;
    this.pumpQueued = false;
    const ready = this.role.ready();
    if (isEmpty(ready)) return;
    this.chain = this.chain.then(() => this.execute(ready)).catch((e) => this.fail(e as Error));
  }

  /** Resolves once every Ready so far is carried out (its appends handed to the log). */
  idle(): Promise<void> {
    this.pumpNow();
    return this.chain;
  }

  private async execute(r: Ready): Promise<void> {
    if (this.failed) return;
    for (const e of r.epochs) await this.store.writeEpoch(e.name, e.value);
    if (r.truncate !== undefined) await this.store.truncate(r.truncate);
    // Commits go before the messages, but a SNAP streams the state at its own zxid: one Ready
    // gathers a turn's inputs, and commits of a later input (another learner's ACK) may follow the
    // SNAP; applied first, they would be in a snapshot labelled older, and the learner would apply
    // them twice (the txns after the SNAP's zxid follow it).
    let applied = 0;
    const applyUpTo = (zxid: number) => {
      while (applied < r.commits.length && r.commits[applied]!.zxid <= zxid) this.store.apply(r.commits[applied++]!);
    };
    const firstSnap = r.messages.find((m) => 'snapshot' in m);
    applyUpTo(firstSnap && 'snapshot' in firstSnap ? firstSnap.zxid : Infinity);
    // A PROPOSAL or COMMIT goes to every follower as the same packet object: encoded once.
    let encoded: { packet: QuorumPacket; bytes: Buffer } | undefined;
    for (const m of r.messages) {
      if ('packet' in m) {
        if (encoded?.packet !== m.packet) encoded = { packet: m.packet, bytes: encodeQuorumPacket(m.packet) };
        this.sender.send(m.to, encoded.bytes);
      } else {
        applyUpTo(m.zxid);
        this.sender.send(m.to, encodeQuorumPacket({ type: PacketType.SNAP, zxid: m.zxid, data: null, authinfo: null }));
        for (const chunk of await this.store.snapshot()) this.sender.send(m.to, chunk);
      }
    }
    applyUpTo(Infinity);
    if (r.appends.length > 0) {
      const last = r.appends.at(-1)!.zxid;
      this.store.append(r.appends).then(
        () => {
          this.role.persisted(last);
          this.pump();
        },
        (e) => this.fail(e as Error),
      );
    }
    for (const ev of r.events) {
      if (ev.kind === 'dropLearner') this.sender.close(ev.sid, ev.reason);
      if (ev.kind === 'deliver' && ev.packet.type === PacketType.PING && this.hooks.pingReply && 'leader' in this.role) {
        this.sender.send(this.role.leader, encodeQuorumPacket(this.hooks.pingReply(ev.packet.zxid)));
        continue;
      }
      this.hooks.onEvent(ev);
    }
  }

  /** Storage failed under the role: nothing more can be acknowledged; the role ends. */
  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.log.error({ err: err.message }, 'replication storage failed; leaving the role');
    this.role.stop(`storage failed: ${err.message}`);
    this.hooks.onEvent({ kind: 'stopped', reason: `storage failed: ${err.message}` });
  }
}

/**
 * Splits what a learner reads from its leader into packets, and takes the raw snapshot that
 * follows a SNAP aside for the store to install before the packets after it are handled.
 */
export class LearnerInbox {
  private readonly packets: QuorumPacketStream;
  private scanner: WireSnapshotScanner | undefined;
  private snapZxid = 0;
  /** A snapshot being installed: everything after it waits. */
  private installing: Promise<void> | undefined;
  private backlog: Buffer[] = [];

  constructor(
    maxBuffer: number,
    private readonly onPacket: (p: QuorumPacket) => void,
    private readonly onSnapshot: (bytes: Buffer, zxid: number) => Promise<void>,
    private readonly onError: (err: Error) => void,
    private readonly maxSnapshotBytes = 2 ** 31,
  ) {
    this.packets = new QuorumPacketStream(maxBuffer);
  }

  push(chunk: Buffer): void {
    if (this.installing) {
      this.backlog.push(chunk);
      return;
    }
    try {
      this.consume(chunk);
    } catch (e) {
      this.onError(e instanceof JuteError ? new Error(`malformed quorum packet: ${e.message}`) : (e as Error));
    }
  }

  private consume(chunk: Buffer): void {
    if (this.scanner) {
      const done = this.scanner.push(chunk);
      if (!done) return;
      this.scanner = undefined;
      this.installing = this.onSnapshot(done.snapshot, this.snapZxid).then(
        () => {
          this.installing = undefined;
          const rest = [done.rest, ...this.backlog];
          this.backlog = [];
          for (const b of rest) this.push(b);
        },
        (e) => this.onError(e as Error),
      );
      return;
    }
    this.packets.push(chunk);
    for (let p = this.packets.next(); p; p = this.packets.next()) {
      this.onPacket(p);
      if (p.type === PacketType.SNAP) {
        this.scanner = new WireSnapshotScanner(this.maxSnapshotBytes);
        this.snapZxid = p.zxid;
        const raw = this.packets.takeRaw(this.packets.buffered);
        this.consume(raw);
        return;
      }
    }
  }
}

/**
 * Runs `tick` every `intervalMs`, each time after an I/O phase of the event loop that began after
 * the timer fired. After a stall of this process (a long synchronous step, CPU starvation), Node
 * runs overdue timers before it reads the sockets: a tick run straight from the timer would judge
 * peers silent on packets that arrived during the stall and wait unread, and drop a follower that
 * answered, or a leader that pinged. Two setImmediate hops: the first may run in the check phase
 * right after the stall; the second runs after the next poll phase, which reads what arrived.
 * Returns a function that stops the ticks.
 */
export function ticksAfterIo(tick: () => void, intervalMs: number): () => void {
  let stopped = false;
  const timer = setInterval(() => setImmediate(() => setImmediate(() => stopped || tick())), intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

function isEmpty(r: Ready): boolean {
  return r.epochs.length === 0 && r.truncate === undefined && r.commits.length === 0 && r.messages.length === 0 && r.appends.length === 0 && r.events.length === 0;
}

/**
 * A learner installs the snapshot a SNAP streamed only for the role that asked for it, and the next
 * role starts only once an install under way is done. A 1,000-kill run found both holes: a SNAP that
 * outlasted initLimit was installed after its role had ended, under the next role, which had synced
 * by DIFF meanwhile; the install replaced that role's tree and removed its logged txns.
 */
export class SnapshotInstalls {
  private underWay: Promise<void> | undefined;

  constructor(private readonly install: (bytes: Buffer, zxid: number) => Promise<void>) {}

  /**
   * Installs the snapshot if `stillCurrent()` (the role that received it has not ended). Resolves
   * with whether it was installed and the role is still current, so that the role may be told.
   */
  async run(stillCurrent: () => boolean, bytes: Buffer, zxid: number): Promise<boolean> {
    if (!stillCurrent()) return false;
    this.underWay = this.install(bytes, zxid);
    try {
      await this.underWay;
    } finally {
      this.underWay = undefined;
    }
    return stillCurrent();
  }

  /** Resolves once no install is under way (whether it succeeded or not). */
  async settled(): Promise<void> {
    await this.underWay?.catch(() => {});
  }
}
