import type { Logger } from 'pino';
import {
  AddWatchMode,
  ErrorCode,
  EventType,
  JuteError,
  KeeperError,
  KeeperState,
  OpCode,
  Perms,
  WatcherType,
  Xid,
  readMultiRequest,
  records,
  JuteReader,
  type JuteWriter,
  type MultiResult,
  writeMultiResponse,
} from '../jute/index.js';
import { CONFIG_PATH, DataTree, WatchMode, type Txn, type TxnBody, type TxnResult, type WatchEvent } from '../datatree/index.js';
import { MemoryTxnLog, type TxnLog } from '../zab/index.js';
import { checkAcl, maskDigests } from './auth.js';
import { ChangeView } from './change-view.js';
import { ServerStats, elapsedMs, type JavaDouble } from './server-stats.js';
import { ephemeralsInZooKeeperOrder, inZooKeeperAuthOrder } from './java-order.js';
import type { ClientHandle } from './client.js';
import { sessionTimeoutBounds, type ServerConfig } from './config.js';
import { prepCheck, prepCloseSession, prepCreate, prepDelete, prepMulti, prepSetAcl, prepSetData, type PrepContext } from './prep.js';
import { SessionExpiry } from './sessions.js';
import { firstSessionId, sessionPassword } from './session-ids.js';

/** A session as the server tracks it; the tree's session table is the durable part. */
export interface Session {
  id: bigint;
  timeout: number;
  /** The password is not kept: sessionPassword(id) derives it again (a Buffer per session cost ~120 bytes). */
  client: ClientHandle | undefined;
  closing: boolean;
}

/**
 * How this server takes part in an ensemble (set by the quorum peer while it leads or follows;
 * undefined for a standalone server). A follower does not prepare txns: it forwards writes, session
 * creation and close to the leader and answers them when their txn commits here.
 */
export interface Replication {
  readonly role: 'leader' | 'follower';
  /** A follower that is an observer: it learns and serves, forwards writes, and never votes. */
  readonly observer?: boolean;
  /** Follower: the id of the server it follows (the admin server's leader command). */
  readonly leaderId?: number;
  /** Follower: a request for the leader to prepare (REQUEST on the quorum port). */
  forward(req: ForwardedRequest): void;
  /** A client's sync: `done` once this server has applied all the leader had proposed when asked. */
  sync(done: () => void): void;
  /** Follower: a client touched its session; the leader hears of it in the next PING reply. */
  touched(sessionId: bigint, timeout: number): void;
  /** Follower: a client re-attached here; the leader makes this server the session's owner (REVALIDATE). */
  revalidate(sessionId: bigint, timeout: number, done: (valid: boolean) => void): void;
  /**
   * Leader: the config text a reconfig request asks for, to become the reconfig txn `zxid`; throws
   * KeeperError as ZooKeeper's leader refuses one (RECONFIGINPROGRESS, BADVERSION, BADARGUMENTS,
   * NEWCONFIGNOQUORUM). Unset on a follower (it forwards the request).
   */
  prepareReconfig?(req: records.ReconfigRequest, zxid: number): Buffer;
  /** Leader: the sids of the observers it sends INFORMs to (the admin server's observers command). */
  syncedObservers?(): number[];
  /** mntr's ensemble rows without the zk_ prefix (peer_state, quorum_size, the leader's learner and proposal figures, ...), measured. */
  monitor(): [string, string | number | JavaDouble][];
}

export interface ForwardedRequest {
  sessionId: bigint;
  cxid: number;
  type: number;
  body: Buffer;
  ids: records.Id[];
}

/** Outcome of a connect handshake, for the connection to encode. */
export interface ConnectOutcome {
  ok: boolean;
  sessionId: bigint;
  timeout: number;
  passwd: Buffer;
}

/** Requests that become txns. Their replies wait for the log; a client's later reads wait for them. */
const WRITE_TYPES = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
  OpCode.reconfig,
  OpCode.closeSession,
]);

/**
 * Per-connection order: ZooKeeper answers a client's requests in the order sent, and a read sees
 * the client's earlier writes but none of its later ones. Writes go to prep and the log at once (as
 * ZooKeeper's PrepRequestProcessor takes them, whatever reads are pending); a read that arrives while
 * the client has a write in the log runs right after that write commits, before the next txn is
 * applied (ZooKeeper's SyncRequestProcessor queues it behind the write in the same way).
 */
interface ClientOrder {
  /** The client's newest write still in the log, with the requests that arrived after it. */
  lastWrite: WriteBarrier | undefined;
}
interface WriteBarrier {
  /** Made by the first request that waits (most writes have none waiting behind them). */
  after: (() => void)[] | undefined;
}
const WATCH_MODES = { [AddWatchMode.PERSISTENT]: WatchMode.PERSISTENT, [AddWatchMode.PERSISTENT_RECURSIVE]: WatchMode.PERSISTENT_RECURSIVE };

/**
 * The request pipeline of one server: reads are answered from the tree; writes go prep -> log ->
 * commit -> reply. A standalone server is an ensemble of one: its "log" commits at once for now;
 * the durable log and replication slot in between prep and commit (see ../../../shared/DESIGN.md).
 */
