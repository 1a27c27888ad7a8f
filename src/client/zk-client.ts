/**
 * A small promise-based ZooKeeper client over our own Jute codec. One TCP connection, one session:
 * the handshake (ConnectRequest with the readOnly byte), pings at a third of the negotiated timeout,
 * any number of outstanding requests (the server answers a connection's requests in the order sent,
 * so replies are matched to a FIFO queue and their xids checked), and watch events handed to
 * listeners in wire order. No reconnects and no watch bookkeeping: a lost connection fails every
 * outstanding request with CONNECTIONLOSS and ends the client; a new client may re-attach the same
 * session (options `session` and `lastZxidSeen`). Tests, the benchmark tool and jepsen-lite use it.
 */
import { connect as netConnect, type Socket } from 'node:net';
import {
  ErrorCode,
  KeeperError,
  OpCode,
  Xid,
  CreateFlag,
  JuteReader,
  JuteWriter,
  readConnectResponse,
  readMultiResponse,
  records,
  writeConnectRequest,
  writeMultiRequest,
  type MultiOp,
  type MultiResult,
} from '../jute/index.js';

type ACL = records.ACL;
type Stat = records.Stat;

/** A world-readable, world-writable ACL (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
export const OPEN_ACL_UNSAFE: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
/** All permissions for the identities the session authenticated as (ZooDefs.Ids.CREATOR_ALL_ACL). */
export const CREATOR_ALL_ACL: ACL[] = [{ perms: 31, id: { scheme: 'auth', id: '' } }];
/** Read-only for everybody (ZooDefs.Ids.READ_ACL_UNSAFE). */
export const READ_ACL_UNSAFE: ACL[] = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];

export interface ZkClientOptions {
  host?: string;
  port: number;
  /** Requested session timeout in ms (the server may negotiate it into its bounds). Default 10000. */
  timeout?: number;
  /** Sent as the handshake's readOnly byte. Default false. */
  readOnly?: boolean;
  /** Give up on the TCP connect + handshake after this many ms. Default 10000. */
  connectTimeout?: number;
  /** Record every received frame (replies and events) in `trace`, in wire order. Default false. */
  trace?: boolean;
  /**
   * Re-attach an existing session (its id and password, as a previous client's sessionId and
   * sessionPasswd) instead of opening a new one, e.g. on another server after a connection loss.
   */
  session?: { id: bigint; passwd: Buffer };
  /** The highest zxid this session has seen: a server that is behind it refuses the connection. Default 0. */
  lastZxidSeen?: number;
  /**
   * The local address to connect from (e.g. 127.0.0.2): one source address has only ~28,000
   * ephemeral ports towards one server, so many sessions spread over several loopback addresses.
   */
  localAddress?: string;
}

export interface WatchEvent {
  type: number;
  state: number;
  path: string;
  /** Position of this frame among all frames the client received (replies, events, pings, auth). */
  seq: number;
}

export interface RawReply {
  header: records.ReplyHeader;
  /** Positioned at the start of the body (empty when header.err is non-zero). */
  reader: JuteReader;
  /** Position of this frame among all frames received; compare with WatchEvent.seq. */
  seq: number;
}

/** One received frame, as `trace` records them when the trace option is on. */
export type TraceEntry =
  | { kind: 'reply'; seq: number; xid: number; type: number; err: number; zxid: number }
  | { kind: 'event'; seq: number; type: number; state: number; path: string };

export interface CreateResult {
  path: string;
  stat: Stat;
}

/** Called once with the reply (whatever its header's error), or with an error when the connection is lost. */
export type ReplyCallback = (err: Error | undefined, reply: RawReply | undefined) => void;

interface Pending {
  xid: number;
  type: number;
  cb: ReplyCallback;
}

/** Thrown for a reply whose header carries a non-zero error; `code` is KeeperException.Code's value. */
function keeperError(code: number, op: number, path?: string): KeeperError {
  const e = new KeeperError(code as ErrorCode);
  e.message = `${e.message} (op ${op}${path !== undefined ? ` ${path}` : ''})`;
  return e;
}

