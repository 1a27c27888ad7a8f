/**
 * The sessions of one thread and the load they generate. The main thread owns one Runner when
 * --threads is 1, and drives one per worker thread otherwise (worker.ts) through the same methods.
 * Loads are closed-loop (each session keeps `outstanding` requests in flight and sends the next one
 * as soon as a reply arrives) or, with a `rate`, open-loop: requests are due at fixed intervals
 * whatever the replies do, and latency counts from when a request was due, so that a server that
 * falls behind is charged for the queue it builds (no coordinated omission). Times are wall-clock milliseconds
 * (performance.timeOrigin + performance.now()), comparable between threads.
 */
import { ZkClient, type RawReply } from '../client/index.js';
import { ErrorCode, EventType, JuteWriter, KeeperError, OpCode, errorName } from '../jute/index.js';
import { Rng, Samples } from './stats.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface RunnerSpec {
  hosts: HostPort[];
  /** Global indexes of this runner's sessions: they pick the host (round-robin) and the random seed. */
  sessions: number[];
  sessionTimeout: number;
  /** Handshakes in flight at once, for this runner. */
  connectConcurrency: number;
  /** Parent of every znode the benchmark uses, e.g. /bench. */
  prefix: string;
  /** Local addresses to connect from, session g from the (g % n)th (more sessions than one address has ports). */
  localAddresses?: string[];
}

export type LoadKind = 'read' | 'write' | 'mixed' | 'create-delete' | 'large-read' | 'large-write' | 'populate' | 'watch-arm';

export interface LoadParams {
  kind: LoadKind;
  outstanding: number;
  keys: number;
  valueSize: number;
  largeSize: number;
  /** Unique per run, so that create-delete paths never collide with an earlier run's leftovers. */
  runTag: string;
  /** Timed runs: replies between startAt + warmupMs and startAt + warmupMs + durationMs count. */
  startAt?: number;
  warmupMs?: number;
  durationMs?: number;
  /**
   * Counted runs (populate, watch-arm): znodes from..count-1, znode i created (or watched) by global
   * session (i - from) % totalSessions.
   */
  count?: number;
  from?: number;
  /**
   * read, write, mixed: the keys are `${keysUnder}/0` .. `/${keys - 1}` (e.g. populated znodes)
   * instead of the data nodes; their requests are encoded as they are sent, not kept per key.
   */
  keysUnder?: string;
  totalSessions?: number;
  /** Open loop: this runner's requests per second, spread round-robin over its sessions (each still capped at `outstanding`). */
  rate?: number;
}

export interface LoadResult {
  ops: number;
  latencies: Float64Array;
  errors: Record<string, number>;
  /** Wall time of the first request sent and the last reply received (counted runs). */
  firstSend: number;
  lastReply: number;
  /** Requests still unanswered when the run gave up waiting for them. */
  undrained: number;
}

export interface ConnectResult {
  connected: number;
  latencies: Float64Array;
  errors: Record<string, number>;
}

export const now = (): number => performance.timeOrigin + performance.now();

const OPEN_ACL = (w: JuteWriter) => {
  w.int(1);
  w.int(31);
  w.ustring('world');
  w.ustring('anyone');
};

export function dataPath(prefix: string, i: number): string {
  return `${prefix}/data/${i}`;
}
export function largePath(prefix: string): string {
  return `${prefix}/large`;
}
export function watchPath(prefix: string): string {
  return `${prefix}/watch`;
}
/** The parent of populate's znodes. */
export function popDir(prefix: string): string {
  return `${prefix}/pop`;
}
export function popPath(prefix: string, i: number): string {
  return `${popDir(prefix)}/${i}`;
}
/** The paths watch-arm watches: znodes that do not exist, so that a watch costs no znode. */
export function watchedPath(prefix: string, i: number): string {
  return `${prefix}/watched/${i}`;
}

/** Encodes one request body once, so that the hot loop only copies bytes. */
function encode(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(256);
  write(w);
  return Buffer.from(w.bytes());
}

/** Appends pre-encoded bytes; TypedArray.set where they fit (Buffer.copy makes a view per call). */
function put(w: JuteWriter, b: Buffer): void {
  if (w.offset + b.length <= w.buf.length) {
    w.buf.set(b, w.offset);
    w.offset += b.length;
  } else {
    w.raw(b);
  }
}

function rawBody(b: Buffer): (w: JuteWriter) => void {
  return (w) => put(w, b);
}

