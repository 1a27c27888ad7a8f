import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { PacketType, QuorumPacketStream, decodeLearnerInfo, type QuorumPacket } from '../jute/index.js';
import { PLAIN_TRANSPORT, type QuorumTransport } from './quorum-transport.js';
import { LearnerInbox, type QuorumSender } from './zab-runtime.js';

/**
 * The leader's quorum port: learners connect and introduce themselves with FOLLOWERINFO (their sid
 * is in its LearnerInfo); from then on their packets go to `onPacket` with that sid. A learner that
 * connects again replaces its old connection.
 */
export class LeaderPort implements QuorumSender {
  private readonly server: Server;
  private readonly learners = new Map<number, Socket>();

  constructor(
    private readonly maxBuffer: number,
    private readonly onPacket: (sid: number, p: QuorumPacket) => void,
    private readonly onGone: (sid: number) => void,
    private readonly log: Logger,
    transport: QuorumTransport = PLAIN_TRANSPORT,
  ) {
    this.server = transport.createServer((socket) => this.accept(socket));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const packets = new QuorumPacketStream(this.maxBuffer);
    let sid: number | undefined;
    socket.on('data', (chunk) => {
      try {
        packets.push(chunk);
        for (let p = packets.next(); p; p = packets.next()) {
          if (sid === undefined) {
            if (p.type !== PacketType.FOLLOWERINFO && p.type !== PacketType.OBSERVERINFO) throw new Error(`first packet is type ${p.type}, not FOLLOWERINFO`);
            sid = Number(decodeLearnerInfo(p.data ?? Buffer.alloc(0)).serverId);
            const old = this.learners.get(sid);
            if (old) {
              this.learners.delete(sid);
              old.destroy();
              this.onGone(sid);
            }
            this.learners.set(sid, socket);
          }
          this.onPacket(sid, p);
          if (socket.destroyed) return;
        }
      } catch (e) {
        this.log.warn({ learner: sid ?? socket.remoteAddress, err: (e as Error).message }, 'bad packet from a learner; closing its connection');
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (sid !== undefined && this.learners.get(sid) === socket) {
        this.learners.delete(sid);
        this.onGone(sid);
      }
    });
  }

  send(to: number, bytes: Buffer): void {
    const socket = this.learners.get(to);
    if (socket) writeBatched(socket, bytes);
  }

  close(to: number, reason: string): void {
    const s = this.learners.get(to);
    if (!s) return;
    this.log.info({ learner: to, reason }, 'dropping learner');
    s.destroy();
  }

  async shutdown(): Promise<void> {
    for (const s of this.learners.values()) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A learner's connection to its leader's quorum port. */
export class LearnerPort implements QuorumSender {
  private socket: Socket | undefined;
  private closed = false;

  constructor(
    private readonly inbox: (onError: (err: Error) => void) => LearnerInbox,
    private readonly onClosed: (reason: string) => void,
    private readonly transport: QuorumTransport = PLAIN_TRANSPORT,
  ) {}

  /**
   * Connects, retrying until `deadline` (ZooKeeper tries for initLimit ticks). The leader elected
   * at the same moment may not listen yet: retries come every 10 to 50 ms (loopback or LAN: a
   * refused connect costs nothing, and each retry saved is failover time saved).
   */
  async connect(host: string, port: number, deadline: number): Promise<void> {
    for (let retryMs = 10; ; retryMs = Math.min(retryMs * 2, 50)) {
      try {
        this.socket = await openSocket(this.transport, host, port);
        break;
      } catch (e) {
        if (this.closed || Date.now() + retryMs > deadline) throw e;
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
    const socket = this.socket;
    const inbox = this.inbox((err) => this.close(0, err.message));
    socket.on('data', (chunk) => inbox.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!this.closed) {
        this.closed = true;
        this.onClosed('leader connection closed');
      }
    });
  }

  send(_to: number, bytes: Buffer): void {
    if (this.socket) writeBatched(this.socket, bytes);
  }

  close(_to: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.destroy();
    this.onClosed(reason);
  }
}

/**
 * Packets sent to one peer in one turn of the event loop go out in one write: a leader sends a
 * PROPOSAL and a COMMIT per txn to every follower, and a follower an ACK per txn, each a few dozen
 * bytes, which one write() apiece would turn into a system call (and a stream request) apiece.
 */
const gathered = new WeakMap<Socket, Buffer[]>();
function writeBatched(socket: Socket, bytes: Buffer): void {
  const pending = gathered.get(socket);
  if (pending) {
    pending.push(bytes);
    return;
  }
  const batch = [bytes];
  gathered.set(socket, batch);
  process.nextTick(() => {
    gathered.delete(socket);
    if (!socket.destroyed) socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
  });
}

function openSocket(transport: QuorumTransport, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = transport.connect(host, port, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