export class ZkClient {
  sessionId = 0n;
  sessionPasswd: Buffer = Buffer.alloc(16);
  /** The negotiated session timeout. */
  timeout = 0;
  /** The highest zxid seen in a reply header. */
  lastZxid = 0;
  /** Whether the server answered the handshake's readOnly byte with true. */
  readOnly = false;
  readonly trace: TraceEntry[] | undefined;

  private socket!: Socket;
  private nextXid = 1;
  private readonly pending: Pending[] = [];
  private readonly authWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly listeners: ((e: WatchEvent) => void)[] = [];
  private readonly closeListeners: ((reason: string) => void)[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private seq = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private sentSinceLastPing = false;
  /** Frames of this event-loop turn, written with one socket.write (see send()). */
  private out = new JuteWriter(1024);
  private flushScheduled = false;
  private readonly flushNow = () => this.flush();
  private closed = false;
  private closeReason = '';

  private constructor(opts: ZkClientOptions) {
    this.trace = opts.trace ? [] : undefined;
  }

  /** Opens a connection and a new session (or re-attaches `opts.session`). */
  static async connect(opts: ZkClientOptions): Promise<ZkClient> {
    const c = new ZkClient(opts);
    await c.open(opts);
    return c;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Listens to watch events (and state notifications the server sends with xid -1). */
  onEvent(cb: (e: WatchEvent) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  /** Called once, when the connection ends (by close() or otherwise). */
  onClose(cb: (reason: string) => void): void {
    if (this.closed) cb(this.closeReason);
    else this.closeListeners.push(cb);
  }

  // ---- connection ----

  private open(opts: ZkClientOptions): Promise<void> {
    const host = opts.host ?? '127.0.0.1';
    const requested = opts.timeout ?? 10_000;
    return new Promise<void>((resolve, reject) => {
      const sock = netConnect({ host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      this.socket = sock;
      sock.setNoDelay(true);
      let handshaken = false;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new KeeperError(ErrorCode.CONNECTIONLOSS, `no handshake with ${host}:${opts.port} within ${opts.connectTimeout ?? 10_000} ms`));
      }, opts.connectTimeout ?? 10_000);
      sock.once('connect', () => {
        const w = new JuteWriter(64);
        const start = w.startFrame();
        writeConnectRequest(w, {
          protocolVersion: 0,
          lastZxidSeen: opts.lastZxidSeen ?? 0,
          timeOut: requested,
          sessionId: opts.session?.id ?? 0n,
          passwd: opts.session?.passwd ?? Buffer.alloc(16),
          readOnly: opts.readOnly ?? false,
        });
        w.finishFrame(start);
        sock.write(w.bytes());
      });
      sock.on('data', (chunk: Buffer) => {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        if (!handshaken) {
          const frame = this.nextFrame();
          if (!frame) return;
          handshaken = true;
          clearTimeout(timer);
          const res = readConnectResponse(new JuteReader(frame));
          if (res.timeOut <= 0) {
            this.shutdown('session expired at handshake');
            reject(new KeeperError(ErrorCode.SESSIONEXPIRED));
            return;
          }
          this.sessionId = res.sessionId;
          this.sessionPasswd = res.passwd ?? Buffer.alloc(16);
          this.timeout = res.timeOut;
          this.readOnly = res.readOnly === true;
          this.startPings();
          resolve();
        }
        try {
          this.drain();
        } catch (e) {
          this.shutdown(`bad frame from server: ${(e as Error).message}`);
        }
      });
      sock.on('error', (err) => {
        if (!handshaken) {
          clearTimeout(timer);
          reject(new KeeperError(ErrorCode.CONNECTIONLOSS, err.message));
        }
        this.shutdown(err.message);
      });
      sock.on('close', () => {
        if (!handshaken) {
          clearTimeout(timer);
          reject(new KeeperError(ErrorCode.CONNECTIONLOSS, 'connection closed during the handshake'));
        }
        this.shutdown('connection closed by the server');
      });
    });
  }

  private startPings(): void {
    const interval = Math.max(1, Math.floor(this.timeout / 3));
    this.pingTimer = setInterval(() => {
      if (!this.sentSinceLastPing) this.send(Xid.ping, OpCode.ping);
      this.sentSinceLastPing = false;
    }, interval);
    this.pingTimer.unref();
  }

  /** Takes one complete frame from the buffered bytes, or undefined. */
  private nextFrame(): Buffer | undefined {
    if (this.buffered < 4) return undefined;
    if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
    const len = this.chunks[0]!.readInt32BE(0);
    if (len < 0) throw new Error(`negative frame length ${len}`);
    if (this.buffered < 4 + len) return undefined;
    let head = this.chunks[0]!;
    if (head.length < 4 + len) {
      head = Buffer.concat(this.chunks);
      this.chunks = [head];
    }
    const frame = head.subarray(4, 4 + len);
    if (head.length === 4 + len) this.chunks.shift();
    else this.chunks[0] = head.subarray(4 + len);
    this.buffered -= 4 + len;
    return frame;
  }

  private drain(): void {
    for (let frame = this.nextFrame(); frame; frame = this.nextFrame()) {
      const r = new JuteReader(frame);
      // records.ReplyHeader, read by hand: this runs once per reply.
      const header: records.ReplyHeader = { xid: r.int(), zxid: r.longNumber(), err: r.int() };
      const seq = ++this.seq;
      if (header.zxid > this.lastZxid) this.lastZxid = header.zxid;
      switch (header.xid) {
        case Xid.notification: {
          const ev = records.WatcherEvent.read(r);
          const event: WatchEvent = { type: ev.type, state: ev.state, path: ev.path, seq };
          this.trace?.push({ kind: 'event', seq, type: ev.type, state: ev.state, path: ev.path });
          for (const l of this.listeners.slice()) l(event);
          continue;
        }
        case Xid.ping:
          continue;
        case Xid.auth: {
          this.trace?.push({ kind: 'reply', seq, xid: header.xid, type: OpCode.auth, err: header.err, zxid: header.zxid });
          const w = this.authWaiters.shift();
          if (header.err === 0) w?.resolve();
          else w?.reject(keeperError(header.err, OpCode.auth));
          continue;
        }
      }
      // Checked before it leaves the queue: on a mismatch, shutdown() fails it with the others.
      const p = this.pending[0];
      if (!p) throw new Error(`reply with xid ${header.xid} but no request outstanding`);
      if (p.xid !== header.xid) {
        throw new Error(`reply xid ${header.xid} does not match the oldest outstanding request (xid ${p.xid})`);
      }
      this.pending.shift();
      this.trace?.push({ kind: 'reply', seq, xid: header.xid, type: p.type, err: header.err, zxid: header.zxid });
      p.cb(undefined, { header, reader: r, seq });
    }
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.pingTimer) clearInterval(this.pingTimer);
    // What was sent in this turn still goes out (a request just before disconnect(), as with one write each).
    if (this.out.offset > 0 && !this.socket.destroyed && this.socket.writable) this.flush();
    this.socket.destroy();
    const err = () => new KeeperError(ErrorCode.CONNECTIONLOSS, `connection lost: ${reason}`);
    for (const p of this.pending.splice(0)) p.cb(err(), undefined);
    for (const a of this.authWaiters.splice(0)) a.reject(err());
    for (const l of this.closeListeners.splice(0)) l(reason);
  }

  /**
   * Appends one frame to this turn's output; every frame of one event-loop turn (including the
   * promise continuations run after a batch of replies) goes out in one socket.write on nextTick.
   */
  private send(xid: number, type: number, body?: (w: JuteWriter) => void): void {
    const w = this.out;
    const start = w.startFrame();
    w.int(xid);
    w.int(type);
    body?.(w);
    w.finishFrame(start);
    this.sentSinceLastPing = true;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushNow);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.offset === 0 || this.socket.destroyed) return;
    const bytes = this.out.bytes();
    // The next turn's writer starts at about this turn's size (capped: a 1 MB value is not kept around).
    this.out = new JuteWriter(Math.min(Math.max(1024, bytes.length), 1 << 16));
    this.socket.write(bytes);
  }

  // ---- requests ----

  /**
   * Sends any request and resolves with its reply header and a reader over the body, whatever the
   * header's error (check header.err). Rejects only when the connection is lost.
   */
  request(type: number, writeBody?: (w: JuteWriter) => void): Promise<RawReply> {
    return new Promise<RawReply>((resolve, reject) => this.requestCallback(type, writeBody, (e, r) => (e ? reject(e) : resolve(r!))));
  }

  /**
   * request() without a promise, for load generators: `cb` gets the reply (check header.err) or the
   * connection-loss error. Replies arrive in the order requests were sent.
   */
  requestCallback(type: number, writeBody: ((w: JuteWriter) => void) | undefined, cb: ReplyCallback): void {
    if (this.closed) {
      const e = new KeeperError(ErrorCode.CONNECTIONLOSS, `client closed: ${this.closeReason}`);
      queueMicrotask(() => cb(e, undefined));
      return;
    }
    const xid = this.nextXid;
    this.nextXid = this.nextXid === 0x7fffffff ? 1 : this.nextXid + 1;
    this.pending.push({ xid, type, cb });
    this.send(xid, type, writeBody);
  }

  /** Requests sent and not yet answered. */
  get outstanding(): number {
    return this.pending.length;
  }

  /** A request whose non-zero error code rejects with KeeperError; resolves with the body's reader. */
  private async call(type: number, path: string | undefined, writeBody?: (w: JuteWriter) => void): Promise<JuteReader> {
    const { header, reader } = await this.request(type, writeBody);
    if (header.err !== 0) throw keeperError(header.err, type, path);
    return reader;
  }

  /**
   * Creates a node and returns its path (with the sequence suffix) and Stat. The opcode is the Java
   * client's: createContainer for CONTAINER, createTTL for the TTL modes, create2 otherwise.
   */
  async create(path: string, data: Buffer | null, acl: ACL[] = OPEN_ACL_UNSAFE, flags = 0, ttl?: number): Promise<CreateResult> {
    const isTtl = flags === CreateFlag.PERSISTENT_WITH_TTL || flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL;
    const type = flags === CreateFlag.CONTAINER ? OpCode.createContainer : isTtl ? OpCode.createTTL : OpCode.create2;
    const r = await this.call(type, path, (w) => {
      if (type === OpCode.createTTL) records.CreateTTLRequest.write(w, { path, data, acl, flags, ttl: ttl ?? -1 });
      else records.CreateRequest.write(w, { path, data, acl, flags });
    });
    return records.Create2Response.read(r);
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.call(OpCode.delete, path, (w) => records.DeleteRequest.write(w, { path, version }));
  }

  /** The node's Stat, or null when it does not exist (a watch, if asked, is then set on its creation). */
  async exists(path: string, watch = false): Promise<Stat | null> {
    const { header, reader } = await this.request(OpCode.exists, (w) => records.ExistsRequest.write(w, { path, watch }));
    if (header.err === ErrorCode.NONODE) return null;
    if (header.err !== 0) throw keeperError(header.err, OpCode.exists, path);
    return records.ExistsResponse.read(reader).stat;
  }

  async getData(path: string, watch = false): Promise<{ data: Buffer | null; stat: Stat }> {
    const r = await this.call(OpCode.getData, path, (w) => records.GetDataRequest.write(w, { path, watch }));
    return records.GetDataResponse.read(r);
  }

  async setData(path: string, data: Buffer | null, version = -1): Promise<Stat> {
    const r = await this.call(OpCode.setData, path, (w) => records.SetDataRequest.write(w, { path, data, version }));
    return records.SetDataResponse.read(r).stat;
  }

  async getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    const r = await this.call(OpCode.getACL, path, (w) => records.GetACLRequest.write(w, { path }));
    return records.GetACLResponse.read(r);
  }

  async setACL(path: string, acl: ACL[], version = -1): Promise<Stat> {
    const r = await this.call(OpCode.setACL, path, (w) => records.SetACLRequest.write(w, { path, acl, version }));
    return records.SetACLResponse.read(r).stat;
  }

  async getChildren(path: string, watch = false): Promise<string[]> {
    const r = await this.call(OpCode.getChildren, path, (w) => records.GetChildrenRequest.write(w, { path, watch }));
    return records.GetChildrenResponse.read(r).children;
  }

  async getChildren2(path: string, watch = false): Promise<{ children: string[]; stat: Stat }> {
    const r = await this.call(OpCode.getChildren2, path, (w) => records.GetChildren2Request.write(w, { path, watch }));
    return records.GetChildren2Response.read(r);
  }

  async getAllChildrenNumber(path: string): Promise<number> {
    const r = await this.call(OpCode.getAllChildrenNumber, path, (w) => records.GetAllChildrenNumberRequest.write(w, { path }));
    return records.GetAllChildrenNumberResponse.read(r).totalNumber;
  }

  /** This session's ephemeral nodes whose paths start with prefixPath ("/" for all). */
  async getEphemerals(prefixPath = '/'): Promise<string[]> {
    const r = await this.call(OpCode.getEphemerals, prefixPath, (w) => records.GetEphemeralsRequest.write(w, { prefixPath }));
    return records.GetEphemeralsResponse.read(r).ephemerals;
  }

  async sync(path = '/'): Promise<string> {
    const r = await this.call(OpCode.sync, path, (w) => records.SyncRequest.write(w, { path }));
    return records.SyncResponse.read(r).path;
  }

  /**
   * Runs a transaction. Resolves with one result per op; when an op fails the whole multi fails and
   * every result is an error entry (type -1), the failing op's with its code and the others with
   * OK or RUNTIMEINCONSISTENCY, exactly as the server sent them. Rejects only if the reply header
   * itself carries an error.
   */
  async multi(ops: MultiOp[]): Promise<MultiResult[]> {
    const r = await this.call(OpCode.multi, undefined, (w) => writeMultiRequest(w, ops));
    return readMultiResponse(r);
  }

  /** A read-only transaction of getData / getChildren ops; each result is independent. */
  async multiRead(ops: MultiOp[]): Promise<MultiResult[]> {
    const r = await this.call(OpCode.multiRead, undefined, (w) => writeMultiRequest(w, ops));
    return readMultiResponse(r);
  }

  /**
   * Adds an identity to the connection (e.g. ("digest", "user:password")). Resolves when the server
   * accepts it; a failed authentication rejects with AUTHFAILED (and the server closes the connection).
   */
  addAuth(scheme: string, auth: Buffer | string): Promise<void> {
    if (this.closed) return Promise.reject(new KeeperError(ErrorCode.CONNECTIONLOSS, `client closed: ${this.closeReason}`));
    const bytes = typeof auth === 'string' ? Buffer.from(auth, 'utf8') : auth;
    return new Promise<void>((resolve, reject) => {
      this.authWaiters.push({ resolve, reject });
      this.send(Xid.auth, OpCode.auth, (w) => records.AuthPacket.write(w, { type: 0, scheme, auth: bytes }));
    });
  }

  /** A persistent (mode 0) or persistent recursive (mode 1) watch. */
  async addWatch(path: string, mode: number): Promise<void> {
    await this.call(OpCode.addWatch, path, (w) => records.AddWatchRequest.write(w, { path, mode }));
  }

  /** Rejects with NOWATCHER when the session has no watch of that type (WatcherType) on path. */
  async checkWatches(path: string, type: number): Promise<void> {
    await this.call(OpCode.checkWatches, path, (w) => records.CheckWatchesRequest.write(w, { path, type }));
  }

  async removeWatches(path: string, type: number): Promise<void> {
    await this.call(OpCode.removeWatches, path, (w) => records.RemoveWatchesRequest.write(w, { path, type }));
  }

  async whoAmI(): Promise<records.ClientInfo[]> {
    const r = await this.call(OpCode.whoAmI, undefined);
    return records.WhoAmIResponse.read(r).clientInfo;
  }

  /** Closes the session (closeSession, so its ephemerals go at once) and then the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.call(OpCode.closeSession, undefined);
    } catch (e) {
      // The server may drop the connection right after its reply; a session already gone is closed too.
      if (!(e instanceof KeeperError) || (e.code !== ErrorCode.CONNECTIONLOSS && e.code !== ErrorCode.SESSIONEXPIRED)) throw e;
    } finally {
      this.shutdown('closed by the client');
    }
  }

  /** Drops the connection without closing the session (it lives on until it expires). */
  disconnect(): void {
    this.shutdown('disconnected by the client');
  }
}