export class ZkServer {
  readonly tree: DataTree;
  readonly sessions = new Map<bigint, Session>();
  private readonly expiry: SessionExpiry;
  /** The last zxid handed out by prep; the tree's lastProcessedZxid trails it while txns are in the log. */
  private lastPreparedZxid = 0;
  /** Changes of txns prepared but not yet applied: what prep must see (ZooKeeper's outstandingChanges). */
  private readonly pending: ChangeView;
  private readonly order = new WeakMap<ClientHandle, ClientOrder>();
  private nextSessionId: bigint;
  readonly startedAt = Date.now();
  /** Set while this server leads or follows in an ensemble. */
  replication: Replication | undefined;
  /**
   * Set while a quorum peer cut off from its quorum serves read-only (ZooKeeper's
   * ReadOnlyZooKeeperServer): the sessions created here, local to this server. Nothing is logged in
   * that mode, so they are never global; sessions of the last state are not tracked (see enterReadOnly).
   */
  private localSessions: Set<bigint> | undefined;
  /** Follower: the request being dispatched, as it came, for write() to forward. */
  private forwarding: { type: number; body: Buffer } | undefined;
  /**
   * Leader: which server each session's client is connected to (ZooKeeper's session owner); a
   * request for it from anywhere else is refused with SESSIONMOVED, which closes that connection.
   */
  private readonly owners = new Map<bigint, number>();
  /** Follower: forwarded requests waiting for their txn to commit, by session and cxid. */
  private readonly awaiting = new Map<string, (r: TxnResult, zxid: number) => void>();
  readonly stats = new ServerStats();
  /** Set once a committed txn could not be applied or answered: the tree may be half-changed. */
  private failure: Error | undefined;
  /** Called once on such a failure; the runtime stops serving and exits non-zero (see ZkTcpServer). */
  onFatal: (err: Error) => void = () => {};
  /**
   * Client requests received and not answered yet: handshakes and writes waiting for the log,
   * reads queued behind a write (ZooKeeper's requestsInProcess, what it reports as outstanding).
   */
  outstandingRequests = 0;

  constructor(
    readonly config: ServerConfig,
    readonly log: Logger,
    private readonly txnLog: TxnLog = new MemoryTxnLog(),
    /** The tree recovered from disk, if any: its sessions are revived and expire afresh from now. */
    tree?: DataTree,
    private readonly now: () => number = Date.now,
  ) {
    this.tree = tree ?? new DataTree({ extendedTypesEnabled: config.extendedTypesEnabled });
    this.lastPreparedZxid = this.tree.lastProcessedZxid;
    this.pending = new ChangeView(this.tree);
    this.expiry = new SessionExpiry(config.tickTime, now());
    for (const [id, timeout] of this.tree.sessions) {
      this.sessions.set(id, { id, timeout, client: undefined, closing: false });
      this.expiry.touch(id, timeout, now());
    }
    this.nextSessionId = firstSessionId(config.myid ?? 0, now());
  }

  /** Expiry time -> sessions expiring then (ZooKeeper's getSessionExpiryMap). */
  sessionExpiryMap(): ReadonlyMap<number, ReadonlySet<bigint>> {
    return this.expiry.byDeadline();
  }

  /** What srvr and mntr call this server: standalone, or its role in the ensemble. */
  get mode(): 'standalone' | 'leader' | 'follower' | 'observer' | 'read-only' {
    if (this.localSessions) return 'read-only';
    if (this.replication?.observer) return 'observer';
    return this.replication?.role ?? 'standalone';
  }

  /** Serving read-only: only clients that asked for it are accepted, and writes are refused. */
  get readOnly(): boolean {
    return this.localSessions !== undefined;
  }

  /**
   * Read-only mode, for a server that lost its quorum. It can log nothing: it creates only local
   * sessions, and the sessions of the last state are neither renewed nor expired here (their expiry
   * belongs to the next leader, which gives each a fresh timeout). A client of such a session may
   * re-attach here read-only and go back to it on the quorum (see docs/read-only-mode.md).
   */
  enterReadOnly(): void {
    this.localSessions = new Set();
    for (const id of this.sessions.keys()) this.expiry.remove(id);
  }

  /** The last zxid applied to the tree: what replies carry and what clients may have seen. */
  get zxid(): number {
    return this.tree.lastProcessedZxid;
  }

  // ---- sessions ----

  negotiateTimeout(requested: number): number {
    const { min, max } = sessionTimeoutBounds(this.config);
    return Math.min(Math.max(requested, min), max);
  }

  /** The handshake: a new session (through a createSession txn) or a re-attach with id and password. */
  connect(
    client: ClientHandle,
    req: { sessionId: bigint; passwd: Buffer | null; timeOut: number },
    done: (o: ConnectOutcome) => void,
    /** When the ConnectRequest arrived (elapsedMs): a new session's latency counts as ZooKeeper's does. */
    arrivedAt: number,
  ): void {
    if (this.failure) return client.close('server stopped after an internal error');
    const timeout = this.negotiateTimeout(req.timeOut);
    if (this.localSessions) return this.connectReadOnly(client, req, timeout, done, arrivedAt, this.localSessions);
    if (req.sessionId !== 0n) {
      const session = this.sessions.get(req.sessionId);
      const valid = session !== undefined && !session.closing && req.passwd !== null && sessionPassword(session.id).equals(req.passwd);
      if (!valid || !session) {
        done({ ok: false, sessionId: 0n, timeout: 0, passwd: Buffer.alloc(16) });
        return;
      }
      const attach = () => {
        if (session.client && session.client !== client) session.client.close('session moved to a new connection');
        session.client = client;
        this.expiry.touch(session.id, session.timeout, this.now());
        done({ ok: true, sessionId: session.id, timeout, passwd: sessionPassword(session.id) });
      };
      if (this.replication?.role === 'follower') {
        this.replication.revalidate(session.id, session.timeout, (ok) => (ok ? attach() : done({ ok: false, sessionId: 0n, timeout: 0, passwd: Buffer.alloc(16) })));
        return;
      }
      if (this.replication?.role === 'leader') this.owners.set(session.id, this.config.myid ?? 0);
      attach();
      return;
    }
    const id = this.nextSessionId;
    this.nextSessionId = BigInt.asIntN(64, this.nextSessionId + 1n);
    const session: Session = { id, timeout, client, closing: false };
    this.sessions.set(id, session);
    this.outstandingRequests++;
    const created = () => {
      this.outstandingRequests--;
      done({ ok: true, sessionId: id, timeout, passwd: sessionPassword(id) });
      this.answered(client, 0, arrivedAt, true);
    };
    if (this.replication?.role === 'follower') {
      // The leader creates it (createSession txn); the handshake is answered when that commits here.
      this.awaiting.set(awaitKey(id, 0), created);
      this.replication.forward({ sessionId: id, cxid: 0, type: OpCode.createSession, body: intBytes(timeout), ids: client.ids });
      return;
    }
    if (this.replication?.role === 'leader') this.owners.set(id, this.config.myid ?? 0);
    this.createSession(id, timeout, created);
  }

