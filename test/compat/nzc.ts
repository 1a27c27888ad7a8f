/**
 * A promise wrapper around the npm package node-zookeeper-client (a pure JavaScript ZooKeeper
 * client, callback style). Used by node-zookeeper-client.test.ts and as a setup client elsewhere.
 */
import zookeeper from 'node-zookeeper-client';

export const { ACL, Id, Permission, CreateMode, Event, Exception } = zookeeper as {
  ACL: new (perms: number, id: unknown) => unknown;
  Id: new (scheme: string, id: string) => unknown;
  Permission: Record<'READ' | 'WRITE' | 'CREATE' | 'DELETE' | 'ADMIN' | 'ALL', number>;
  CreateMode: Record<'PERSISTENT' | 'PERSISTENT_SEQUENTIAL' | 'EPHEMERAL' | 'EPHEMERAL_SEQUENTIAL', number>;
  Event: Record<'NODE_CREATED' | 'NODE_DELETED' | 'NODE_DATA_CHANGED' | 'NODE_CHILDREN_CHANGED', number>;
  Exception: Record<string, number>;
};

/** Stat as node-zookeeper-client decodes it: jute longs are 8-byte Buffers. */
export interface NzcStat {
  czxid: Buffer;
  mzxid: Buffer;
  ctime: Buffer;
  mtime: Buffer;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
  pzxid: Buffer;
}

export interface NzcEvent {
  type: number;
  name: string;
  path: string;
}

export interface NzcAcl {
  permission: number;
  id: { scheme: string; id: string };
}

export interface NzcOpResult {
  type: number;
  err?: number;
  path?: string;
  stat?: NzcStat;
}

/** A client error carries the ZooKeeper error code (e.g. -101 NONODE). */
export interface NzcError extends Error {
  code: number;
  name: string;
}

export const long = (b: Buffer): bigint => b.readBigInt64BE(0);

type Cb<T> = (err: NzcError | null, ...rest: unknown[]) => T;

function call<T>(fn: (cb: Cb<void>) => void, pick: (rest: unknown[]) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, ...rest) => (err ? reject(err) : resolve(pick(rest))));
  });
}

/** Expects a promise to reject with the given ZooKeeper error code; returns the error. */
export async function zkError(p: Promise<unknown>): Promise<NzcError> {
  try {
    await p;
  } catch (e) {
    return e as NzcError;
  }
  throw new Error('expected a ZooKeeper error, got success');
}

export class Nzc {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly raw: any;
  private closed = false;

  private constructor(raw: unknown) {
    this.raw = raw;
  }

  static async connect(connectString: string, opts: { sessionTimeout?: number } = {}): Promise<Nzc> {
    const raw = zookeeper.createClient(connectString, { sessionTimeout: opts.sessionTimeout ?? 10_000, spinDelay: 200, retries: 0 });
    const c = new Nzc(raw);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node-zookeeper-client: no connection to ${connectString} within 15 s`)), 15_000);
      raw.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      raw.connect();
    });
    return c;
  }

  sessionId(): bigint {
    return long(this.raw.getSessionId());
  }

  /** Closes the session (sends closeSession) and waits for the client to report it. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      this.raw.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.raw.close();
    });
  }

  addAuthInfo(scheme: string, auth: string): void {
    this.raw.addAuthInfo(scheme, Buffer.from(auth));
  }

  create(path: string, data?: Buffer | null, acls?: unknown[], mode?: number): Promise<string> {
    return call((cb) => this.raw.create(path, data ?? null, acls ?? ACL_OPEN(), mode ?? CreateMode.PERSISTENT, cb), (r) => r[0] as string);
  }

  getData(path: string, watcher?: (e: NzcEvent) => void): Promise<{ data: Buffer | null; stat: NzcStat }> {
    return call(
      (cb) => (watcher ? this.raw.getData(path, watcher, cb) : this.raw.getData(path, cb)),
      (r) => ({ data: (r[0] as Buffer | null) ?? null, stat: r[1] as NzcStat }),
    );
  }

  setData(path: string, data: Buffer | null, version = -1): Promise<NzcStat> {
    return call((cb) => this.raw.setData(path, data, version, cb), (r) => r[0] as NzcStat);
  }

  exists(path: string, watcher?: (e: NzcEvent) => void): Promise<NzcStat | null> {
    return call((cb) => (watcher ? this.raw.exists(path, watcher, cb) : this.raw.exists(path, cb)), (r) => (r[0] as NzcStat | null) ?? null);
  }

  getChildren(path: string, watcher?: (e: NzcEvent) => void): Promise<{ children: string[]; stat: NzcStat }> {
    return call(
      (cb) => (watcher ? this.raw.getChildren(path, watcher, cb) : this.raw.getChildren(path, cb)),
      (r) => ({ children: r[0] as string[], stat: r[1] as NzcStat }),
    );
  }

  remove(path: string, version = -1): Promise<void> {
    return call((cb) => this.raw.remove(path, version, cb), () => undefined);
  }

  getACL(path: string): Promise<{ acls: NzcAcl[]; stat: NzcStat }> {
    return call((cb) => this.raw.getACL(path, cb), (r) => ({ acls: r[0] as NzcAcl[], stat: r[1] as NzcStat }));
  }

  setACL(path: string, acls: unknown[], version = -1): Promise<NzcStat> {
    return call((cb) => this.raw.setACL(path, acls, version, cb), (r) => r[0] as NzcStat);
  }

  /** Builds and commits a multi; resolves with {error, results} (error is the first failing op's, or null). */
  multi(build: (t: any) => unknown): Promise<{ error: NzcError | null; results: NzcOpResult[] }> {
    const t = this.raw.transaction();
    build(t);
    return new Promise((resolve) => {
      t.commit((error: NzcError | null, results: NzcOpResult[]) => resolve({ error: error ?? null, results: results ?? [] }));
    });
  }
}

function ACL_OPEN(): unknown[] {
  return (zookeeper as { ACL: { OPEN_ACL_UNSAFE: unknown[] } }).ACL.OPEN_ACL_UNSAFE;
}

/** Collects watcher events and lets a test await the n-th one. */
export class EventLog {
  readonly events: NzcEvent[] = [];
  private waiters: Array<() => void> = [];

  readonly watcher = (e: NzcEvent): void => {
    this.events.push({ type: e.type, name: e.name, path: e.path });
    for (const w of this.waiters.splice(0)) w();
  };

  async waitFor(count: number, timeoutMs = 10_000): Promise<NzcEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} watch event(s), got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }
}
