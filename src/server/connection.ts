import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  ErrorCode,
  JuteError,
  JuteReader,
  JuteWriter,
  OpCode,
  Xid,
  readConnectRequest,
  records,
  writeConnectResponse,
} from '../jute/index.js';
import type { ClientHandle } from './client.js';
import { DEFAULT_UNREAD_OUTPUT_MARGIN } from './config.js';
import { FOUR_LETTER_CODES } from './four-letter.js';
import { elapsedMs } from './server-stats.js';
import { hex, type ZkServer } from './zk-server.js';

/** What the listener needs from a connection besides the ClientHandle side. */
export interface ConnectionHost {
  server: ZkServer;
  log: Logger;
  /** Answers a four-letter word; the connection writes the text and closes. */
  fourLetter(word: string, conn: Connection): string;
  onAuth(conn: Connection, xid: number, packet: records.AuthPacket): void;
  onSasl(conn: Connection, xid: number, token: Buffer | null): void;
  forget(conn: Connection): void;
}

type State = 'handshake' | 'connecting' | 'open' | 'closed';

/** getData values from this size on are written to the socket as they are, not copied into the output. */
const LARGE_DATA = 64 * 1024;

/**
 * No more requests are taken from a client while this much of its output is unsent: replies to its
 * own requests then never approach maxUnreadOutput, which only a storm of watch events can pass.
 */
const REPLY_BACKLOG = 1024 * 1024;

/**
 * The smallest output buffer a connection holds (it holds two: one filling, one being written).
 * An idle session only ever sends its handshake and ping replies (16-40 bytes); a busy one's next
 * buffer is sized at twice its last batch, and buffers are reused once written. 1 KiB each was a
 * fifth of an idle session's memory (docs/benchmarks.md, "Scale curves").
 */
const IDLE_OUTPUT_BYTES = 128;

/** A connection that has not completed its handshake this long after it was accepted is closed. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The Connection of a socket, for the socket's listeners: four functions shared by every socket
 * instead of four closures (and their context) per connection.
 */
const CONNECTION = Symbol('zkts.connection');
type OwnedSocket = Socket & { [CONNECTION]: Connection };

/**
 * One client TCP connection: 4-byte length framing, the handshake, then requests handed to the
 * server in arrival order. Replies queued during one event-loop turn go out in a single write.
 * Malformed input closes this connection only, with a log line.
 */
export class Connection implements ClientHandle {
  sessionId = 0n;
  readonly ids: records.Id[];
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly connectedAt = Date.now();
  lastZxid = 0;
  packetsReceived = 0;
  packetsSent = 0;
  /** The negotiated session timeout, once the session is established (cons's "to"). */
  sessionTimeout = 0;
  /** Per-connection request figures for cons (ZooKeeper's ServerCnxn): latencies in ms. */
  lastCxid = -1;
  lastResponseTime = 0;
  lastLatency = 0;
  minLatency = Infinity;
  maxLatency = 0;
  private latencyCount = 0;
  private latencyTotal = 0;
  /** Requests handed to the server and not answered yet (ZooKeeper's ServerCnxn.outstandingCount). */
  private outstanding = 0;
  /** Paused by globalOutstandingLimit until this connection's own requests are answered. */
  private throttled = false;
  /** Paused because too much output is unsent: the client is not reading its replies fast enough. */
  private writeBlocked = false;
  private drainScheduled = false;
  /** Bytes of the large values in `segments`, which `out` does not count. */
  private segmentBytes = 0;
  private readonly maxUnreadOutput: number;
  private state: State = 'handshake';
  private pending: Buffer[] = [];
  /** Bytes of pending[0] already taken: frames are cut from it without re-slicing what is left. */
  private headOffset = 0;
  private pendingBytes = 0;
  /**
   * This turn's output, made on first use (writer()) from the spare or at nextOutputBytes, and let
   * go by flush(): a busy connection holds two buffers, one filling and one being written (the
   * spare, once written); an idle one none (sweep() drops the spare).
   */
  private out: JuteWriter | undefined;
  private spare: JuteWriter | undefined;
  private nextOutputBytes = IDLE_OUTPUT_BYTES;
  /**
   * This turn's output before the last large value (sendDataReply): views of `out` and the values
   * themselves, in order; the rest is `out` from segmentStart on. Made on first use.
   */
  private segments: Buffer[] | undefined;
  private segmentStart = 0;
  /**
   * Idle time, kept for sweep() in place of a timer per connection: `active` is set by every read
   * and write, and the sweep turns it into `idleSince` (its own clock, elapsedMs), so that a busy
   * connection costs a store per event and no clock reading. Until the handshake, idleSince is
   * when the connection was accepted.
   */
  private active = false;
  private idleSince = elapsedMs();
  private flushScheduled = false;
  private clientSentReadOnly: boolean | undefined;

