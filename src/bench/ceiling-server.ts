/**
 * The ceiling: a server that speaks just enough of the protocol to answer every request with a
 * canned reply of the same size as ZooKeeper's, and does no work (no tree, no log, no sessions).
 * Driven by the same client as the real servers, it shows how many ops/s this machine's loopback
 * and the benchmark client allow, and so how close zkts is to that.
 *
 * What it does per frame: read the request's xid and opcode, copy a prepared reply and patch the
 * xid in. The only state: the data length of the last create/setData, so that a getData reply is
 * as large as the value the benchmark stored (100 bytes, or 1 MB in large-read), and the
 * connections that asked getData with a watch: the next setData (of any path) sends each of them
 * one notification, encoded once, and forgets them. That is the least a server can do to notify N
 * watchers from one event loop: the floor for the watch workloads. Replies of one event-loop turn
 * go out in one write, as zkts does.
 *
 *   node dist/src/bench/ceiling-server.js --port 2199
 */
import { createServer, type Server, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

const HEADER = 16; // ReplyHeader: xid, zxid, err
const STAT = 68; // czxid mzxid ctime mtime version cversion aversion ephemeralOwner dataLength numChildren pzxid

const OP = {
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  create2: 15,
  createContainer: 19,
  createTTL: 21,
  closeSession: -11,
} as const;

/** A reply frame (length prefix included) with `body` bytes after the header; xid patched per reply. */
function template(body: number): Buffer {
  const b = Buffer.alloc(4 + HEADER + body);
  b.writeInt32BE(HEADER + body, 0);
  b.writeInt32BE(0, 8); // zxid high
  b.writeInt32BE(1, 12); // zxid low
  return b;
}

const headerOnly = template(0);
const withStat = template(STAT);
const emptyChildren = template(4);
const emptyChildren2 = template(4 + STAT);

interface State {
  /** Data length of the last create/setData; getData replies carry that many bytes. */
  dataLength: number;
  getData: Buffer;
  sessions: number;
  /** Connections with a getData watch set since the last setData. */
  watchers: Set<CeilingConnection>;
}

/** A NodeDataChanged notification (xid -1, zxid -1, SyncConnected) for `path` (length-prefixed, as in the request). */
function notification(path: Buffer): Buffer {
  const b = Buffer.alloc(4 + HEADER + 8 + path.length);
  b.writeInt32BE(b.length - 4, 0);
  b.writeInt32BE(-1, 4); // xid: notification
  b.writeInt32BE(-1, 8); // zxid -1 (both halves)
  b.writeInt32BE(-1, 12);
  b.writeInt32BE(3, 20); // EventType.NodeDataChanged
  b.writeInt32BE(3, 24); // KeeperState.SyncConnected
  path.copy(b, 28);
  return b;
}

function getDataTemplate(len: number): Buffer {
  const b = template(4 + len + STAT);
  b.writeInt32BE(len, 4 + HEADER);
  return b;
}

class CeilingConnection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private handshaken = false;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private closing = false;

  constructor(private readonly socket: Socket, private readonly state: State) {
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => state.watchers.delete(this));
  }

  private take(n: number): Buffer {
    const head = this.chunks[0]!;
    let out: Buffer;
    if (head.length >= n) {
      out = head.subarray(0, n);
      if (head.length === n) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const b = this.chunks[0]!;
        const k = Math.min(b.length, n - filled);
        b.copy(out, filled, 0, k);
        filled += k;
        if (k === b.length) this.chunks.shift();
        else this.chunks[0] = b.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4 && !this.closing) {
      const head = this.chunks[0]!;
      const len = head.length >= 4 ? head.readInt32BE(0) : Buffer.concat(this.chunks).readInt32BE(0);
      if (len < 0) return void this.socket.destroy();
      if (this.buffered < 4 + len) return;
      this.take(4);
      this.frame(this.take(len));
    }
  }

  private reply(tpl: Buffer, xid: number, extra?: Buffer): void {
    // The prepared bytes, with the request's xid (and, for create, the path echoed after the header).
    const b = Buffer.allocUnsafe(tpl.length + (extra ? extra.length : 0));
    tpl.copy(b, 0);
    b.writeInt32BE(xid, 4);
    if (extra) {
      b.writeInt32BE(b.length - 4, 0);
      // path goes right after the header; the template's body (stat, if any) follows it.
      tpl.copy(b, 4 + HEADER + extra.length, 4 + HEADER);
      extra.copy(b, 4 + HEADER);
    }
    this.push(b);
  }

  push(b: Buffer): void {
    this.out.push(b);
    this.outBytes += b.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0 || this.socket.destroyed) return;
    const bytes = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    if (!this.socket.write(bytes)) {
      this.socket.pause();
      this.socket.once('drain', () => this.socket.resume());
    }
    if (this.closing) this.socket.end();
  }

  private frame(f: Buffer): void {
    if (!this.handshaken) {
      this.handshaken = true;
      // ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd[, readOnly]
      const timeout = f.length >= 16 ? f.readInt32BE(12) : 10_000;
      const readOnly = f.length > 44;
      const b = Buffer.alloc(4 + 36 + (readOnly ? 1 : 0));
      b.writeInt32BE(b.length - 4, 0);
      b.writeInt32BE(timeout, 8);
      b.writeUInt32BE(++this.state.sessions, 16);
      b.writeInt32BE(16, 20);
      this.push(b);
      return;
    }
    const xid = f.readInt32BE(0);
    const type = f.readInt32BE(4);
    switch (type) {
      case OP.getData:
        // GetDataRequest: path, then the watch flag.
        if (f[12 + f.readInt32BE(8)] === 1) this.state.watchers.add(this);
        return this.reply(this.state.getData, xid);
      case OP.setData: {
        const path = this.noteData(f);
        if (this.state.watchers.size > 0) {
          const event = notification(path);
          for (const c of this.state.watchers) c.push(event);
          this.state.watchers.clear();
        }
        return this.reply(withStat, xid);
      }
      case OP.create:
      case OP.create2:
      case OP.createContainer:
      case OP.createTTL: {
        const path = this.noteData(f);
        return this.reply(type === OP.create ? headerOnly : withStat, xid, path);
      }
      case OP.sync:
        return this.reply(headerOnly, xid, f.subarray(8, 12 + f.readInt32BE(8)));
      case OP.exists:
        return this.reply(withStat, xid);
      case OP.getChildren:
        return this.reply(emptyChildren, xid);
      case OP.getChildren2:
        return this.reply(emptyChildren2, xid);
      case OP.closeSession:
        this.reply(headerOnly, xid);
        this.closing = true;
        return;
      default:
        // delete, ping, auth, anything else: a bare header.
        return this.reply(headerOnly, xid);
    }
  }

  /** Remembers the data length of a create/setData request and returns its path (length-prefixed). */
  private noteData(f: Buffer): Buffer {
    const pathLen = f.readInt32BE(8);
    const path = f.subarray(8, 12 + pathLen);
    const dataLen = f.readInt32BE(12 + pathLen);
    const len = Math.max(0, dataLen);
    if (len !== this.state.dataLength) {
      this.state.dataLength = len;
      this.state.getData = getDataTemplate(len);
    }
    return path;
  }
}

export interface CeilingServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startCeilingServer(port = 0, host = '127.0.0.1'): Promise<CeilingServer> {
  const state: State = { dataLength: 0, getData: getDataTemplate(0), sessions: 0, watchers: new Set() };
  const server = createServer({ noDelay: true }, (s) => new CeilingConnection(s, state));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port');
  const port = i >= 0 ? Number(process.argv[i + 1]) : 2199;
  const s = await startCeilingServer(port);
  process.stdout.write(`ceiling server listening on 127.0.0.1:${s.port}\n`);
  process.once('SIGTERM', () => process.exit(0));
  process.once('SIGINT', () => process.exit(0));
}