  /** The handshake in read-only mode: a local session, or a re-attach to any session this server knows. */
  private connectReadOnly(
    client: ClientHandle,
    req: { sessionId: bigint; passwd: Buffer | null },
    timeout: number,
    done: (o: ConnectOutcome) => void,
    arrivedAt: number,
    local: Set<bigint>,
  ): void {
    if (req.sessionId !== 0n) {
      const session = this.sessions.get(req.sessionId);
      if (!session || session.closing || req.passwd === null || !sessionPassword(session.id).equals(req.passwd)) {
        done({ ok: false, sessionId: 0n, timeout: 0, passwd: Buffer.alloc(16) });
        return;
      }
      if (session.client && session.client !== client) session.client.close('session moved to a new connection');
      session.client = client;
      if (local.has(session.id)) this.expiry.touch(session.id, session.timeout, this.now());
      done({ ok: true, sessionId: session.id, timeout, passwd: sessionPassword(session.id) });
      return;
    }
    const id = this.nextSessionId;
    this.nextSessionId = BigInt.asIntN(64, this.nextSessionId + 1n);
    this.sessions.set(id, { id, timeout, client, closing: false });
    local.add(id);
    this.expiry.touch(id, timeout, this.now());
    done({ ok: true, sessionId: id, timeout, passwd: sessionPassword(id) });
    this.answered(client, 0, arrivedAt, false);
  }

  /** Read-only mode: a local session ends without a txn (it was never logged). */
  private dropLocalSession(id: bigint, reason: string): void {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    this.localSessions?.delete(id);
    this.expiry.remove(id);
    s?.client?.close(reason);
  }

  /** Prepares and logs a createSession txn; the session expires unless touched within `timeout`. */
  private createSession(id: bigint, timeout: number, done: () => void): void {
    this.expiry.touch(id, timeout, this.now());
    const { zxid } = this.prepare(id, [], () => ({ type: OpCode.createSession, txn: { timeOut: timeout } }));
    this.submit(id, 0, zxid, { type: OpCode.createSession, txn: { timeOut: timeout } }, done);
  }

  /** A session's ephemerals in ZooKeeper's (hash) order, so that deletions fire watches in its order. */
  private ephemeralsInOrder(sessionId: bigint): string[] {
    return ephemeralsInZooKeeperOrder([...this.tree.ephemeralsOf(sessionId)], this.tree.ephemeralTableSizeOf(sessionId));
  }

  touchSession(sessionId: bigint): void {
    const s = this.sessions.get(sessionId);
    if (!s || s.closing) return;
    if (this.localSessions && !this.localSessions.has(sessionId)) return;
    // Only the leader (or a standalone server) expires sessions; a follower reports its touches.
    if (this.replication?.role === 'follower') this.replication.touched(sessionId, s.timeout);
    else this.expiry.touch(sessionId, s.timeout, this.now());
  }

  /** A connection went away without closing its session: the session lives on until it expires. */
  disconnected(client: ClientHandle): void {
    this.tree.removeWatcher(client);
    const s = this.sessions.get(client.sessionId);
    if (s && s.client === client) s.client = undefined;
  }

  /** Called every tick by the runtime: expires sessions whose deadline passed. */
  tick(): void {
    if (this.replication?.role === 'follower') return;
    for (const id of this.expiry.expire(this.now())) {
      const s = this.sessions.get(id);
      if (!s || s.closing) continue;
      this.log.info({ session: hex(id) }, 'session expired');
      if (this.localSessions) {
        this.dropLocalSession(id, 'session expired');
        continue;
      }
      this.closeSession(s, undefined);
    }
  }

  msUntilNextTick(): number {
    return this.expiry.msUntilNextCheck(this.now());
  }

  private closeSession(session: Session, reply: ((zxid: number) => void) | undefined, cxid = 0): void {
    session.closing = true;
    this.expiry.remove(session.id);
    const client = session.client;
    if (this.replication?.role === 'follower') {
      this.awaiting.set(awaitKey(session.id, cxid), (_r, zxid) => {
        if (reply) reply(zxid);
        client?.close('client closed the session');
      });
      this.replication.forward({ sessionId: session.id, cxid, type: OpCode.closeSession, body: Buffer.alloc(0), ids: client?.ids ?? [] });
      return;
    }
    const committed = [...this.tree.ephemeralsOf(session.id)];
    const tableSize = this.tree.ephemeralTableSizeOf(session.id);
    const { zxid, body } = this.prepare(session.id, [], (ctx) => prepCloseSession(ctx, committed, tableSize));
    this.submit(session.id, cxid, zxid, body, (_r, zxid) => {
      this.sessions.delete(session.id);
      if (reply) reply(zxid);
      client?.close(reply ? 'client closed the session' : 'session expired');
    });
  }

  // ---- the write path ----