  constructor(private readonly socket: Socket, private readonly host: ConnectionHost, private readonly maxFrame: number) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    const config = host.server.config;
    this.maxUnreadOutput = config.maxUnreadOutputBytes ?? config.juteMaxBuffer + DEFAULT_UNREAD_OUTPUT_MARGIN;
    // Every connection is authenticated by its address, as ZooKeeper's IPAuthenticationProvider does.
    this.ids = [{ scheme: 'ip', id: this.remoteAddress }];
    socket.setNoDelay(true);
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on('data', Connection.onSocketData);
    socket.on('error', Connection.onSocketError);
    socket.on('close', Connection.onSocketClose);
    socket.on('drain', Connection.onSocketDrain);
  }

  private static onSocketData(this: OwnedSocket, chunk: Buffer): void {
    this[CONNECTION].onData(chunk);
  }

  private static onSocketError(this: OwnedSocket, err: Error): void {
    const conn = this[CONNECTION];
    conn.host.log.debug({ err: err.message, client: conn.describe() }, 'socket error');
  }

  private static onSocketClose(this: OwnedSocket): void {
    this[CONNECTION].onClosed();
  }

  private static onSocketDrain(this: OwnedSocket): void {
    const conn = this[CONNECTION];
    conn.writeBlocked = false;
    conn.updateReading();
  }

  /**
   * The host calls this about once a second for every connection (one timer for all of them: a
   * Node timer and its listener per connection were about 0.6 KB of an idle session). Closes a
   * connection still without a session HANDSHAKE_TIMEOUT_MS after it was accepted, and, as
   * ZooKeeper does, an open one that neither sent nor received anything for its session timeout.
   * A close comes at most two sweeps late, never early (ZooKeeper's own check is bucketed too).
   */
  sweep(now: number): void {
    if (this.state === 'handshake') {
      if (now - this.idleSince >= HANDSHAKE_TIMEOUT_MS) this.close('no handshake in time');
      return;
    }
    if (this.state !== 'open') return;
    if (this.active) {
      this.active = false;
      this.idleSince = now;
      return;
    }
    // Quiet for a whole sweep: the spare buffer goes (the next reply, a ping's, makes a small one).
    this.spare = undefined;
    if (now - this.idleSince >= this.sessionTimeout) this.close('no traffic within the session timeout');
  }

  /** The output buffer of this turn (see `out`). */
  private writer(): JuteWriter {
    let w = this.out;
    if (w === undefined) {
      w = this.spare ?? new JuteWriter(this.nextOutputBytes);
      this.spare = undefined;
      this.out = w;
    }
    return w;
  }

  describe(): string {
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get queuedBytes(): number {
    return this.out?.offset ?? 0;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.active = true;
    // A one-element array when nothing is pending: an array grown by push keeps room for 16.
    if (this.pending.length === 0) this.pending = [chunk];
    else this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // Every frame this chunk completes arrived now: one clock reading for all of them.
    const arrivedAt = elapsedMs();
    this.guarded(() => this.drainFrames(arrivedAt));
  }

  /** Runs request handling; malformed input closes this connection only, with a log line. */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (e) {
      if (e instanceof JuteError) {
        this.host.log.warn({ client: this.describe(), err: e.message }, 'malformed request, closing connection');
        this.close('malformed request');
        return;
      }
      this.host.log.error({ client: this.describe(), err: e }, 'internal error handling request, closing connection');
      this.close('internal error');
    }
  }

  /** The next `n` pending bytes: a view of the chunk they arrived in, or a copy when they span chunks. */
  private take(n: number): Buffer {
    const head = this.pending[0]!;
    const at = this.headOffset;
    if (head.length - at >= n) {
      this.consumed(head, n);
      return head.subarray(at, at + n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let filled = 0; filled < n; ) {
      const b = this.pending[0]!;
      const k = Math.min(b.length - this.headOffset, n - filled);
      b.copy(out, filled, this.headOffset, this.headOffset + k);
      filled += k;
      this.consumed(b, k);
    }
    return out;
  }

  /** Drops the next `n` pending bytes (a frame's length, once read). */
  private skip(n: number): void {
    while (n > 0) {
      const b = this.pending[0]!;
      const k = Math.min(b.length - this.headOffset, n);
      this.consumed(b, k);
      n -= k;
    }
  }

  /** `k` bytes of the head chunk `b` were taken; a chunk taken whole leaves the queue. */
  private consumed(b: Buffer, k: number): void {
    this.headOffset += k;
    this.pendingBytes -= k;
    if (this.headOffset === b.length) {
      this.pending.shift();
      this.headOffset = 0;
    }
  }

  /** The next pending frame's length (4 bytes, big-endian), left pending. */
  private peekInt(): number {
    const head = this.pending[0]!;
    if (head.length - this.headOffset >= 4) return head.readInt32BE(this.headOffset);
    let v = 0;
    let chunk = 0;
    let at = this.headOffset;
    for (let i = 0; i < 4; i++) {
      while (at === this.pending[chunk]!.length) {
        chunk++;
        at = 0;
      }
      v = v * 256 + this.pending[chunk]![at++]!;
    }
    return v | 0; // as a signed int: a negative length is refused
  }

  /**
   * Frames are taken from the socket only while none of these holds: the session is being created
   * (ZooKeeper reads nothing more until then), the global outstanding limit throttles this
   * connection, or the client does not read its replies. What is not taken stays in the socket.
   */
  private get reading(): boolean {
    return this.state !== 'connecting' && !this.throttled && !this.writeBlocked;
  }

  private updateReading(): void {
    if (this.state === 'closed') return;
    if (!this.reading) {
      this.socket.pause();
      return;
    }
    this.socket.resume();
    // Frames received before the pause wait in `pending`, and no new data may come to drain them.
    // Not now: this runs inside a reply, and a request must not start inside another's commit.
    if (this.pendingBytes >= 4 && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => {
        this.drainScheduled = false;
        // Frames held back arrived earlier; their latency counts from when they are taken.
        this.guarded(() => this.drainFrames(elapsedMs()));
      });
    }
  }

  private drainFrames(arrivedAt: number): void {
    while (this.state !== 'closed' && this.reading && this.pendingBytes >= 4) {
      const len = this.peekInt();
      if (this.state === 'handshake' && FOUR_LETTER_CODES.has(len)) {
        this.skip(4);
        // ZooKeeper counts a four-letter word as a packet received (its cons line shows recved=1).
        this.packetsReceived++;
        this.host.server.stats.packetsReceived++;
        this.answerFourLetter(FOUR_LETTER_CODES.get(len)!);
        return;
      }
      if (len < 0 || len > this.maxFrame) {
        this.host.log.warn({ client: this.describe(), len }, 'frame length out of range (jute.maxbuffer), closing connection');
        this.close('frame too large');
        return;
      }
      if (this.pendingBytes < 4 + len) return;
      this.skip(4);
      const frame = this.take(len);
      this.packetsReceived++;
      this.host.server.stats.packetsReceived++;
      this.handleFrame(frame, arrivedAt);
      if (this.unreadOutput() > REPLY_BACKLOG) {
        this.writeBlocked = true;
        this.updateReading();
      }
    }
  }

  /** Output queued for this client and not yet taken by the kernel. */
  private unreadOutput(): number {
    return this.socket.writableLength + (this.out?.offset ?? 0) + this.segmentBytes;
  }

  /** One frame, read at `arrivedAt` (elapsedMs), the start of its request's latency. */
  private handleFrame(frame: Buffer, arrivedAt: number): void {
    const r = new JuteReader(frame);
    if (this.state === 'handshake') return this.handleConnect(r, arrivedAt);
    const h = records.RequestHeader.read(r);
    // Every request gets exactly one reply (sendReply / sendDataReply), whatever its xid. ZooKeeper
    // counts only xid > 0, which lets a client that numbers its requests 0 escape the limit.
    this.outstanding++;
    switch (h.type) {
      case OpCode.auth:
        this.host.onAuth(this, h.xid, records.AuthPacket.read(r));
        break;
      case OpCode.sasl:
        this.host.onSasl(this, h.xid, records.GetSASLRequest.read(r).token);
        break;
      default:
        this.host.server.handleRequest(this, h.xid, h.type, r, arrivedAt);
    }
    if (this.outstanding > 0 && this.overGlobalLimit()) {
      this.throttled = true;
      this.updateReading();
    }
  }

  /** ZooKeeperServer.shouldThrottle: more requests in the pipeline than globalOutstandingLimit. */
  private overGlobalLimit(): boolean {
    const server = this.host.server;
    return server.outstandingRequests > server.config.globalOutstandingLimit;
  }

  /** A request was answered: a throttled connection reads again once its own are done or the server is below the limit. */
  private requestDone(): void {
    this.outstanding--;
    if (this.throttled && (this.outstanding <= 0 || !this.overGlobalLimit())) {
      this.throttled = false;
      this.updateReading();
    }
  }

  private handleConnect(r: JuteReader, arrivedAt: number): void {
    const req = readConnectRequest(r);
    this.clientSentReadOnly = req.readOnly;
    const server = this.host.server;
    if (req.lastZxidSeen > server.zxid) {
      this.host.log.warn(
        { client: this.describe(), clientZxid: hex(BigInt(req.lastZxidSeen)), serverZxid: hex(BigInt(server.zxid)) },
        'refusing session: client has seen a newer zxid than this server',
      );
      this.close('client zxid ahead of server');
      return;
    }
    if (server.readOnly && req.readOnly !== true) {
      // ZooKeeper's read-only server closes the connection of a client that did not ask for read-only.
      this.host.log.info({ client: this.describe() }, 'refusing session request for not-read-only client');
      this.close('not a read-only client');
      return;
    }
    this.state = 'connecting';
    this.updateReading();
    server.connect(this, req, (o) => {
      if (this.state === 'closed') return;
      const w = this.writer();
      const start = w.startFrame();
      writeConnectResponse(w, {
        protocolVersion: 0,
        timeOut: o.timeout,
        sessionId: o.sessionId,
        passwd: o.passwd,
        readOnly: this.clientSentReadOnly === undefined ? undefined : server.readOnly,
      });
      w.finishFrame(start);
      this.countSent();
      this.scheduleFlush();
      if (!o.ok) {
        this.host.log.info({ client: this.describe(), session: hex(req.sessionId) }, 'invalid session on reconnect: expired or wrong password');
        this.close('session expired');
        return;
      }
      this.sessionId = o.sessionId;
      this.sessionTimeout = o.timeout;
      this.state = 'open';
      // ZooKeeper drops a connection that stays silent for the whole session timeout (see sweep).
      this.active = true;
      this.host.log.info({ client: this.describe(), session: hex(o.sessionId), timeout: o.timeout }, 'session established');
      this.updateReading();
    }, arrivedAt);
  }

  private answerFourLetter(word: string): void {
    let text: string;
    try {
      text = this.host.fourLetter(word, this);
    } catch (e) {
      text = `Error: ${(e as Error).message}\n`;
    }
    this.state = 'closed';
    this.socket.end(text);
    this.host.server.stats.packetsSent++;
  }

  sendReply(xid: number, zxid: number, err: number, body?: (w: JuteWriter) => void): void {
    this.requestDone();
    if (this.state === 'closed') return;
    if (zxid > this.lastZxid) this.lastZxid = zxid;
    const w = this.writer();
    const start = w.startFrame();
    w.int(xid);
    w.longNumber(zxid);
    w.int(err);
    if (body) body(w);
    w.finishFrame(start);
    this.countSent();
    this.queued();
  }

  sendDataReply(xid: number, zxid: number, data: Buffer | null, tail: (w: JuteWriter) => void): void {
    if (data === null || data.length < LARGE_DATA) {
      this.sendReply(xid, zxid, 0, (w) => {
        w.buffer(data);
        tail(w);
      });
      return;
    }
    this.requestDone();
    if (this.state === 'closed') return;
    if (zxid > this.lastZxid) this.lastZxid = zxid;
    const t = new JuteWriter(128);
    tail(t);
    const tailBytes = t.bytes();
    const w = this.writer();
    // xid, zxid, err, the buffer's length, the buffer, the tail: the frame's length is known up front.
    w.int(20 + data.length + tailBytes.length);
    w.int(xid);
    w.longNumber(zxid);
    w.int(0);
    w.int(data.length);
    (this.segments ??= []).push(w.buf.subarray(this.segmentStart, w.offset), data);
    this.segmentBytes += data.length;
    this.segmentStart = w.offset;
    w.raw(tailBytes);
    this.countSent();
    this.queued();
  }

  sendEvent(type: number, state: number, path: string): void {
    if (this.state === 'closed') return;
    const w = this.writer();
    const start = w.startFrame();
    w.int(Xid.notification);
    w.longNumber(-1);
    w.int(0);
    w.int(type);
    w.int(state);
    w.ustring(path);
    w.finishFrame(start);
    this.countSent();
    this.queued();
  }

  /**
   * Output was queued: flush it this turn, unless the client has left more unread than
   * maxUnreadOutput (it stopped reading while replies or watch events kept coming). Then the
   * connection is dropped, not the server's memory: the session lives on, as after any disconnect.
   */
  private queued(): void {
    const unread = this.unreadOutput();
    if (unread <= this.maxUnreadOutput) {
      this.scheduleFlush();
      return;
    }
    this.host.log.warn(
      { client: this.describe(), session: hex(this.sessionId), unread, limit: this.maxUnreadOutput },
      'client does not read its replies: unread output passed zkts.maxUnreadOutputBytes, closing connection',
    );
    this.state = 'closed';
    this.out = undefined;
    this.spare = undefined;
    this.segments = undefined;
    this.segmentBytes = 0;
    this.segmentStart = 0;
    this.socket.destroy();
  }

  private countSent(): void {
    this.packetsSent++;
    this.host.server.stats.packetsSent++;
  }

  /** A request's reply was queued (ServerCnxn.updateStatsForResponse); times in elapsedMs. */
  answered(xid: number, arrivedAt: number, answeredAt: number): void {
    // Special xids (ping, auth) do not replace the client's last real request.
    if (xid >= 0) this.lastCxid = xid;
    const latency = answeredAt - arrivedAt;
    this.lastResponseTime = answeredAt;
    this.lastLatency = latency;
    if (latency < this.minLatency) this.minLatency = latency;
    if (latency > this.maxLatency) this.maxLatency = latency;
    this.latencyCount++;
    this.latencyTotal += latency;
  }

  /** This connection's requests not answered yet (cons's outstanding_requests). */
  get outstandingRequests(): number {
    return this.outstanding;
  }

  /** The mean latency in whole ms, as cons prints it (a long division in ZooKeeper). */
  get avgLatency(): number {
    return this.latencyCount === 0 ? 0 : Math.floor(this.latencyTotal / this.latencyCount);
  }

  /** crst: ZooKeeper's ServerCnxn.resetStats. */
  resetStats(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.lastCxid = -1;
    this.lastZxid = -1;
    this.lastResponseTime = 0;
    this.lastLatency = 0;
    this.minLatency = Infinity;
    this.maxLatency = 0;
    this.latencyCount = 0;
    this.latencyTotal = 0;
  }

  /** Replies of one event-loop turn go out together: one write per connection per turn. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.out;
    if (batch === undefined || batch.offset === 0 || this.socket.destroyed) return;
    this.active = true;
    const bytes = batch.bytes().subarray(this.segmentStart);
    const segments = this.segments;
    this.segments = undefined;
    this.segmentBytes = 0;
    this.segmentStart = 0;
    this.out = undefined;
    this.nextOutputBytes = Math.min(Math.max(IDLE_OUTPUT_BYTES, 2 * bytes.length), 1 << 20);
    // Once written, the buffer serves a later turn: a fresh one per turn is external memory
    // that V8 answers with frequent full GCs. One that grew large (a big value) is let go.
    const reuse = (err?: Error | null) => {
      if (err || batch.buf.length > 256 * 1024) return;
      batch.offset = 0;
      this.spare = batch;
    };
    // Large values go out as they are, in one writev with the rest of the turn's output.
    if (segments) {
      this.socket.cork();
      for (const seg of segments) this.socket.write(seg);
    }
    // Backpressure: stop reading from a client that does not read its replies.
    const ok = this.socket.write(bytes, reuse);
    if (segments) this.socket.uncork();
    // Blocked until 'drain' when the socket's buffer is full; free again once it took this turn's output.
    if (ok === this.writeBlocked) {
      this.writeBlocked = !ok;
      this.updateReading();
    }
  }

  close(reason: string): void {
    if (this.state === 'closed' && this.socket.destroyed) return;
    this.host.log.debug({ client: this.describe(), session: hex(this.sessionId), reason }, 'closing connection');
    this.state = 'closed';
    this.flush();
    this.socket.end();
    // A client that never reads would keep the socket half-open forever.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onClosed(): void {
    this.state = 'closed';
    this.host.forget(this);
    if (this.sessionId !== 0n) this.host.server.disconnected(this);
  }

  /** Sends an auth reply (xid -4, zxid 0); a failure also closes the connection, as ZooKeeper does. */
  authResult(xid: number, ok: boolean): void {
    this.sendReply(xid, 0, ok ? 0 : ErrorCode.AUTHFAILED);
    if (!ok) this.close('authentication failed');
  }

  readOnlyRequested(): boolean {
    return this.clientSentReadOnly === true;
  }

}

/** "::ffff:127.0.0.1" -> "127.0.0.1": the ip scheme compares plain IPv4 text. */
export function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.substring(7) : addr;
}

export { Xid };