/** The tail of a CreateRequest after its path: data, the open ACL, flags 0 (persistent). */
function createTail(value: Buffer): Buffer {
  return encode((w) => {
    w.buffer(value);
    OPEN_ACL(w);
    w.int(0);
  });
}

interface Op {
  type: number;
  body: (w: JuteWriter) => void;
}

/** Builds the request stream of one session: op number n of the session with global index g. */
function opSource(p: LoadParams, prefix: string, g: number): (n: number) => Op | undefined {
  const rng = new Rng(g + 1);
  const value = Buffer.alloc(p.valueSize, 0x61);
  switch (p.kind) {
    case 'read':
    case 'write':
    case 'mixed': {
      if (p.keysUnder !== undefined) return lazyKeyOps(p, p.keysUnder, rng, value);
      const reads: Op[] = [];
      const writes: Op[] = [];
      for (let i = 0; i < p.keys; i++) {
        const path = dataPath(prefix, i);
        if (p.kind !== 'write') {
          reads.push({ type: OpCode.getData, body: rawBody(encode((w) => (w.ustring(path), w.bool(false)))) });
        }
        if (p.kind !== 'read') {
          writes.push({ type: OpCode.setData, body: rawBody(encode((w) => (w.ustring(path), w.buffer(value), w.int(-1)))) });
        }
      }
      if (p.kind === 'read') return () => reads[rng.int(p.keys)];
      if (p.kind === 'write') return () => writes[rng.int(p.keys)];
      // 90% reads: the key and the kind of op from the same generator.
      return () => {
        const k = rng.int(p.keys * 10);
        return k < p.keys ? writes[k] : reads[k % p.keys];
      };
    }
    case 'large-read': {
      const path = largePath(prefix);
      const op: Op = { type: OpCode.getData, body: rawBody(encode((w) => (w.ustring(path), w.bool(false)))) };
      return () => op;
    }
    case 'large-write': {
      const path = largePath(prefix);
      const big = Buffer.alloc(p.largeSize, 0x62);
      const body = encode((w) => (w.ustring(path), w.buffer(big), w.int(-1)));
      const op: Op = { type: OpCode.setData, body: rawBody(body) };
      return () => op;
    }
    case 'create-delete': {
      // Op 2k creates a node and op 2k+1 deletes it: both in flight at once, in order on one session.
      const tail = createTail(value);
      const base = `${prefix}/cd/${p.runTag}-${g}-`;
      return (n) => {
        const path = base + (n >> 1);
        if ((n & 1) === 0) return { type: OpCode.create, body: (w) => (w.ustring(path), put(w, tail)) };
        return { type: OpCode.delete, body: (w) => (w.ustring(path), w.int(-1)) };
      };
    }
    case 'populate': {
      const tail = createTail(value);
      return counted(p, g, (i) => {
        const path = popPath(prefix, i);
        return { type: OpCode.create, body: (w) => (w.ustring(path), put(w, tail)) };
      });
    }
    case 'watch-arm':
      // exists(path, watch) on a missing znode: NONODE, and a data watch that fires when it is created.
      return counted(p, g, (i) => {
        const path = watchedPath(prefix, i);
        return { type: OpCode.exists, body: (w) => (w.ustring(path), w.bool(true)) };
      });
  }
}

/** A counted run's ops: op n of global session g is on item from + g + n * totalSessions, up to count. */
function counted(p: LoadParams, g: number, op: (i: number) => Op): (n: number) => Op | undefined {
  const total = p.totalSessions!;
  const count = p.count!;
  const from = p.from ?? 0;
  return (n) => {
    const i = from + g + n * total;
    return i < count ? op(i) : undefined;
  };
}

/**
 * read/write/mixed over many keys (millions of populated znodes): each request encoded when sent,
 * since one pre-encoded request per key and session would not fit in memory.
 */
function lazyKeyOps(p: LoadParams, under: string, rng: Rng, value: Buffer): () => Op {
  const read = (k: number): Op => ({ type: OpCode.getData, body: (w) => (w.ustring(`${under}/${k}`), w.bool(false)) });
  const write = (k: number): Op => ({ type: OpCode.setData, body: (w) => (w.ustring(`${under}/${k}`), w.buffer(value), w.int(-1)) });
  if (p.kind === 'read') return () => read(rng.int(p.keys));
  if (p.kind === 'write') return () => write(rng.int(p.keys));
  return () => {
    const k = rng.int(p.keys * 10);
    return k < p.keys ? write(k) : read(k % p.keys);
  };
}