  /** prep is done by the caller; this logs the txn and commits it (apply, fire watches, then `done`). */
  /**
   * Prep's outcome goes to the log; once durable it is committed: applied to the tree, watches
   * fired, then `done` (the reply). prep must have run with `pending.zxid` set to `zxid`.
   */
  private submit(sessionId: bigint, cxid: number, zxid: number, body: TxnBody, done: (r: TxnResult, zxid: number) => void): void {
    if (this.failure) return; // nothing more goes to the log once a commit failed
    const txn: Txn = { sessionId, cxid, zxid, time: this.now(), body };
    this.txnLog.append(txn, () => this.commit(txn, done));
  }

  private commit(txn: Txn, done: (r: TxnResult, zxid: number) => void): void {
    if (this.failure) return;
    try {
      const events: WatchEvent[] = [];
      const result = this.tree.apply(txn, events);
      this.pending.prune(txn.zxid);
      for (const e of events) {
        const client = e.watcher as ClientHandle;
        if (mayRead(e.acl, client.ids)) client.sendEvent(e.type, KeeperState.SyncConnected, e.path);
      }
      done(result, txn.zxid);
    } catch (e) {
      this.fail(e as Error, txn);
    }
  }

  /**
   * A committed txn failed to apply, or its reply (or a read queued behind it) failed: the tree may
   * hold half of it and the client would wait forever. ZooKeeper's commit thread dies and the server
   * exits; this server stops answering anything and tells the runtime to do the same.
   */
  private fail(err: Error, txn: Txn): void {
    this.failure = err;
    this.log.error({ err, zxid: hex(BigInt(txn.zxid)), type: txn.body.type, session: hex(txn.sessionId) }, 'internal error committing a txn; stopping');
    this.onFatal(err);
  }

  /**
   * Follower: a txn the leader committed. Applied as any commit; a forwarded request of a client of
   * ours waiting for it is answered, and the session table follows createSession and closeSession.
   */
  applyCommitted(txn: Txn): void {
    const key = awaitKey(txn.sessionId, txn.cxid);
    const waiting = this.awaiting.get(key);
    if (waiting) this.awaiting.delete(key);
    this.commit(txn, (r, zxid) => {
      this.followSessionTxn(txn);
      waiting?.(r, zxid);
    });
  }

  /** Keeps the session table of a follower as the leader's: sessions made or ended elsewhere too. */
  private followSessionTxn(txn: Txn): void {
    if (txn.body.type === OpCode.createSession && !this.sessions.has(txn.sessionId)) {
      this.sessions.set(txn.sessionId, { id: txn.sessionId, timeout: txn.body.txn.timeOut, client: undefined, closing: false });
    } else if (txn.body.type === OpCode.closeSession) {
      const s = this.sessions.get(txn.sessionId);
      this.sessions.delete(txn.sessionId);
      if (s?.client && !s.closing) s.client.close('session expired');
    }
  }

  /**
   * Leader: a request a follower forwarded for one of its clients. Prepared and logged as ours, with
   * the client's ids; nobody is answered here (the follower answers when the txn commits there).
   * Whatever goes wrong becomes an error txn, so that the follower's client still gets its answer.
   */
  handleForwarded(req: ForwardedRequest, from: number): void {
    const session = this.sessions.get(req.sessionId);
    if (req.type === OpCode.createSession) {
      const timeout = req.body.length >= 4 ? req.body.readInt32BE(0) : this.config.tickTime * 2;
      if (!session) this.sessions.set(req.sessionId, { id: req.sessionId, timeout, client: undefined, closing: false });
      this.owners.set(req.sessionId, from);
      this.createSession(req.sessionId, timeout, () => {});
      return;
    }
    if (!session || session.closing) return this.errorTxn(req, ErrorCode.SESSIONEXPIRED);
    const owner = this.owners.get(req.sessionId);
    if (owner !== undefined && owner !== from) return this.errorTxn(req, ErrorCode.SESSIONMOVED);
    if (req.type === OpCode.closeSession) return this.closeSession(session, () => {}, req.cxid);
    if (!WRITE_TYPES.has(req.type)) return this.errorTxn(req, ErrorCode.UNIMPLEMENTED);
    try {
      this.handleRequest(new RemoteClient(req.sessionId, req.ids), req.cxid, req.type, new JuteReader(req.body), elapsedMs());
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      this.errorTxn(req, ErrorCode.MARSHALLINGERROR);
    }
  }

  private errorTxn(req: ForwardedRequest, err: number): void {
    const { zxid } = this.prepare(req.sessionId, req.ids, () => ({ type: OpCode.error, txn: { err } }));
    this.submit(req.sessionId, req.cxid, zxid, { type: OpCode.error, txn: { err } }, () => {});
  }

  /** Leader: a learner's client re-attached to a session: that learner owns it now, if it is alive. */
  revalidate(sessionId: bigint, from: number): boolean {
    const s = this.sessions.get(sessionId);
    if (!s || s.closing) return false;
    this.owners.set(sessionId, from);
    this.expiry.touch(sessionId, s.timeout, this.now());
    // A client of ours on that session is on the wrong server now.
    if (s.client) s.client.close('session moved to another server');
    s.client = undefined;
    return true;
  }

  /** Leader: proposals of a new epoch are numbered from epoch << 32. */
  startEpoch(epoch: number): void {
    this.lastPreparedZxid = Math.max(this.lastPreparedZxid, epoch * 2 ** 32);
  }

