/**
 * A workload's connection to the ensemble: our own client (src/client) over the client proxies,
 * either pinned to one server or moving. After a connection loss it connects again, to the same
 * server when pinned or to the next one when moving, re-attaching the SAME session (id, password
 * and the highest zxid it saw, so a server behind it refuses), as ZooKeeper's clients do; only an
 * expired session is replaced by a new one. Every operation has a deadline: one that passes it
 * drops the connection, so nothing of that operation's is still in flight on the next connection.
 */
import { ErrorCode, KeeperError, errorName as zkErrorName } from '../jute/index.js';
import { ZkClient } from '../client/index.js';

export interface Address {
  sid: number;
  host: string;
  port: number;
}

export interface SessionOptions {
  addresses: Address[];
  /** Index into addresses to start at (and stay at when pinned). */
  home: number;
  moving: boolean;
  sessionTimeoutMs: number;
  opTimeoutMs: number;
}

export class OpTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** How an operation's failure reads in the history: its ZooKeeper error name or 'TIMEOUT'. */
export function errorName(e: unknown): string {
  if (e instanceof OpTimeout) return 'TIMEOUT';
  if (e instanceof KeeperError) return zkErrorName(e.code);
  return (e as Error).message ?? String(e);
}

/** Errors after which the operation certainly did not happen (the server refused it). */
export function definiteFailure(e: unknown): boolean {
  return e instanceof KeeperError && e.code !== ErrorCode.CONNECTIONLOSS && e.code !== ErrorCode.SESSIONEXPIRED && e.code !== ErrorCode.OPERATIONTIMEOUT;
}

export class ZkSession {
  private client: ZkClient | undefined;
  private index: number;
  private session: { id: bigint; passwd: Buffer } | undefined;
  private lastZxid = 0;
  /** Called when the session was found expired (a new one replaces it on the next connect). */
  onExpired: ((sessionHex: string) => void) | undefined;
  closed = false;

  constructor(readonly opts: SessionOptions) {
    this.index = opts.home % opts.addresses.length;
  }

  /** The server of the current connection, e.g. "s2". */
  get node(): string {
    return `s${this.opts.addresses[this.index]!.sid}`;
  }

  get sessionHex(): string | undefined {
    return this.session === undefined ? undefined : `0x${BigInt.asUintN(64, this.session.id).toString(16)}`;
  }

  /** The connected client, connecting (or re-attaching) first if needed. */
  async connected(): Promise<ZkClient> {
    if (this.client && !this.client.isClosed) return this.client;
    if (this.closed) throw new KeeperError(ErrorCode.CONNECTIONLOSS, 'session closed by the workload');
    if (this.client) {
      this.lastZxid = Math.max(this.lastZxid, this.client.lastZxid);
      if (this.opts.moving) this.index = (this.index + 1) % this.opts.addresses.length;
    }
    this.client = undefined;
    const a = this.opts.addresses[this.index]!;
    try {
      this.client = await ZkClient.connect({
        host: a.host,
        port: a.port,
        timeout: this.opts.sessionTimeoutMs,
        connectTimeout: this.opts.opTimeoutMs,
        ...(this.session ? { session: this.session, lastZxidSeen: this.lastZxid } : {}),
      });
    } catch (e) {
      if (e instanceof KeeperError && e.code === ErrorCode.SESSIONEXPIRED && this.session) {
        const hex = this.sessionHex!;
        this.session = undefined;
        this.onExpired?.(hex);
      } else if (this.opts.moving) {
        this.index = (this.index + 1) % this.opts.addresses.length;
      }
      throw e;
    }
    this.session = { id: this.client.sessionId, passwd: this.client.sessionPasswd };
    return this.client;
  }

  /** Runs `fn` on the connection with the operation deadline; a timeout drops the connection. */
  async run<T>(fn: (c: ZkClient) => Promise<T>): Promise<T> {
    const c = await this.connected();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        c.disconnect();
        reject(new OpTimeout(this.opts.opTimeoutMs));
      }, this.opts.opTimeoutMs);
    });
    try {
      return await Promise.race([fn(c), timeout]);
    } finally {
      clearTimeout(timer);
      this.lastZxid = Math.max(this.lastZxid, c.lastZxid);
    }
  }

  /** Drops the connection, keeping the session for a later re-attach. */
  disconnect(): void {
    this.client?.disconnect();
  }

  /** Closes the session (closeSession) and stops. */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    if (c && !c.isClosed) await c.close().catch(() => c.disconnect());
  }
}
