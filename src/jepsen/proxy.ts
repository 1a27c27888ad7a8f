/**
 * A TCP proxy for one link of the ensemble's network: it listens on a loopback port and forwards
 * each accepted connection to a target port. The harness puts one between every ordered pair of
 * servers (for both the quorum and the election port) and one in front of every client port, and
 * partitions the network by cutting proxies, which needs neither root nor network namespaces.
 *
 * A link can be rejected (its connections dropped and new ones closed at once, as an iptables
 * REJECT would: peers notice at once), or stalled in one direction or both, as a DROP would look
 * to TCP: connections stay open and the bytes sent that way wait (the proxy stops reading them,
 * so the sender's buffers fill) until the link heals, then arrive in order, as retransmissions
 * would; only the endpoints' own timeouts notice. Bytes are never lost from the middle of a
 * stream: TCP does not do that, and a stream with a hole would be garbage to the receiver.
 *
 * Election-port proxies rewrite the initial message: ZooKeeper's (and zkts's) election handshake
 * carries the initiator's own election address, and a higher-sid receiver hangs up and dials back
 * at that address, which would bypass the proxies. The rewrite names the proxy of the reverse link
 * instead (QuorumCnxManager's InitialMessage: long protocol version, long sid, int length, address).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** Which way bytes may flow (`forward` is from the connecting side to the target), or `reject` everything. */
export interface LinkState {
  forward: boolean;
  backward: boolean;
  reject: boolean;
}

interface Pair {
  a: Socket;
  b: Socket;
  /** Lets through what may pass now (after a heal). */
  flow(): void;
}

export interface ProxyOptions {
  name: string;
  targetPort: number;
  /** For election links: the address to put into the initiator's initial message. */
  rewriteElectionAddress?: string;
}

export class LinkProxy {
  port = 0;
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private state: LinkState = { forward: true, backward: true, reject: false };

  constructor(readonly opts: ProxyOptions) {}

  async listen(port = 0): Promise<number> {
    const server = createServer((a) => this.accepted(a));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  get cut(): LinkState {
    return { ...this.state };
  }

  /** Sets which directions pass; `reject` drops every current connection. */
  set(state: LinkState): void {
    this.state = { ...state };
    for (const p of this.pairs) {
      if (state.reject) this.drop(p);
      else p.flow();
    }
  }

  heal(): void {
    this.set({ forward: true, backward: true, reject: false });
  }

  async close(): Promise<void> {
    for (const p of this.pairs) this.drop(p);
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private drop(p: Pair): void {
    p.a.destroy();
    p.b.destroy();
    this.pairs.delete(p);
  }

  private accepted(a: Socket): void {
    if (this.state.reject) return void a.destroy();
    a.setNoDelay(true);
    const b = connect({ host: '127.0.0.1', port: this.opts.targetPort });
    b.setNoDelay(true);
    // While a direction is stalled its source is not read (pause) and what was already read waits.
    const held: { forward: Buffer[]; backward: Buffer[] } = { forward: [], backward: [] };
    const pair: Pair = {
      a,
      b,
      flow: () => {
        for (const [dir, from, to] of [['forward', a, b], ['backward', b, a]] as const) {
          if (!this.state[dir]) continue;
          for (const chunk of held[dir].splice(0)) to.write(chunk);
          from.resume();
        }
      },
    };
    this.pairs.add(pair);
    const end = () => this.drop(pair);
    a.on('error', end);
    b.on('error', end);
    a.on('close', end);
    b.on('close', end);
    const pass = (dir: 'forward' | 'backward', from: Socket, to: Socket, chunk: Buffer) => {
      if (this.state[dir] && held[dir].length === 0) return void to.write(chunk);
      held[dir].push(chunk);
      from.pause();
    };
    let head: Buffer | undefined = this.opts.rewriteElectionAddress === undefined ? undefined : Buffer.alloc(0);
    a.on('data', (chunk: Buffer) => {
      if (head !== undefined) {
        head = Buffer.concat([head, chunk]);
        const rewritten = rewriteInitialMessage(head, this.opts.rewriteElectionAddress!);
        if (rewritten === undefined) return;
        head = undefined;
        chunk = rewritten;
      }
      pass('forward', a, b, chunk);
    });
    b.on('data', (chunk: Buffer) => pass('backward', b, a, chunk));
  }
}

/**
 * The bytes with the initial message's address replaced, or undefined while incomplete. A message
 * in another form (a pre-3.5 bare sid, an implausible length) passes unchanged.
 */
export function rewriteInitialMessage(buf: Buffer, address: string): Buffer | undefined {
  if (buf.length < 8) return undefined;
  if (buf.readBigInt64BE(0) >= 0n) return buf;
  if (buf.length < 20) return undefined;
  const len = buf.readInt32BE(16);
  if (len <= 0 || len > 2048) return buf;
  if (buf.length < 20 + len) return undefined;
  const addr = Buffer.from(address, 'latin1');
  const out = Buffer.alloc(20 + addr.length);
  buf.copy(out, 0, 0, 16);
  out.writeInt32BE(addr.length, 16);
  addr.copy(out, 20);
  return Buffer.concat([out, buf.subarray(20 + len)]);
}