  /** Runs prep for a new zxid; a KeeperError becomes an error txn, which still takes its zxid (as in ZooKeeper). */
  private prepare(sessionId: bigint, ids: readonly records.Id[], prep: (ctx: PrepContext) => TxnBody): { zxid: number; body: TxnBody } {
    const zxid = ++this.lastPreparedZxid;
    this.pending.zxid = zxid;
    try {
      return { zxid, body: prep({ view: this.pending, sessionId, ids, extendedTypesEnabled: this.config.extendedTypesEnabled }) };
    } catch (e) {
      if (e instanceof KeeperError) return { zxid, body: { type: OpCode.error, txn: { err: e.code } } };
      // A bug in prep. ZooKeeper logs it and answers MARSHALLINGERROR through an error txn: the
      // zxid is spent, and a zxid missing from the log would stop recovery at the next start.
      this.log.error({ err: e, session: hex(sessionId) }, 'internal error preparing a request; answering MARSHALLINGERROR');
      return { zxid, body: { type: OpCode.error, txn: { err: ErrorCode.MARSHALLINGERROR } } };
    }
  }

  /** PrepRequestProcessor's reconfig case, in its order: the ACL of /zookeeper/config is checked last. */
  private prepReconfig(ctx: PrepContext, req: records.ReconfigRequest): TxnBody {
    if (!this.config.reconfigEnabled) throw new KeeperError(ErrorCode.RECONFIGDISABLED);
    // A standalone server (or one serving read-only) cannot reconfigure: ZooKeeper answers UNIMPLEMENTED.
    const prepare = this.replication?.prepareReconfig;
    if (!prepare) throw new KeeperError(ErrorCode.UNIMPLEMENTED);
    const data = prepare(req, ctx.view.zxid);
    const node = this.tree.getNode(CONFIG_PATH);
    if (node) checkAcl(this.tree.aclOf(node), Perms.WRITE, ctx.ids);
    return { type: OpCode.reconfig, txn: { path: CONFIG_PATH, data, version: -1 } };
  }

  /** Hands a write to prep and the log; it is answered when it commits (so not now: returns false). */
  private write(
    client: ClientHandle,
    xid: number,
    arrivedAt: number,
    prep: (ctx: PrepContext) => TxnBody,
    reply: (r: TxnResult, w: JuteWriter) => void,
  ): false {
    // A learner's forwarded request: its reads are ordered on that learner, none wait here (and a
    // WeakMap entry per forwarded write only made work for the garbage collector).
    const order = client instanceof RemoteClient ? undefined : this.orderOf(client);
    const barrier: WriteBarrier = { after: undefined };
    if (order) order.lastWrite = barrier;
    this.outstandingRequests++;
    const committed = (r: TxnResult, zxid: number) => {
      if (r.err === ErrorCode.SESSIONMOVED) {
        // ZooKeeper answers a moved session's request by closing that connection, not with an error.
        this.outstandingRequests--;
        client.close('session moved to another server');
        return;
      }
      this.outstandingRequests--;
      if (r.err !== 0 && r.type !== OpCode.multi) client.sendReply(xid, zxid, r.err);
      else client.sendReply(xid, zxid, 0, (w) => reply(r, w));
      this.answered(client, xid, arrivedAt, true);
      if (order?.lastWrite === barrier) order.lastWrite = undefined;
      this.runAfter(client, barrier);
    };
    const replication = this.replication;
    if (replication?.role === 'follower' && this.forwarding) {
      this.awaiting.set(awaitKey(client.sessionId, xid), committed);
      replication.forward({ sessionId: client.sessionId, cxid: xid, type: this.forwarding.type, body: this.forwarding.body, ids: client.ids });
      return false;
    }
    const { zxid, body } = this.prepare(client.sessionId, client.ids, prep);
    this.submit(client.sessionId, xid, zxid, body, committed);
    return false;
  }

  /** A request's reply is queued: its latency goes to srvr/mntr and to the connection's cons line. */
  private answered(client: ClientHandle, xid: number, arrivedAt: number, logged: boolean): void {
    const answeredAt = elapsedMs();
    this.stats.requestAnswered(answeredAt - arrivedAt, logged);
    client.answered(xid, arrivedAt, answeredAt);
  }

  private orderOf(client: ClientHandle): ClientOrder {
    let order = this.order.get(client);
    if (!order) this.order.set(client, (order = { lastWrite: undefined }));
    return order;
  }

  /**
   * Runs the reads that waited for a write, now committed; a malformed one closes the connection.
   * Any other error is a bug in answering them and, being inside the commit, fatal (see commit()).
   */
  private runAfter(client: ClientHandle, barrier: WriteBarrier): void {
    const runs = barrier.after;
    if (!runs) return;
    for (let i = 0; i < runs.length; i++) {
      try {
        runs[i]!();
      } catch (e) {
        if (!(e instanceof JuteError)) throw e;
        this.log.warn({ session: hex(client.sessionId), err: (e as Error).message }, 'bad request, closing connection');
        client.close('malformed request');
        // The reads left behind will never run: they are no longer outstanding.
        this.outstandingRequests -= runs.length - i - 1;
        return;
      }
    }
  }

  // ---- requests ----

  /**
   * Handles one request of an established session, in the client's order. Throws JuteError on a
   * malformed body. `arrivedAt` (elapsedMs) is when its frame was read: latencies count from there.
   */
  handleRequest(client: ClientHandle, xid: number, type: number, r: JuteReader, arrivedAt: number): void {
    if (this.failure) return client.close('server stopped after an internal error');
    this.touchSession(client.sessionId);
    // Counted until dispatch is done with it; a write (or closeSession) is counted again while in the log.
    this.outstandingRequests++;
    const lastWrite = WRITE_TYPES.has(type) ? undefined : this.order.get(client)?.lastWrite;
    if (lastWrite) {
      // Checked with the ids the connection had when the request arrived, as ZooKeeper's Request
      // keeps them: an addauth that arrives meanwhile is answered at once and must not apply to it.
      const ids = client.ids.slice();
      (lastWrite.after ??= []).push(() => this.dispatchCounted(client, xid, type, r, arrivedAt, ids));
    } else {
      this.dispatchCounted(client, xid, type, r, arrivedAt, client.ids);
    }
  }

