import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { DataTree, Txn } from '../datatree/index.js';
import { PeerState, type QuorumConfig } from '../jute/election.js';
import { ErrorCode, KeeperError } from '../jute/constants.js';
import { zxidOf } from '../jute/quorum.js';
import {
  PacketType,
  decodeForwardedRequest,
  decodeRevalidateReply,
  decodeRevalidateRequest,
  decodeSessionTouches,
  encodeForwardedRequest,
  encodeQuorumPacket,
  encodeRevalidateReply,
  encodeRevalidateRequest,
  encodeSessionTouches,
  OpCode,
  type QuorumPacket,
} from '../jute/index.js';
import {
  decodeTxnEntry,
  encodeTxnEntry,
  loadEpochs,
  parseSnapshot,
  Persistence,
  readHistory,
  removeDataFiles,
  serializeSnapshot,
  snapshotFileName,
  truncateLogsAfter,
  writeEpochFile,
  writeSnapshotFile,
  ZabFollower,
  ZabLeader,
  type Epochs,
  type History,
  type HistoryEntry,
  type RoleEvent,
  type TxnLog,
} from '../zab/index.js';
import type { ServerConfig } from './config.js';
import { configText, nextConfig, observersIn, parseConfigText, quorumConfigOf, votersIn, writeConfigFiles } from './dynamic-config.js';
import { ElectionRunner } from './election-runner.js';
import { recoveryProgress } from './progress.js';
import { quorumTransport, type QuorumTransport } from './quorum-transport.js';
import { Summary, type JavaDouble } from './server-stats.js';
import { LeaderPort, LearnerPort } from './quorum-port.js';
import { ZkTcpServer } from './tcp-server.js';
import { LearnerInbox, ReadyRunner, SnapshotInstalls, ticksAfterIo, type ReplicaStore } from './zab-runtime.js';
import { ZkServer, type ForwardedRequest, type Replication } from './zk-server.js';

type Role = ZabLeader | ZabFollower;

/**
 * One server of an ensemble (ZooKeeper's QuorumPeer): recover the data, then loop — elect a leader
 * (FastLeaderElection on the election port), lead or follow it with ZAB on the quorum port, serve
 * clients while that role lasts, and look for a leader again when it ends. The ZAB roles are
 * sans-IO (src/zab/leader.ts, follower.ts); this is the runtime that gives them a disk, sockets
 * and the client-facing ZkServer.
 */
export class QuorumPeer implements ReplicaStore {
  private persistence!: Persistence;
  private tree!: DataTree;
  private history!: History;
  private epochs!: Epochs;
  /** mntr's looking_count and election_time: elections entered, and how long each took to decide (ms). */
  private lookingCount = 0;
  private readonly electionTime = new Summary('election_time');
  /** When the current role began (mntr's leader_uptime). */
  private roleStartedAt = 0;
  private election!: ElectionRunner;
  private role: Role | undefined;
  private runner: ReadyRunner | undefined;
  private sender: LeaderPort | LearnerPort | undefined;
  private zk: ZkServer | undefined;
  /** The server answering read-only clients while this peer looks for a quorum (readonlymode.enabled). */
  private readOnlyZk: ZkServer | undefined;
  private ended: ((reason: string) => void) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** Leader: the commit callbacks of proposals made by our ZkServer, by zxid. */
  private readonly commitCallbacks = new Map<number, () => void>();
  /** Follower: sessions our clients touched since the last PING. */
  private touches = new Map<bigint, number>();
  /** Follower: our clients' syncs, answered in order by the leader's SYNCs. */
  private readonly syncWaiters: (() => void)[] = [];
  /** Follower: syncs the leader answered, waiting for us to apply up to `zxid`. */
  private readonly syncsReady: { zxid: number; done: () => void }[] = [];
  /** Follower: clients re-attaching to sessions, waiting for the leader's REVALIDATE answer. */
  private readonly revalidations = new Map<bigint, ((valid: boolean) => void)[]>();
  /** Leader: our own clients' syncs, answered by the role in order. */
  private readonly localSyncs: (() => void)[] = [];
  private appendChain: Promise<void> = Promise.resolve();
  /** Follower: installs a SNAP's snapshot (files and tree replaced) for the role that asked only. */
  private readonly snapshotInstalls = new SnapshotInstalls((bytes, zxid) => this.installSnapshot(bytes, zxid));
  state: 'looking' | 'leading' | 'following' = 'looking';
  /** Plain TCP, or TLS between servers with sslQuorum=true. */
  private readonly transport: QuorumTransport;
  /** The active config (ZooKeeper's quorumVerifier): zoo.cfg's server lines until a reconfig replaces them. */
  private quorumConfig: QuorumConfig;
  /** Follower: the config NEWLEADER carried, activated once serving if newer than ours. */
  private leaderConfig: Buffer | undefined;