function codeName(e: Error | undefined, reply: RawReply | undefined): string {
  if (e) return e instanceof KeeperError ? errorName(e.code) : e.message;
  return errorName(reply!.header.err);
}

export class Runner {
  private clients: (ZkClient | undefined)[] = [];
  private eventTimes = new Samples();
  private eventWaiter: (() => void) | undefined;
  private eventTarget = 0;

  constructor(readonly spec: RunnerSpec) {}

  get sessionCount(): number {
    return this.clients.filter((c) => c && !c.isClosed).length;
  }

  /** Opens every session of this runner, `connectConcurrency` handshakes at a time. */
  async connect(): Promise<ConnectResult> {
    const s = this.spec;
    const lat = new Samples();
    const errors: Record<string, number> = {};
    this.clients = new Array(s.sessions.length);
    const wpath = watchPath(s.prefix);
    let next = 0;
    const worker = async () => {
      while (next < s.sessions.length) {
        const i = next++;
        const hp = s.hosts[s.sessions[i]! % s.hosts.length]!;
        const t0 = now();
        try {
          const local = s.localAddresses?.[s.sessions[i]! % s.localAddresses.length];
          const c = await ZkClient.connect({ host: hp.host, port: hp.port, timeout: s.sessionTimeout, connectTimeout: 30_000, ...(local ? { localAddress: local } : {}) });
          lat.push(now() - t0);
          c.onEvent((e) => {
            if (e.type === EventType.NodeDataChanged && e.path === wpath) {
              this.eventTimes.push(now());
              if (this.eventWaiter && this.eventTimes.length >= this.eventTarget) this.eventWaiter();
            }
          });
          this.clients[i] = c;
        } catch (e) {
          const name = e instanceof KeeperError ? errorName(e.code) : (e as Error).message;
          errors[name] = (errors[name] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(s.connectConcurrency, s.sessions.length)) }, worker));
    return { connected: this.sessionCount, latencies: lat.toArray(), errors };
  }

