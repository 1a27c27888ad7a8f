/**
 * Drives a ZkServer directly, without sockets: a client double that records what it is sent, and a
 * TxnLog double that holds txns until the test releases them (a slow disk), so that what happens
 * while writes are in the log is deterministic.
 */
import pino from 'pino';
import type { Txn } from '../../src/datatree/index.js';
import { CreateFlag, JuteReader, JuteWriter, OpCode, records } from '../../src/jute/index.js';
import type { ClientHandle } from '../../src/server/client.js';
import { defaultConfig, ZkServer } from '../../src/server/index.js';
import { elapsedMs } from '../../src/server/server-stats.js';
import type { TxnLog } from '../../src/zab/index.js';

export const OPEN_ACL: records.ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** A log whose txns become durable only when the test says so, in append order. */
export class HeldLog implements TxnLog {
  readonly held: { txn: Txn; durable: () => void }[] = [];
  /** When set, txns are durable at once (to set up state); held otherwise. */
  immediate = false;

  append(txn: Txn, durable: () => void): void {
    if (this.immediate) durable();
    else this.held.push({ txn, durable });
  }

  /** Makes the oldest `n` held txns durable (all by default). */
  release(n = this.held.length): void {
    for (const { durable } of this.held.splice(0, n)) durable();
  }

  async close(): Promise<void> {
    this.release();
  }
}

export interface SentReply {
  xid: number;
  zxid: number;
  err: number;
  body: JuteReader;
}

export class TestClient implements ClientHandle {
  sessionId = 0n;
  readonly ids: records.Id[] = [{ scheme: 'ip', id: '127.0.0.1' }];
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 4000;
  readonly replies: SentReply[] = [];
  readonly events: { type: number; path: string }[] = [];
  closedBecause: string | undefined;
  private nextXid = 1;

  constructor(private readonly server: ZkServer) {}

  sendReply(xid: number, zxid: number, err: number, body?: (w: JuteWriter) => void): void {
    const w = new JuteWriter();
    body?.(w);
    this.replies.push({ xid, zxid, err, body: new JuteReader(Buffer.from(w.bytes())) });
  }

  sendDataReply(xid: number, zxid: number, data: Buffer | null, tail: (w: JuteWriter) => void): void {
    this.sendReply(xid, zxid, 0, (w) => {
      w.buffer(data);
      tail(w);
    });
  }

  sendEvent(type: number, _state: number, path: string): void {
    this.events.push({ type, path });
  }

  answered(): void {}

  close(reason: string): void {
    this.closedBecause = reason;
  }

  /** Sends a request; returns its xid. */
  send(type: number, body: (w: JuteWriter) => void = () => {}): number {
    const xid = this.nextXid++;
    const w = new JuteWriter();
    body(w);
    this.server.handleRequest(this, xid, type, new JuteReader(Buffer.from(w.bytes())), elapsedMs());
    return xid;
  }

  create(path: string, flags: number = CreateFlag.PERSISTENT, acl = OPEN_ACL, data: Buffer | null = null): number {
    return this.send(OpCode.create, (w) => records.CreateRequest.write(w, { path, data, acl, flags }));
  }

  delete(path: string): number {
    return this.send(OpCode.delete, (w) => records.DeleteRequest.write(w, { path, version: -1 }));
  }

  setData(path: string, data: string): number {
    return this.send(OpCode.setData, (w) => records.SetDataRequest.write(w, { path, data: Buffer.from(data), version: -1 }));
  }

  getData(path: string): number {
    return this.send(OpCode.getData, (w) => records.GetDataRequest.write(w, { path, watch: false }));
  }

  closeSession(): number {
    return this.send(OpCode.closeSession);
  }

  reply(xid: number): SentReply | undefined {
    return this.replies.find((r) => r.xid === xid);
  }

  /** The value a getData reply carries. */
  dataOf(xid: number): string | undefined {
    const r = this.reply(xid);
    if (!r || r.err !== 0) return undefined;
    r.body.offset = 0;
    return r.body.buffer()?.toString();
  }
}

/** A server on a held log, with its clock under the test's control. */
export function testServer(): { server: ZkServer; log: HeldLog } {
  const log = new HeldLog();
  const server = new ZkServer(defaultConfig(), pino({ level: 'silent' }), log, undefined, () => 1_000_000);
  return { server, log };
}

/** A client with an established session (its createSession made durable at once). */
export function connectClient(server: ZkServer, log: HeldLog): TestClient {
  const client = new TestClient(server);
  const immediate = log.immediate;
  log.immediate = true;
  server.connect(client, { sessionId: 0n, passwd: null, timeOut: 30_000 }, (o) => (client.sessionId = o.sessionId), elapsedMs());
  log.immediate = immediate;
  if (client.sessionId === 0n) throw new Error('no session');
  return client;
}