  constructor(
    readonly config: ServerConfig,
    readonly myid: number,
    private readonly clients: ZkTcpServer,
    private readonly log: Logger,
  ) {
    this.transport = quorumTransport(config, log);
    this.quorumConfig = quorumConfigOf(config);
  }

  /** The last zxid of this peer's log: what it votes with and reports to a leader. */
  get lastZxid(): number {
    return this.history.lastZxid;
  }

  private get snapDir(): string {
    return join(this.config.dataDir, 'version-2');
  }

  private get logDir(): string {
    return join(this.config.dataLogDir, 'version-2');
  }

  async start(): Promise<void> {
    await this.openData(true);
    this.epochs = await loadEpochs(this.snapDir, this.tree.lastProcessedZxid);
    this.election = new ElectionRunner({ myId: this.myid, config: this.quorumConfig, logger: this.log, transport: this.transport });
    await this.election.listen();
    await this.clients.listen();
    this.clients.unserve('looking for a leader');
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.endRole('server shutting down');
    // The election first: a peer still looking would otherwise wait for a decision for ever.
    await this.election.stop();
    await this.loop;
    await this.persistence.close();
  }

  /** Recovers the tree from the data dir. At start the in-memory history is read too; during a role the role keeps it. */
  private async openData(readHistoryToo = false): Promise<void> {
    const { persistence, recovered } = await Persistence.open({
      dataDir: this.config.dataDir,
      dataLogDir: this.config.dataLogDir,
      forceSync: this.config.forceSync,
      snapCount: this.config.snapCount,
      extendedTypesEnabled: this.config.extendedTypesEnabled,
      snapRetainCount: this.config.autopurgeSnapRetainCount,
      preAllocSize: this.config.preAllocSize,
      log: this.log,
      // Nothing more can be made durable: stop the process, as a standalone server does, so that a
      // supervisor restarts it from its disk. Staying up would hang for ever: leaving the role
      // waits for appends that the failed log will never acknowledge.
      onFailure: (err) => {
        this.log.error({ err: err.message }, 'transaction log failed; shutting down');
        this.endRole(`transaction log failed: ${err.message}`);
        this.clients.onFatal(err);
      },
      progress: recoveryProgress({ log: this.log }),
      logMetrics: { fsynced: (ms) => this.zk?.stats.fsyncTime.add(ms), flushed: (n) => this.zk?.stats.batchSize.add(n) },
      snapshotted: (ms) => this.zk?.stats.snapshotTime.add(ms),
    });
    this.persistence = persistence;
    this.tree = recovered.tree;
    if (readHistoryToo) this.history = await readHistory(this.logDir, recovered.snapshotZxid);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const lastZxid = this.history.lastZxid;
      this.lookingCount++;
      const electionStarted = performance.now();
      // ZooKeeper waits max(2 s, tickTime) of looking before it decides it is cut off from its quorum.
      const readOnlyTimer = this.config.readOnlyModeEnabled ? setTimeout(() => this.serveReadOnly(), Math.max(2000, this.config.tickTime)) : undefined;
      const decision = await this.election.elect(lastZxid, this.epochs.currentEpoch);
      clearTimeout(readOnlyTimer);
      this.leaveReadOnly();
      if (this.stopped || !decision) return;
      this.electionTime.add(Math.round(performance.now() - electionStarted));
      this.roleStartedAt = performance.now();
      const reason = await (decision.state === PeerState.LEADING ? this.lead() : this.follow(decision.leader)).catch((e: Error) => e.message);
      this.log.info({ reason, state: this.state }, 'role ended; looking for a leader');
      await this.leaveRole(reason);
      // A server a reconfig removed is turned away by every leader: retry at a tick's pace, not in a busy loop.
      if (!this.quorumConfig.members.some((m) => m.sid === this.myid)) await new Promise((r) => setTimeout(r, this.config.tickTime));
    }
  }

  // ---- roles ----

  private lead(): Promise<string> {
    this.state = 'leading';
    const role = new ZabLeader({
      myid: this.myid,
      voters: votersIn(this.quorumConfig),
      observers: observersIn(this.quorumConfig),
      ...this.epochs,
      history: this.history,
      timing: this.config,
      now: Date.now(),
      config: (epoch) => Buffer.from(configText(this.establishedConfig(epoch))),
    });
    const port = new LeaderPort(
      this.config.juteMaxBuffer,
      (sid, p) => this.input(() => role.receive(sid, p, Date.now())),
      (sid) => this.input(() => role.learnerGone(sid)),
      this.log,
      this.transport,
    );
    return this.runRole(role, port, async () => {
      const me = this.quorumConfig.members.find((m) => m.sid === this.myid)?.addresses[0];
      if (!me) throw new Error(`server ${this.myid} is not in the configuration`);
      await port.listen(me.quorumPort, me.host);
      return () => port.shutdown();
    });
  }

  private follow(leaderSid: number): Promise<string> {
    this.state = 'following';
    const leader = this.quorumConfig.members.find((m) => m.sid === leaderSid)?.addresses[0];
    if (!leader) return Promise.resolve(`leader ${leaderSid} is not in the configuration`);
    const observer = observersIn(this.quorumConfig).has(this.myid);
    this.leaderConfig = undefined;
    const role = new ZabFollower({
      myid: this.myid,
      leader: leaderSid,
      ...this.epochs,
      history: this.history,
      timing: this.config,
      now: Date.now(),
      observer,
      configVersion: BigInt(this.quorumConfig.version),
    });
    const port = new LearnerPort(
      (onError) =>
        new LearnerInbox(
          this.config.juteMaxBuffer,
          (p) => this.input(() => role.receive(p, Date.now())),
          async (bytes, zxid) => {
            await this.runner?.idle();
            if (await this.snapshotInstalls.run(() => this.role === role, bytes, zxid)) this.input(() => role.snapshotInstalled(zxid));
          },
          onError,
        ),
      (reason) => this.input(() => role.stop(reason)),
      this.transport,
    );
    return this.runRole(role, port, async () => {
      await port.connect(leader.host, leader.quorumPort, Date.now() + this.config.initLimit * this.config.tickTime);
      this.input(() => role.connected(Date.now()));
      return async () => port.close(0, 'leaving the role');
    });
  }

  /** Runs a role until it stops; resolves with why. */
  private async runRole(role: Role, sender: LeaderPort | LearnerPort, open: () => Promise<() => Promise<void>>): Promise<string> {
    this.role = role;
    this.sender = sender;
    const ended = new Promise<string>((resolve) => (this.ended = resolve));
    this.runner = new ReadyRunner(role, this, sender, { onEvent: (e) => this.onEvent(role, e), pingReply: (zxid) => this.pingReply(zxid) }, this.log);
    const close = await open();
    this.runner.pump();
    const stopTicks = ticksAfterIo(() => this.input(() => role.tick(Date.now())), Math.max(10, this.config.tickTime / 4));
    try {
      return await ended;
    } finally {
      stopTicks();
      await close();
    }
  }

  /** Feeds an input to the role, then carries out what it asks. */
  private input(step: () => void): void {
    if (!this.role) return;
    step();
    this.runner?.pump();
  }

  private onEvent(role: Role, e: RoleEvent): void {
    switch (e.kind) {
      case 'serving':
        return this.startServing(role, e.epoch);
      case 'stopped':
        return this.endRole(e.reason);
      case 'deliver':
        return role instanceof ZabLeader ? this.leaderDeliver(role, e.from, e.packet) : this.followerDeliver(e.packet);
      case 'synced':
        this.localSyncs.shift()?.();
        return;
      case 'dropLearner':
        this.log.warn({ learner: e.sid, reason: e.reason }, 'learner dropped');
        return;
      case 'leaderConfig':
        this.leaderConfig = e.config;
        return;
      case 'learnerSync':
        this.log.info({ learner: e.sid, mode: e.mode.toUpperCase(), from: '0x' + e.from.toString(16), to: '0x' + e.to.toString(16), txns: e.txns }, 'syncing learner');
        return;
    }
  }

  private endRole(reason: string): void {
    const end = this.ended;
    this.ended = undefined;
    end?.(reason);
  }

  /** The role is over: clients go, the log is flushed and all of it applied (ZooKeeper's fast-forward). */
  private async leaveRole(reason: string): Promise<void> {
    this.clients.unserve(`this server is no longer ${this.state === 'leading' ? 'the leader' : 'following'}: ${reason}`);
    // A snapshot being installed finishes first: the next role starts from its files and tree.
    await this.snapshotInstalls.settled();
    await this.runner?.idle();
    await this.appendChain.catch(() => {});
    this.role = undefined;
    this.runner = undefined;
    this.sender = undefined;
    if (this.zk) this.zk.replication = undefined;
    this.zk = undefined;
    this.commitCallbacks.clear();
    this.syncWaiters.length = 0;
    this.syncsReady.length = 0;
    this.localSyncs.length = 0;
    this.revalidations.clear();
    this.touches.clear();
    for (const e of this.history.after(this.tree.lastProcessedZxid)) {
      const txn = e.txn ?? decodeTxnEntry(e.payload).txn;
      this.tree.apply(txn);
      this.activateTxn(txn);
    }
    this.state = 'looking';
  }

  /** Still looking: serve read-only clients from the last state, as ZooKeeper's ReadOnlyZooKeeperServer. */
  private serveReadOnly(): void {
    if (this.stopped || this.state !== 'looking') return;
    const zk = new ZkServer(this.config, this.log, new RefusingTxnLog(), this.tree);
    zk.enterReadOnly();
    this.readOnlyZk = zk;
    this.log.info({ zxid: '0x' + this.tree.lastProcessedZxid.toString(16) }, 'no quorum: serving read-only clients');
    this.clients.serve(zk);
  }

  /** An election ended: read-only clients are disconnected (ZooKeeper closes them too) and find a read-write server. */
  private leaveReadOnly(): void {
    if (!this.readOnlyZk) return;
    this.readOnlyZk = undefined;
    this.clients.unserve('read-only mode ends: this server found a quorum');
  }

  private startServing(role: Role, epoch: number): void {
    const leading = role instanceof ZabLeader;
    const zk = new ZkServer(this.config, this.log, leading ? this.leaderTxnLog(role) : new RefusingTxnLog(), this.tree);
    if (leading) zk.startEpoch(epoch);
    if (leading) this.activate(this.establishedConfig(epoch), 'the new epoch');
    const fromLeader = this.leaderConfig && parseConfigText(this.leaderConfig.toString('utf8'));
    this.leaderConfig = undefined;
    if (fromLeader) this.activate(fromLeader, 'the leader\'s (NEWLEADER)');
    // Every server shows the active config in /zookeeper/config (ZooKeeper's initConfigInZKDatabase).
    this.tree.initConfig(Buffer.from(configText(this.quorumConfig)), this.quorumConfig.version, Date.now());
    zk.replication = this.replicationFor(role);
    this.zk = zk;
    this.election.core.updatePeerEpoch(epoch);
    this.log.info({ epoch, role: leading ? 'leader' : 'follower', zxid: '0x' + this.tree.lastProcessedZxid.toString(16) }, 'serving clients');
    this.clients.serve(zk);
  }

  /** The leader's ZkServer hands its txns to ZAB: logged here and on a quorum, then committed. */
  private leaderTxnLog(role: ZabLeader): TxnLog {
    return {
      append: (txn: Txn, durable: () => void) => {
        this.commitCallbacks.set(txn.zxid, durable);
        role.propose({ zxid: txn.zxid, payload: encodeTxnEntry(txn), txn }, Date.now());
        this.runner?.pump();
      },
      close: async () => {},
    };
  }

  private replicationFor(role: Role): Replication {
    if (role instanceof ZabLeader) {
      return {
        role: 'leader',
        forward: () => {
          throw new Error('the leader forwards nothing');
        },
        sync: (done) => {
          this.localSyncs.push(done);
          this.input(() => role.sync(this.myid));
        },
        touched: () => {},
        revalidate: () => {
          throw new Error('the leader revalidates nothing');
        },
        syncedObservers: () => role.syncedObservers,
        prepareReconfig: (req, zxid) => {
          if (role.reconfigPending) throw new KeeperError(ErrorCode.RECONFIGINPROGRESS);
          // The role's config: a reconfig it committed counts before this server has applied it.
          const active = role.activeConfig;
          const current = (active && parseConfigText(active.toString('utf8'))) || this.quorumConfig;
          if (req.curConfigId !== -1 && req.curConfigId !== current.version) {
            throw new KeeperError(ErrorCode.BADVERSION, `Reconfiguration from version ${req.curConfigId} failed -- last seen version is ${current.version}`);
          }
          const next = nextConfig(current, req, zxid, this.config.standaloneEnabled);
          if (!role.isQuorumSynced(votersIn(next))) throw new KeeperError(ErrorCode.NEWCONFIGNOQUORUM);
          return Buffer.from(configText(next));
        },
        monitor: () => {
          const f = role.figures;
          return [
            ...this.peerRows('leading'),
            ['learners', f.learners],
            ['synced_followers', f.syncedFollowers],
            // zkts has no non-voting followers (only observers, which reconfig would turn into them): that set is empty, not unmeasured.
            ['synced_non_voting_followers', 0],
            ['synced_observers', f.syncedObservers],
            ['pending_syncs', f.pendingSyncs],
            ['leader_uptime', Math.round(performance.now() - this.roleStartedAt)],
            ['proposal_count', f.proposals],
            ['last_proposal_size', f.lastProposalSize],
            ['min_proposal_size', f.minProposalSize],
            ['max_proposal_size', f.maxProposalSize],
          ];
        },
      };
    }
    return {
      role: 'follower',
      observer: role.observer,
      leaderId: role.leader,
      forward: (req) => this.sendToLeader(role, forwardPacket(req)),
      sync: (done) => {
        // TEST-ONLY: a deliberately broken server for jepsen-lite's proof that it can fail: with
        // ZKTS_TEST_BROKEN=follower-sync-local a follower answers sync() without the leader.
        if (process.env.ZKTS_TEST_BROKEN === 'follower-sync-local') return void queueMicrotask(done);
        this.syncWaiters.push(done);
        this.sendToLeader(role, forwardPacket({ sessionId: 0n, cxid: 0, type: OpCode.sync, body: Buffer.alloc(0), ids: [{ scheme: 'ip', id: '127.0.0.1' }] }));
      },
      touched: (id, timeout) => {
        this.touches.set(id, timeout);
      },
      revalidate: (id, timeout, done) => {
        const waiting = this.revalidations.get(id) ?? [];
        waiting.push(done);
        this.revalidations.set(id, waiting);
        this.sendToLeader(role, { type: PacketType.REVALIDATE, zxid: -1, data: encodeRevalidateRequest(id, timeout), authinfo: null });
      },
      monitor: () => [
        ...this.peerRows(role.observer ? 'observing' : 'following'),
        ['learner_proposal_received_count', role.proposalsReceived],
        ['learner_commit_received_count', role.commitsReceived],
      ],
    };
  }

  /**
   * The rows every member shows. A role serves clients only once synchronized (ZooKeeper's ZabState
   * BROADCAST), and mntr is answered only while serving: so the peer state is "<role> - broadcast".
   */
  private peerRows(state: 'leading' | 'following' | 'observing'): [string, string | number | JavaDouble][] {
    return [
      ['peer_state', `${state} - broadcast`],
      ['quorum_size', votersIn(this.quorumConfig).size],
      ['looking_count', this.lookingCount],
      ...this.electionTime.values(),
    ];
  }

  private sendToLeader(role: ZabFollower, p: QuorumPacket): void {
    this.runnerSend(role.leader, p);
  }

  /** Session-level packets go straight to the socket; ZAB's own go through the runner. */
  private runnerSend(to: number, p: QuorumPacket): void {
    this.sender?.send(to, encodeQuorumPacket(p));
  }

  // ---- session-level packets ----

  private leaderDeliver(role: ZabLeader, from: number, p: QuorumPacket): void {
    if (!this.zk) return;
    switch (p.type) {
      case PacketType.REQUEST: {
        const f = decodeForwardedRequest(p.data ?? Buffer.alloc(0));
        if (f.type === OpCode.sync) return this.input(() => role.sync(from));
        this.zk.handleForwarded({ sessionId: f.sessionId, cxid: f.cxid, type: f.type, body: f.request, ids: p.authinfo ?? [] }, from);
        return;
      }
      case PacketType.PING:
        for (const [id] of decodeSessionTouches(p.data)) this.zk.touchSession(id);
        return;
      case PacketType.REVALIDATE: {
        const { sessionId } = decodeRevalidateRequest(p.data ?? Buffer.alloc(0));
        const valid = this.zk.revalidate(sessionId, from);
        this.runnerSend(from, { type: PacketType.REVALIDATE, zxid: -1, data: encodeRevalidateReply(sessionId, valid), authinfo: null });
        return;
      }
    }
  }

  private followerDeliver(p: QuorumPacket): void {
    if (p.type === PacketType.REVALIDATE && p.data) {
      const { sessionId, valid } = decodeRevalidateReply(p.data);
      const waiting = this.revalidations.get(sessionId);
      this.revalidations.delete(sessionId);
      for (const done of waiting ?? []) done(valid);
      return;
    }
    if (p.type === PacketType.SYNC) {
      const done = this.syncWaiters.shift();
      const role = this.role;
      if (done && role instanceof ZabFollower) {
        this.syncsReady.push({ zxid: role.lastCommitted, done });
        this.answerSyncs();
      }
    }
  }

  private answerSyncs(): void {
    while (this.syncsReady.length > 0 && this.syncsReady[0]!.zxid <= this.tree.lastProcessedZxid) this.syncsReady.shift()!.done();
  }

  private pingReply(zxid: number): QuorumPacket {
    const data = encodeSessionTouches(this.touches);
    this.touches = new Map();
    return { type: PacketType.PING, zxid, data, authinfo: null };
  }

  // ---- ReplicaStore: what the roles' Ready needs of the disk and the state ----

  async writeEpoch(name: 'acceptedEpoch' | 'currentEpoch', value: number): Promise<void> {
    await writeEpochFile(this.snapDir, name, value);
    this.epochs[name] = value;
  }

  async truncate(zxid: number): Promise<void> {
    await this.persistence.close({ snapshot: false });
    const changed = await truncateLogsAfter(this.snapDir, this.logDir, zxid);
    this.log.info({ zxid: '0x' + zxid.toString(16), changed }, 'log truncated for the leader (TRUNC)');
    let rebuilt: string;
    try {
      await this.openData();
      if (this.tree.lastProcessedZxid === zxid) return;
      rebuilt = '0x' + this.tree.lastProcessedZxid.toString(16);
      await this.persistence.close({ snapshot: false });
    } catch (e) {
      rebuilt = `nothing (${(e as Error).message})`;
    }
    // The files cannot rebuild the state at zxid: it was in the snapshot of a SNAP newer than zxid
    // (a SNAP removes the logs before it), which the truncation had to delete. Claiming zxid with
    // another state would diverge from the ensemble. The data files go, and the role with them: the
    // next sync, from zxid 0, is a SNAP. (ZooKeeper's learner exits here: "Not able to truncate the log".)
    const removed = await removeDataFiles(this.snapDir, this.logDir);
    this.log.error({ zxid: '0x' + zxid.toString(16), rebuilt, removed }, 'cannot truncate to the leader\'s zxid; data files removed');
    await this.openData(true);
    throw new Error(`cannot truncate to 0x${zxid.toString(16)}: the data files rebuild ${rebuilt}; removed them, to be synced anew`);
  }

  apply(entry: HistoryEntry): void {
    const txn = entry.txn ?? decodeTxnEntry(entry.payload).txn;
    const callback = this.commitCallbacks.get(entry.zxid);
    if (callback) {
      this.commitCallbacks.delete(entry.zxid);
      callback();
    } else if (this.zk) {
      this.zk.applyCommitted(txn);
    } else {
      this.tree.apply(txn);
    }
    this.activateTxn(txn);
    this.answerSyncs();
  }

  /**
   * The config a leader of `epoch` establishes (ZOOKEEPER-1783): with reconfigEnabled, a config
   * that never had a version (0, from zoo.cfg's server lines) takes the epoch's first zxid as its
   * version, so that it wins over the unversioned config of a server that is not a member yet.
   */
  private establishedConfig(epoch: number): QuorumConfig {
    const c = this.quorumConfig;
    return this.config.reconfigEnabled && c.version === 0 ? { ...c, version: zxidOf(epoch, 0) } : c;
  }

  /** A committed reconfig txn activates its config here (its data is the config's text). */
  private activateTxn(txn: Txn): void {
    if (txn.body.type !== OpCode.reconfig || !txn.body.txn.data) return;
    const next = parseConfigText(txn.body.txn.data.toString('utf8'));
    if (next) this.activate(next, `reconfig 0x${txn.zxid.toString(16)}`);
    else this.log.error({ zxid: '0x' + txn.zxid.toString(16) }, 'reconfig txn without a config; ignored');
  }

  /**
   * A newer config becomes the active one (QuorumPeer.processReconfig; nothing happens unless
   * reconfigEnabled, as in ZooKeeper): written to zoo.cfg.dynamic.<version> with zoo.cfg pointing at
   * it, announced in our election notifications. The leader role counts with it already (it saw the
   * commit; removed, it steps down once its followers left); a learner whose own membership changed,
   * or whose leader is no longer a voter, leaves its role and looks for the leader of the new config.
   */
  private activate(next: QuorumConfig, source: string): void {
    const before = this.quorumConfig;
    if (!this.config.reconfigEnabled || next.version <= before.version) return;
    this.quorumConfig = next;
    this.log.info({ source, version: '0x' + next.version.toString(16), config: configText(next) }, 'new configuration activated');
    if (this.config.configFile) {
      try {
        const file = writeConfigFiles(this.config.configFile, next);
        this.log.info({ file }, 'dynamic config file written');
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'could not write the dynamic config file');
      }
    }
    this.election.reconfigure(next);
    const roleIn = (c: QuorumConfig) => c.members.find((m) => m.sid === this.myid)?.role;
    const role = this.role;
    if (role instanceof ZabLeader) return;
    if (roleIn(before) !== roleIn(next)) this.endRole(`reconfig made this server ${roleIn(next) ?? 'no member'}`);
    else if (role instanceof ZabFollower && !votersIn(next).has(role.leader)) this.endRole(`reconfig removed leader ${role.leader} from the voters`);
  }

  append(entries: HistoryEntry[]): Promise<void> {
    const done = new Promise<void>((resolve) => {
      let left = entries.length;
      for (const e of entries) {
        this.persistence.appendEncoded(e.zxid, e.payload, () => {
          if (--left === 0) resolve();
        });
      }
    });
    this.appendChain = done;
    return done;
  }

  async snapshot(): Promise<Iterable<Buffer>> {
    await this.persistence.snapshotIdle();
    return [...serializeSnapshot(this.tree, { format: 'wire' })];
  }

  async installSnapshot(bytes: Buffer, zxid: number): Promise<void> {
    await this.persistence.close({ snapshot: false });
    const { tree } = parseSnapshot(bytes, { zxid, format: 'wire', extendedTypesEnabled: this.config.extendedTypesEnabled });
    await writeSnapshotFile((z) => join(this.snapDir, snapshotFileName(z)), tree, { fsync: true });
    const removed = await removeDataFiles(this.snapDir, this.logDir, zxid);
    this.log.info({ zxid: '0x' + zxid.toString(16), removed }, 'snapshot from the leader (SNAP) installed; the files before it removed');
    await this.openData();
    // The log now ends at zxid, whether or not the role that asked for it is still there to say so.
    this.history.reset(zxid);
  }
}

