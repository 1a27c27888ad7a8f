/**
 * A minimal pipelined ZooKeeper client over src/jute, for the interoperability tests: every kind of
 * create (create, create2, createContainer, createTTL), delete, setData, setACL, multi, addAuth and
 * the reads needed to dump a whole tree. Requests are sent without waiting, replies matched by xid.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  JuteReader,
  JuteWriter,
  OpCode,
  readConnectResponse,
  readMultiResponse,
  records,
  writeConnectRequest,
  writeMultiRequest,
  type MultiOp,
  type MultiResult,
} from '../../src/jute/index.js';

export interface Reply {
  err: number;
  zxid: number;
  r: JuteReader;
}

/** The id of a digest ACL for user:password (DigestAuthenticationProvider.generateDigest). */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

export class RawClient {
  sessionId = 0n;
  /** The session's password, for re-attaching to it from another connection or server. */
  passwd: Buffer = Buffer.alloc(16);
  private readonly pending = new Map<number, (r: Reply) => void>();
  private xid = 1;
  private buf: Buffer = Buffer.alloc(0);
  private onConnect?: (r: JuteReader) => void;
  private closed = false;
  private ping?: NodeJS.Timeout;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      for (const [, resolve] of this.pending) resolve({ err: -4, zxid: -1, r: new JuteReader(Buffer.alloc(0)) });
      this.pending.clear();
    });
  }

  /** Whether the server answered the handshake as a read-only server. */
  readOnly = false;
  /** The session timeout the server negotiated (ms). */
  timeout = 0;

  /** The server (or drop()) closed the connection. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * A new session, or with `session` a re-attach to an existing one (throws 'session refused' if
   * expired); `opts.readOnly` sets the handshake's readOnly flag. Throws if the server closes the
   * connection instead of answering.
   */
  static async connect(port: number, timeoutMs = 60_000, session?: { id: bigint; passwd: Buffer }, opts: { readOnly?: boolean } = {}): Promise<RawClient> {
    const sock = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((res, rej) => {
      sock.once('connect', res);
      sock.once('error', rej);
    });
    sock.setNoDelay(true);
    const c = new RawClient(sock);
    const w = new JuteWriter();
    const f = w.startFrame();
    writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: timeoutMs, sessionId: session?.id ?? 0n, passwd: session?.passwd ?? Buffer.alloc(16), readOnly: opts.readOnly ?? false });
    w.finishFrame(f);
    const r = await new Promise<JuteReader>((res, rej) => {
      const timer = setTimeout(() => {
        sock.destroy();
        rej(new Error('no answer to the handshake'));
      }, 10_000);
      // A server that does not serve (electing, syncing) closes the connection unanswered.
      sock.once('close', () => {
        clearTimeout(timer);
        rej(new Error('connection closed during the handshake'));
      });
      c.onConnect = (reader) => {
        clearTimeout(timer);
        res(reader);
      };
      sock.write(Buffer.from(w.bytes()));
    });
    const resp = readConnectResponse(r);
    if (resp.sessionId === 0n) throw new Error('session refused');
    c.sessionId = resp.sessionId;
    c.passwd = resp.passwd ?? Buffer.alloc(16);
    c.readOnly = resp.readOnly === true;
    c.timeout = resp.timeOut;
    c.ping = setInterval(() => void c.send(-2, OpCode.ping, () => {}), Math.max(1000, resp.timeOut / 3));
    c.ping.unref();
    return c;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const len = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + len) break;
      const frame = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      const r = new JuteReader(frame);
      if (this.onConnect) {
        const cb = this.onConnect;
        this.onConnect = undefined;
        cb(r);
        continue;
      }
      const h = records.ReplyHeader.read(r);
      const cb = this.pending.get(h.xid);
      if (cb) {
        this.pending.delete(h.xid);
        cb({ err: h.err, zxid: h.zxid, r });
      }
    }
  }

  private send(xid: number, type: number, body: (w: JuteWriter) => void): Promise<Reply> {
    if (this.closed) return Promise.resolve({ err: -4, zxid: -1, r: new JuteReader(Buffer.alloc(0)) });
    const w = new JuteWriter();
    const f = w.startFrame();
    records.RequestHeader.write(w, { xid, type });
    body(w);
    w.finishFrame(f);
    const p = new Promise<Reply>((res) => this.pending.set(xid, res));
    this.sock.write(Buffer.from(w.bytes()));
    return p;
  }

  request(type: number, body: (w: JuteWriter) => void): Promise<Reply> {
    return this.send(this.xid++, type, body);
  }

  addAuth(scheme: string, auth: string): Promise<Reply> {
    return this.send(-4, OpCode.auth, (w) => records.AuthPacket.write(w, { type: 0, scheme, auth: Buffer.from(auth) }));
  }

  /** A create of any mode; `op` picks the opcode for the plain modes (create or create2). */
  async create(path: string, data: Buffer | null, acl: records.ACL[], flags: number, opts: { ttl?: number; op?: 1 | 15 } = {}): Promise<{ err: number; path?: string }> {
    let reply: Reply;
    if (flags === 5 || flags === 6) {
      reply = await this.request(OpCode.createTTL, (w) => records.CreateTTLRequest.write(w, { path, data, acl, flags, ttl: opts.ttl ?? 60_000 }));
    } else {
      const op = flags === 4 ? OpCode.createContainer : (opts.op ?? OpCode.create2);
      reply = await this.request(op, (w) => records.CreateRequest.write(w, { path, data, acl, flags }));
    }
    return reply.err === 0 ? { err: 0, path: reply.r.ustring() ?? '' } : { err: reply.err };
  }

  async delete(path: string, version = -1): Promise<number> {
    return (await this.request(OpCode.delete, (w) => records.DeleteRequest.write(w, { path, version }))).err;
  }

  async setData(path: string, data: Buffer | null, version = -1): Promise<number> {
    return (await this.request(OpCode.setData, (w) => records.SetDataRequest.write(w, { path, data, version }))).err;
  }

  async setACL(path: string, acl: records.ACL[], version = -1): Promise<number> {
    return (await this.request(OpCode.setACL, (w) => records.SetACLRequest.write(w, { path, acl, version }))).err;
  }

  async multi(ops: MultiOp[]): Promise<{ err: number; results: MultiResult[] }> {
    const reply = await this.request(OpCode.multi, (w) => writeMultiRequest(w, ops));
    return { err: reply.err, results: readMultiResponse(reply.r) };
  }

  async getData(path: string): Promise<{ err: number; data?: Buffer | null; stat?: records.Stat }> {
    const reply = await this.request(OpCode.getData, (w) => records.GetDataRequest.write(w, { path, watch: false }));
    if (reply.err !== 0) return { err: reply.err };
    return { err: 0, data: reply.r.buffer(), stat: records.Stat.read(reply.r) };
  }

  async getACL(path: string): Promise<{ err: number; acl?: records.ACL[] }> {
    const reply = await this.request(OpCode.getACL, (w) => records.GetACLRequest.write(w, { path }));
    if (reply.err !== 0) return { err: reply.err };
    return { err: 0, acl: records.ACLList.read(reply.r) };
  }

  async getChildren(path: string): Promise<{ err: number; children?: string[] }> {
    const reply = await this.request(OpCode.getChildren, (w) => records.GetChildrenRequest.write(w, { path, watch: false }));
    if (reply.err !== 0) return { err: reply.err };
    return { err: 0, children: records.GetChildrenResponse.read(reply.r).children };
  }

  /** sync: answered once the server has what the leader had when it was asked. */
  async sync(path = '/'): Promise<number> {
    return (await this.request(OpCode.sync, (w) => records.SyncRequest.write(w, { path }))).err;
  }

  /** Ends the session (a closeSession txn) and the connection. */
  async close(): Promise<void> {
    clearInterval(this.ping);
    if (!this.closed) await this.request(OpCode.closeSession, () => {});
    this.sock.destroy();
  }

  /** Drops the connection without ending the session. */
  drop(): void {
    clearInterval(this.ping);
    this.sock.destroy();
  }
}

export interface NodeView {
  data: string | null;
  stat: records.Stat;
  acl: records.ACL[];
}

/**
 * Every node of the tree as this client sees it (getData, getACL, getChildren), level by level with
 * each level's requests pipelined. Paths under /zookeeper are included.
 */
export async function dumpViaClient(c: RawClient): Promise<Map<string, NodeView>> {
  const out = new Map<string, NodeView>();
  let level = ['/'];
  while (level.length > 0) {
    const next: string[] = [];
    await Promise.all(
      level.map(async (path) => {
        const [d, a, ch] = await Promise.all([c.getData(path), c.getACL(path), c.getChildren(path)]);
        if (d.err !== 0 || a.err !== 0 || ch.err !== 0) throw new Error(`reading ${path}: ${d.err} ${a.err} ${ch.err}`);
        out.set(path, { data: d.data === null || d.data === undefined ? null : d.data.toString('hex'), stat: d.stat!, acl: a.acl! });
        for (const child of ch.children!) next.push(path === '/' ? `/${child}` : `${path}/${child}`);
      }),
    );
    level = next;
  }
  return out;
}