  private dispatchCounted(client: ClientHandle, xid: number, type: number, r: JuteReader, arrivedAt: number, ids: readonly records.Id[]): void {
    try {
      this.dispatch(client, xid, type, r, arrivedAt, ids);
    } finally {
      this.outstandingRequests--;
    }
  }

  private dispatch(client: ClientHandle, xid: number, type: number, r: JuteReader, arrivedAt: number, ids: readonly records.Id[]): void {
    // A follower forwards a write's request as it came; it is still decoded here, so that a
    // malformed one closes the connection as on any server.
    this.forwarding = this.replication?.role === 'follower' && WRITE_TYPES.has(type) ? { type, body: Buffer.from(r.buf.subarray(r.offset, r.end)) } : undefined;
    try {
      if (this.answer(client, xid, type, r, arrivedAt, ids)) this.answered(client, xid, arrivedAt, false);
    } finally {
      this.forwarding = undefined;
    }
  }

  /** Answers a request; true if its reply is queued now, false if it comes later (a write) or never. */
  private answer(client: ClientHandle, xid: number, type: number, r: JuteReader, arrivedAt: number, ids: readonly records.Id[]): boolean {
    const session = this.sessions.get(client.sessionId);
    if (!session || session.closing) {
      if (type === OpCode.ping) return false;
      client.sendReply(xid, this.zxid, ErrorCode.SESSIONEXPIRED);
      return true;
    }
    if (this.localSessions && (WRITE_TYPES.has(type) || type === OpCode.sync)) return this.refuseReadOnly(client, xid, type, this.localSessions);
    switch (type) {
      case OpCode.ping:
        client.sendReply(Xid.ping, this.zxid, 0);
        return true;
      case OpCode.closeSession:
        this.outstandingRequests++;
        this.closeSession(
          session,
          (zxid) => {
            this.outstandingRequests--;
            client.sendReply(xid, zxid, 0);
            this.answered(client, xid, arrivedAt, true);
          },
          xid,
        );
        return false;
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer: {
        const req = records.CreateRequest.read(r);
        const args = { path: req.path, data: req.data, acl: req.acl, flags: req.flags, ttl: -1 };
        return this.write(client, xid, arrivedAt, (ctx) => prepCreate(ctx, type, args), (res, w) => writeCreateResponse(type, res, w));
      }
      case OpCode.createTTL: {
        const req = records.CreateTTLRequest.read(r);
        return this.write(client, xid, arrivedAt, (ctx) => prepCreate(ctx, type, req), (res, w) => writeCreateResponse(type, res, w));
      }
      case OpCode.delete: {
        const req = records.DeleteRequest.read(r);
        return this.write(client, xid, arrivedAt, (ctx) => prepDelete(ctx, type, req), () => {});
      }
      case OpCode.setData: {
        const req = records.SetDataRequest.read(r);
        return this.write(client, xid, arrivedAt, (ctx) => prepSetData(ctx, req), (res, w) => records.Stat.write(w, res.stat!));
      }
      case OpCode.setACL: {
        const req = records.SetACLRequest.read(r);
        return this.write(client, xid, arrivedAt, (ctx) => prepSetAcl(ctx, req), (res, w) => records.Stat.write(w, res.stat!));
      }
      case OpCode.check: {
        const req = records.CheckVersionRequest.read(r);
        return this.write(client, xid, arrivedAt, (ctx) => prepCheck(ctx, req), () => {});
      }
      case OpCode.multi: {
        const ops = readMultiRequest(r);
        return this.write(client, xid, arrivedAt, (ctx) => prepMulti(ctx, ops), (res, w) => writeMultiResponse(w, (res.multi ?? []).map(toMultiResult)));
      }
      case OpCode.reconfig: {
        const req = records.ReconfigRequest.read(r);
        // Answered as ZooKeeper's FinalRequestProcessor answers it: the config now active, and the node's stat.
        return this.write(client, xid, arrivedAt, (ctx) => this.prepReconfig(ctx, req), (res, w) =>
          records.GetDataResponse.write(w, { data: this.tree.getNode(CONFIG_PATH)?.data ?? null, stat: res.stat! }),
        );
      }
      case OpCode.sync: {
        const { path } = records.SyncRequest.read(r);
        if (!this.replication) {
          client.sendReply(xid, this.zxid, 0, (w) => w.ustring(path));
          return true;
        }
        // In an ensemble: answered once this server has what the leader had proposed when asked.
        this.outstandingRequests++;
        this.replication.sync(() => {
          this.outstandingRequests--;
          client.sendReply(xid, this.zxid, 0, (w) => w.ustring(path));
          this.answered(client, xid, arrivedAt, true);
        });
        return false;
      }
      case OpCode.multiRead: {
        const ops = readMultiRequest(r);
        const results: MultiResult[] = ops.map((op) => {
          try {
            if (op.type === OpCode.getData) {
              // ZooKeeper rebuilds the ops without their watch flag: multiRead never leaves watches.
              const node = this.readableNode(ids, op.req.path);
              return { type: OpCode.getData, data: node.data, stat: node.stat() };
            }
            if (op.type === OpCode.getChildren) {
              const node = this.readableNode(ids, op.req.path);
              return { type: OpCode.getChildren, children: [...node.children] };
            }
            throw new KeeperError(ErrorCode.BADARGUMENTS);
          } catch (e) {
            if (!(e instanceof KeeperError)) throw e;
            return { type: OpCode.error, err: e.code };
          }
        });
        client.sendReply(xid, this.zxid, 0, (w) => writeMultiResponse(w, results));
        return true;
      }
      default:
        this.read(client, xid, type, r, ids);
        return true;
    }
  }

