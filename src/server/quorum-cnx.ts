/**
 * QuorumCnxManager over TCP, as Apache ZooKeeper 3.8 runs the election port: one connection per peer,
 * opened by the higher sid (a lower-sid initiator is hung up on and dialled back at the address it
 * announced), the initial message, length-prefixed frames, a send queue of one message per peer
 * (newest wins) and the last message sent again whenever a connection comes up. Only bytes move here;
 * what they mean is the election core's business.
 */
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  decodeElectionFrame,
  decodeInitialMessage,
  encodeElectionFrame,
  encodeInitialMessage,
  type HostPort,
} from '../jute/election.js';
import { PLAIN_TRANSPORT, type QuorumTransport } from './quorum-transport.js';

export interface ElectionPeer {
  sid: number;
  host: string;
  electionPort: number;
}

export interface QuorumCnxOptions {
  myId: number;
  /** Where we listen; also the address we announce in our initial message. */
  listen: HostPort;
  /** The other members of the ensemble. */
  peers: ElectionPeer[];
  /** A frame from `sid` (a notification's bytes). */
  onMessage: (sid: number, payload: Buffer) => void;
  /**
   * A peer's connection came up (true), or a dial to it failed or its connection closed (false): the
   * election decides without waiting for a peer it cannot hear from.
   */
  onReachability?: (sid: number, reachable: boolean) => void;
  logger?: Logger;
  /** zookeeper.cnxTimeout: connect and handshake timeout. */
  connectTimeoutMs?: number;
  /** Redial backoff after a failed or lost connection: doubles from min to max. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Plain TCP (the default) or TLS (sslQuorum). */
  transport?: QuorumTransport;
}

interface PeerLink {
  address: HostPort | null;
  socket: Socket | null;
  /** SEND_CAPACITY = 1: a newer message replaces one not yet written. */
  pending: Buffer | null;
  /** lastMessageSent: written again first thing on every new connection. */
  last: Buffer | null;
  dialing: boolean;
  backoffMs: number;
  redialTimer: NodeJS.Timeout | null;
}

export class QuorumCnxManager {
  private readonly links = new Map<number, PeerLink>();
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private closed = false;
  private readonly connectTimeoutMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;

