import type { JuteWriter, records } from '../jute/index.js';

/** How the request pipeline talks back to one client connection (implemented by Connection). */
export interface ClientHandle {
  readonly sessionId: bigint;
  /** The identities this connection authenticated as (ip first, then digest, sasl, super). */
  readonly ids: records.Id[];
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Queues a reply: header, then the body the callback writes (if any). */
  sendReply(xid: number, zxid: number, err: number, body?: (w: JuteWriter) => void): void;
  /**
   * Queues a reply whose body is a Jute buffer followed by what `tail` writes (getData). A large
   * buffer is sent as it is, not copied into the connection's output.
   */
  sendDataReply(xid: number, zxid: number, data: Buffer | null, tail: (w: JuteWriter) => void): void;
  /** Queues a watch notification (xid -1). */
  sendEvent(type: number, state: number, path: string): void;
  /** Called once a request's reply is queued, with when it arrived and when it was answered (elapsedMs), for cons. */
  answered(xid: number, arrivedAt: number, answeredAt: number): void;
  /** Flushes what is queued and closes the socket. */
  close(reason: string): void;
}