  /** The node at `path` if the client may read it; NONODE or NOAUTH otherwise. */
  private readableNode(ids: readonly records.Id[], path: string, perm: number = Perms.READ) {
    const node = this.tree.getNode(path);
    if (!node) throw new KeeperError(ErrorCode.NONODE);
    checkAcl(this.tree.aclOf(node), perm, ids);
    return node;
  }

  private read(client: ClientHandle, xid: number, type: number, r: JuteReader, ids: readonly records.Id[]): void {
    const zxid = this.zxid;
    try {
      switch (type) {
        case OpCode.exists: {
          const req = records.ExistsRequest.read(r);
          if (req.path.includes('\u0000')) throw new KeeperError(ErrorCode.BADARGUMENTS);
          const node = this.tree.exists(req.path, req.watch ? client : undefined);
          if (!node) throw new KeeperError(ErrorCode.NONODE);
          return client.sendReply(xid, zxid, 0, (w) => records.Stat.write(w, node.stat()));
        }
        case OpCode.getData: {
          const req = records.GetDataRequest.read(r);
          const node = this.readableNode(ids, req.path);
          if (req.watch) this.tree.watchData(req.path, client);
          const stat = node.stat();
          // The reply is encoded at once (values in the arena are far below sendDataReply's zero-copy size).
          return client.sendDataReply(xid, zxid, node.dataView(), (w) => records.Stat.write(w, stat));
        }
        case OpCode.getACL: {
          const { path } = records.GetACLRequest.read(r);
          const node = this.readableNode(ids, path, Perms.READ | Perms.ADMIN);
          let acl = this.tree.aclOf(node);
          try {
            checkAcl(acl, Perms.ADMIN, ids);
          } catch {
            acl = maskDigests(acl);
          }
          return client.sendReply(xid, zxid, 0, (w) => records.GetACLResponse.write(w, { acl, stat: node.stat() }));
        }
        case OpCode.getChildren:
        case OpCode.getChildren2: {
          const req = records.GetChildrenRequest.read(r);
          const node = this.readableNode(ids, req.path);
          if (req.watch) this.tree.watchChildren(req.path, client);
          return client.sendReply(xid, zxid, 0, (w) => {
            const names = node.children;
            w.int(names.length);
            for (const c of names) w.ustring(c);
            if (type === OpCode.getChildren2) records.Stat.write(w, node.stat());
          });
        }
        case OpCode.getAllChildrenNumber: {
          const { path } = records.GetAllChildrenNumberRequest.read(r);
          this.readableNode(ids, path);
          const n = this.tree.countDescendants(path);
          return client.sendReply(xid, zxid, 0, (w) => w.int(n));
        }
        case OpCode.getEphemerals: {
          const { prefixPath } = records.GetEphemeralsRequest.read(r);
          const all = this.ephemeralsInOrder(client.sessionId);
          const prefix = prefixPath.trim();
          const list = prefix === '' || prefix === '/' ? all : all.filter((p) => p.startsWith(prefixPath));
          return client.sendReply(xid, zxid, 0, (w) => records.GetEphemeralsResponse.write(w, { ephemerals: list }));
        }
        case OpCode.setWatches:
        case OpCode.setWatches2: {
          const req =
            type === OpCode.setWatches
              ? { ...records.SetWatches.read(r), persistentWatches: [], persistentRecursiveWatches: [] }
              : records.SetWatches2.read(r);
          this.setWatches(client, req);
          return client.sendReply(xid, zxid, 0);
        }
        case OpCode.addWatch: {
          const req = records.AddWatchRequest.read(r);
          const mode = WATCH_MODES[req.mode as 0 | 1];
          if (mode === undefined) throw new KeeperError(ErrorCode.BADARGUMENTS);
          this.tree.addWatch(req.path, client, mode);
          return client.sendReply(xid, zxid, 0, (w) => w.int(0));
        }
        case OpCode.checkWatches:
        case OpCode.removeWatches: {
          const req = records.RemoveWatchesRequest.read(r);
          const found = type === OpCode.checkWatches ? this.hasWatch(req.path, req.type) : this.removeWatch(client, req.path, req.type);
          if (!found) throw new KeeperError(ErrorCode.NOWATCHER);
          return client.sendReply(xid, zxid, 0);
        }
        case OpCode.whoAmI:
          return client.sendReply(xid, zxid, 0, (w) =>
            records.WhoAmIResponse.write(w, { clientInfo: inZooKeeperAuthOrder(ids).map((id) => ({ authScheme: id.scheme, user: userName(id) })) }),
          );
        default:
          this.log.warn({ type, session: hex(client.sessionId) }, 'unknown request type');
          client.sendReply(xid, zxid, ErrorCode.UNIMPLEMENTED);
          client.close(`unknown request type ${type}`);
          return;
      }
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      client.sendReply(xid, zxid, e.code);
    }
  }

  /** Re-registers a reconnecting client's watches, firing at once those whose change it missed. */
  private setWatches(client: ClientHandle, req: records.SetWatches2): void {
    const fire = (type: number, path: string) => client.sendEvent(type, KeeperState.SyncConnected, path);
    for (const path of req.dataWatches) {
      const node = this.tree.getNode(path);
      if (!node) fire(EventType.NodeDeleted, path);
      else if (node.mzxid > req.relativeZxid) fire(EventType.NodeDataChanged, path);
      else this.tree.dataWatches.add(path, client);
    }
    for (const path of req.existWatches) {
      if (this.tree.getNode(path)) fire(EventType.NodeCreated, path);
      else this.tree.dataWatches.add(path, client);
    }
    for (const path of req.childWatches) {
      const node = this.tree.getNode(path);
      if (!node) fire(EventType.NodeDeleted, path);
      else if (node.pzxid > req.relativeZxid) fire(EventType.NodeChildrenChanged, path);
      else this.tree.childWatches.add(path, client);
    }
    for (const path of req.persistentWatches) this.tree.addWatch(path, client, WatchMode.PERSISTENT);
    for (const path of req.persistentRecursiveWatches) this.tree.addWatch(path, client, WatchMode.PERSISTENT_RECURSIVE);
  }