  constructor(private readonly opts: QuorumCnxOptions) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.reconnectMinMs = opts.reconnectMinMs ?? 100;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 5000;
    for (const p of opts.peers) if (p.sid !== opts.myId) this.link(p.sid).address = { host: p.host, port: p.electionPort };
  }

  /** Listens on the election port. */
  async start(): Promise<void> {
    const server = (this.opts.transport ?? PLAIN_TRANSPORT).createServer((sock) => this.accepted(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Where `sid`'s election port is (a reconfig added it, or moved it). */
  setPeer(sid: number, host: string, electionPort: number): void {
    if (sid !== this.opts.myId) this.link(sid).address = { host, port: electionPort };
  }

  /** Queues `payload` for `sid` (replacing an unsent one) and connects if needed. */
  send(sid: number, payload: Buffer): void {
    if (this.closed) return;
    const link = this.link(sid);
    link.pending = encodeElectionFrame(payload);
    if (link.socket) this.flush(sid, link);
    else this.connect(sid);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) if (link.redialTimer) clearTimeout(link.redialTimer);
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private link(sid: number): PeerLink {
    let link = this.links.get(sid);
    if (!link) {
      link = { address: null, socket: null, pending: null, last: null, dialing: false, backoffMs: this.reconnectMinMs, redialTimer: null };
      this.links.set(sid, link);
    }
    return link;
  }

  private track(sock: Socket): void {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
    sock.on('error', (err) => this.opts.logger?.debug({ err: err.message }, 'election connection error'));
  }

  /** connectOne: dial `sid` unless connected, dialling, or waiting out a backoff. */
  private connect(sid: number): void {
    const link = this.link(sid);
    if (this.closed || link.socket || link.dialing || link.redialTimer || !link.address) return;
    link.dialing = true;
    const sock = (this.opts.transport ?? PLAIN_TRANSPORT).connect(link.address.host, link.address.port, () => {
      sock.setTimeout(0);
      sock.setNoDelay(true);
      sock.write(encodeInitialMessage(this.opts.myId, this.opts.listen));
      link.dialing = false;
      if (sid > this.opts.myId) {
        // The higher sid keeps only the connection it opens: it hangs up on ours and calls back.
        sock.end();
        return;
      }
      this.established(sid, sock, Buffer.alloc(0));
    });
    this.track(sock);
    sock.setTimeout(this.connectTimeoutMs, () => sock.destroy());
    sock.once('close', () => {
      if (link.dialing) {
        link.dialing = false;
        if (!this.closed) this.opts.onReachability?.(sid, false);
        this.redialLater(sid, link);
      }
    });
  }

  private redialLater(sid: number, link: PeerLink): void {
    if (this.closed || link.redialTimer) return;
    const delay = link.backoffMs;
    link.backoffMs = Math.min(link.backoffMs * 2, this.reconnectMaxMs);
    link.redialTimer = setTimeout(() => {
      link.redialTimer = null;
      // Only worth it while there is something to deliver (the election resends anyway when it times out).
      if (link.pending || link.last) this.connect(sid);
    }, delay);
  }

  /** An inbound connection: read the initial message, then keep it (lower sid than the caller) or dial back. */
  private accepted(sock: Socket): void {
    this.track(sock);
    if (this.closed) return void sock.destroy();
    let buf = Buffer.alloc(0);
    sock.setTimeout(this.connectTimeoutMs, () => sock.destroy());
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let parsed;
      try {
        parsed = decodeInitialMessage(buf);
      } catch (err) {
        this.opts.logger?.warn({ err: (err as Error).message, remote: sock.remoteAddress }, 'bad initial message on the election port');
        return void sock.destroy();
      }
      if (!parsed) return;
      sock.off('data', onData);
      sock.setTimeout(0);
      const { sid, addresses } = parsed.message;
      const link = this.link(sid);
      if (addresses[0]) link.address = addresses[0];
      if (sid < this.opts.myId) {
        sock.destroy();
        // A connection we still hold to it is stale (it restarted, or we crossed): drop it and dial
        // back now, not when a backoff runs out.
        const stale = link.socket;
        link.socket = null;
        stale?.destroy();
        if (link.redialTimer) clearTimeout(link.redialTimer);
        link.redialTimer = null;
        this.connect(sid);
      } else if (sid === this.opts.myId) {
        this.opts.logger?.warn({ sid }, 'a server with our own id connected to the election port: a configuration error');
        sock.destroy();
      } else {
        this.established(sid, sock, buf.subarray(parsed.length));
      }
    };
    sock.on('data', onData);
  }

  /** The connection for `sid` from now on: the last message goes out again, then frames flow both ways. */
  private established(sid: number, sock: Socket, rest: Buffer): void {
    const link = this.link(sid);
    if (link.socket && link.socket !== sock) link.socket.destroy();
    link.socket = sock;
    link.backoffMs = this.reconnectMinMs;
    this.opts.onReachability?.(sid, true);
    sock.setNoDelay(true);
    if (!link.pending && link.last) sock.write(link.last);
    this.flush(sid, link);
    let buf = rest;
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let offset = 0;
      try {
        for (let frame = decodeElectionFrame(buf, offset); frame; frame = decodeElectionFrame(buf, offset)) {
          offset = frame.next;
          this.opts.onMessage(sid, Buffer.from(frame.payload));
        }
      } catch (err) {
        this.opts.logger?.warn({ sid, err: (err as Error).message }, 'closing an election connection that sent a bad frame');
        return void sock.destroy();
      }
      buf = buf.subarray(offset);
    };
    sock.on('data', onData);
    if (rest.length > 0) onData(Buffer.alloc(0));
    sock.once('close', () => {
      if (link.socket !== sock) return;
      link.socket = null;
      if (!this.closed) this.opts.onReachability?.(sid, false);
      this.redialLater(sid, link);
    });
  }

  private flush(sid: number, link: PeerLink): void {
    const frame = link.pending;
    if (!frame || !link.socket) return;
    link.pending = null;
    link.last = frame;
    link.socket.write(frame);
    this.opts.logger?.trace({ sid, bytes: frame.length }, 'election frame sent');
  }
}