/** A follower's ZkServer never logs a txn itself: writes go to the leader (and a read-only one logs nothing). */
class RefusingTxnLog implements TxnLog {
  append(txn: Txn): void {
    throw new Error(`a follower cannot log txn 0x${txn.zxid.toString(16)} itself`);
  }
  async close(): Promise<void> {}
}

function forwardPacket(req: ForwardedRequest): QuorumPacket {
  // ZooKeeper's leader needs the client's ids with every forwarded request (it checks ACLs with them).
  const ids = req.ids.length > 0 ? req.ids : [{ scheme: 'ip', id: '127.0.0.1' }];
  return { type: PacketType.REQUEST, zxid: -1, data: encodeForwardedRequest({ sessionId: req.sessionId, cxid: req.cxid, type: req.type, request: req.body }), authinfo: ids };
}

/** `zkts start` with an ensemble's zoo.cfg: the client port and the quorum peer behind it. */
export class EnsembleServer {
  private readonly clients: ZkTcpServer;
  readonly peer: QuorumPeer;

  constructor(config: ServerConfig, log: Logger) {
    this.clients = new ZkTcpServer(config, log);
    this.peer = new QuorumPeer(config, config.myid!, this.clients, log);
  }

  set onFatal(f: (err: Error) => void) {
    this.clients.onFatal = f;
  }

  async start(): Promise<void> {
    await this.peer.start();
  }

  async stop(): Promise<void> {
    await this.peer.stop();
    await this.clients.stop();
  }
}