  /** WatcherType 1 (children), 2 (data), 3 (any); 3.8 cannot decode the others (MARSHALLINGERROR). */
  private hasWatch(path: string, type: number): boolean {
    const { dataWatches, childWatches } = this.tree;
    switch (type) {
      case WatcherType.Children:
        return childWatches.containsAny(path);
      case WatcherType.Data:
        return dataWatches.containsAny(path);
      case WatcherType.Any:
        return childWatches.containsAny(path) || dataWatches.containsAny(path);
      default:
        throw new KeeperError(ErrorCode.MARSHALLINGERROR);
    }
  }

  private removeWatch(client: ClientHandle, path: string, type: number): boolean {
    const { dataWatches, childWatches } = this.tree;
    switch (type) {
      case WatcherType.Children:
        return childWatches.remove(path, client);
      case WatcherType.Data:
        return dataWatches.remove(path, client);
      case WatcherType.Any: {
        const c = childWatches.remove(path, client);
        const d = dataWatches.remove(path, client);
        return c || d;
      }
      default:
        throw new KeeperError(ErrorCode.MARSHALLINGERROR);
    }
  }

  /**
   * Read-only mode (ZooKeeper's ReadOnlyRequestProcessor): what would change the state, sync
   * included, is answered NOTREADONLY. A local session's close ends it here; a global one's close
   * is refused as ZooKeeper refuses it (the session stays for the quorum to expire).
   */
  private refuseReadOnly(client: ClientHandle, xid: number, type: number, local: Set<bigint>): true {
    if (type === OpCode.closeSession && local.has(client.sessionId)) {
      client.sendReply(xid, this.zxid, 0);
      this.dropLocalSession(client.sessionId, 'client closed the session');
      return true;
    }
    client.sendReply(xid, this.zxid, ErrorCode.NOTREADONLY);
    return true;
  }

  // ---- container and TTL cleanup (ZooKeeper's ContainerManager) ----

  /** Deletes empty containers that once had children and expired TTL nodes, via deleteContainer txns. */
  checkContainers(): void {
    // Only the leader (or a standalone server) deletes them, as ZooKeeper's ContainerManager runs on the leader.
    if (this.replication?.role === 'follower' || this.localSessions) return;
    const now = this.now();
    const candidates: string[] = [];
    for (const path of this.tree.containers) {
      const node = this.tree.getNode(path);
      if (node && node.childCount === 0 && node.cversion > 0) candidates.push(path);
    }
    for (const path of this.tree.ttls) {
      const node = this.tree.getNode(path);
      if (!node || node.childCount > 0) continue;
      const ttl = Number(node.ephemeralOwner & 0xffffffffffn);
      if (ttl !== 0 && now - node.mtime > ttl) candidates.push(path);
    }
    for (const path of candidates) {
      // A candidate that changed meanwhile (a child arrived) fails prep and becomes a harmless error txn.
      const { zxid, body } = this.prepare(0n, [], (ctx) => prepDelete(ctx, OpCode.deleteContainer, { path, version: -1 }));
      this.submit(0n, 0, zxid, body, () => {});
    }
  }
}

/** An event goes only to a watcher that may READ the znode (ZooKeeper 3.8.4, CVE-2024-23944). */
function mayRead(acl: readonly records.ACL[], ids: readonly records.Id[]): boolean {
  try {
    checkAcl(acl, Perms.READ, ids);
    return true;
  } catch {
    return false;
  }
}

function writeCreateResponse(type: number, res: TxnResult, w: JuteWriter): void {
  w.ustring(res.path!);
  if (type !== OpCode.create) records.Stat.write(w, res.stat!);
}

/** A multi's per-op result as the client sees it (FinalRequestProcessor's OpResult mapping). */
function toMultiResult(r: TxnResult): MultiResult {
  switch (r.type) {
    case OpCode.create:
      return { type: OpCode.create, path: r.path! };
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
      return { type: OpCode.create2, path: r.path!, stat: r.stat! };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type: OpCode.delete };
    case OpCode.check:
      return { type: OpCode.check };
    case OpCode.setData:
      return { type: OpCode.setData, stat: r.stat! };
    default:
      return { type: OpCode.error, err: r.err };
  }
}

/** The user an id stands for, as ZooKeeper's providers name it (digest: the part before the colon). */
function userName(id: records.Id): string {
  switch (id.scheme) {
    case 'digest':
      return id.id.split(':')[0] ?? '';
    case 'ip':
    case 'sasl':
    case 'x509':
      return id.id;
    default:
      return '';
  }
}

function awaitKey(sessionId: bigint, cxid: number): string {
  return `${sessionId}:${cxid}`;
}

function intBytes(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}

/**
 * The leader's stand-in for a follower's client: requests run through the same prep as local ones,
 * with the client's ids; replies go nowhere (the follower answers its client at commit).
 */
class RemoteClient implements ClientHandle {
  readonly remoteAddress = '';
  readonly remotePort = 0;
  constructor(
    readonly sessionId: bigint,
    readonly ids: records.Id[],
  ) {}
  sendReply(): void {}
  sendDataReply(): void {}
  sendEvent(): void {}
  answered(): void {}
  close(): void {}
}

export function hex(id: bigint): string {
  return '0x' + BigInt.asUintN(64, id).toString(16);
}