  /** Runs one timed or counted load on every connected session. */
  load(p: LoadParams): Promise<LoadResult> {
    const errors: Record<string, number> = {};
    const lat = new Samples(1 << 16);
    const counted = p.count !== undefined;
    const measureFrom = counted ? 0 : p.startAt! + p.warmupMs!;
    const endAt = counted ? Infinity : measureFrom + p.durationMs!;
    let ops = 0;
    let firstSend = Infinity;
    let lastReply = 0;
    let live = 0;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));

    const paced = p.rate !== undefined;
    const armsWatches = p.kind === 'watch-arm';
    /** Paced mode: per session, sends one request due at time t; false when it may not (capped, or over). */
    const pacedSessions: { send: (due: number) => boolean; idle: () => void }[] = [];
    let pacing = paced;

    const startSession = (c: ZkClient, g: number) => {
      const source = opSource(p, this.spec.prefix, g);
      const W = p.outstanding;
      const starts = new Float64Array(W);
      let head = 0;
      let tail = 0;
      let inflight = 0;
      let n = 0;
      let stopped = false;
      live++;
      const end = () => {
        if (stopped) return;
        stopped = true;
        if (--live === 0) finish();
      };
      const issue = (t: number): boolean => {
        if (t >= endAt || inflight === W) return false;
        const op = source(n);
        if (op === undefined) return false;
        n++;
        starts[tail] = t;
        tail = tail + 1 === W ? 0 : tail + 1;
        inflight++;
        c.requestCallback(op.type, op.body, onReply);
        return true;
      };
      const onReply = (e: Error | undefined, reply: RawReply | undefined) => {
        const t = now();
        const t0 = starts[head]!;
        head = head + 1 === W ? 0 : head + 1;
        inflight--;
        // watch-arm's exists on a missing znode answers NONODE, having set its watch.
        if (e || (reply!.header.err !== 0 && !(armsWatches && reply!.header.err === ErrorCode.NONODE))) {
          const name = codeName(e, reply);
          errors[name] = (errors[name] ?? 0) + 1;
          if (e) {
            // The connection is gone: its other requests fail the same way, and it sends no more.
            if (inflight === 0) end();
            return;
          }
        } else if (t >= measureFrom && t <= endAt) {
          // Every reply received in the window counts (and its latency), whenever its request left.
          ops++;
          lat.push(t - t0);
          if (t > lastReply) lastReply = t;
        }
        if (paced) {
          if (!pacing && inflight === 0) end();
        } else if (c.isClosed || !issue(t)) {
          if (inflight === 0) end();
        }
      };
      const t = now();
      if (t < firstSend) firstSend = t;
      if (paced) {
        pacedSessions.push({ send: (due) => !c.isClosed && issue(due), idle: () => inflight === 0 && end() });
        return;
      }
      let any = false;
      for (let i = 0; i < W; i++) if (issue(now())) any = true;
      if (!any) end();
    };

    /**
     * Paced mode: every millisecond or so, sends the requests that have fallen due since the last
     * pass (request k is due at start + k / rate), round-robin over the sessions. A request whose
     * session is at its cap waits for the next pass, still charged from when it was due.
     */
    const pace = () => {
      const begin = now();
      const interval = 1000 / p.rate!;
      let k = 0;
      let rr = 0;
      const pass = () => {
        const t = now();
        if (t >= endAt || pacedSessions.length === 0) {
          pacing = false;
          for (const s of pacedSessions) s.idle();
          return;
        }
        const due = Math.floor((t - begin) / interval);
        let blocked = 0;
        while (k <= due && blocked < pacedSessions.length) {
          if (pacedSessions[rr]!.send(begin + k * interval)) {
            k++;
            blocked = 0;
          } else {
            blocked++;
          }
          rr = rr + 1 === pacedSessions.length ? 0 : rr + 1;
        }
        setTimeout(pass, 1);
      };
      pass();
    };

    const start = () => {
      this.clients.forEach((c, i) => {
        if (c && !c.isClosed) startSession(c, this.spec.sessions[i]!);
      });
      if (live === 0) finish();
      else if (paced) pace();
    };
    const delay = counted ? 0 : Math.max(0, p.startAt! - now());
    setTimeout(start, delay);

    // A request that never comes back must not hang the run: give up 60 s after the window.
    return new Promise<LoadResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const result = (undrained: number) => {
        if (timer) clearTimeout(timer);
        resolve({ ops, latencies: lat.toArray(), errors, firstSend, lastReply, undrained });
      };
      void done.then(() => result(0));
      if (!counted) {
        timer = setTimeout(() => {
          const left = this.clients.reduce((a, c) => a + (c?.outstanding ?? 0), 0);
          errors.UNANSWERED = (errors.UNANSWERED ?? 0) + left;
          result(left);
        }, delay + p.warmupMs! + p.durationMs! + 60_000);
      }
    });
  }

  /** Sets a data watch on the watch node from every session; resolves when all are set. */
  async arm(): Promise<Record<string, number>> {
    const errors: Record<string, number> = {};
    this.eventTimes = new Samples();
    const path = watchPath(this.spec.prefix);
    const body = encode((w) => (w.ustring(path), w.bool(true)));
    await Promise.all(
      this.clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (!c || c.isClosed) return resolve();
            c.requestCallback(OpCode.getData, (w) => w.raw(body), (e, r) => {
              if (e || r!.header.err !== 0) {
                const name = codeName(e, r);
                errors[name] = (errors[name] ?? 0) + 1;
              }
              resolve();
            });
          }),
      ),
    );
    return errors;
  }

  /** Wall times of the watch notifications since arm(), once all `expected` arrived or after timeoutMs. */
  async events(expected: number, timeoutMs: number): Promise<Float64Array> {
    if (this.eventTimes.length < expected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => resolve(), timeoutMs);
        this.eventTarget = expected;
        this.eventWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.eventWaiter = undefined;
    }
    return this.eventTimes.toArray();
  }

  /** Closes every session (closeSession), `connectConcurrency` at a time. */
  async close(): Promise<Record<string, number>> {
    const errors: Record<string, number> = {};
    const clients = this.clients.filter((c): c is ZkClient => c !== undefined);
    this.clients = [];
    let next = 0;
    const worker = async () => {
      while (next < clients.length) {
        const c = clients[next++]!;
        try {
          await c.close();
        } catch (e) {
          const name = e instanceof KeeperError ? errorName(e.code) : (e as Error).message;
          errors[name] = (errors[name] ?? 0) + 1;
          c.disconnect();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.spec.connectConcurrency * 4, clients.length)) }, worker));
    return errors;
  }

  /** Drops every connection without closing the sessions. */
  disconnect(): void {
    for (const c of this.clients) c?.disconnect();
    this.clients = [];
  }
}
