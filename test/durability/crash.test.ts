/**
 * Crash safety of zkts (forceSync=yes, the default): a concurrent write load from several clients,
 * SIGKILL at random moments (some aimed at snapshots being written), a restart on the same dataDir
 * each time, and after each restart a check of the whole state against what the clients were told.
 *
 * Each client owns a subtree /c<i> and keeps an exact model of it. Its writes (named, sequential
 * and ephemeral creates, setData and deletes with versions, multis that succeed and that fail) are
 * chosen against the model with every earlier write assumed to go through, so every reply can be
 * predicted, and is checked against the prediction when it comes. A client's writes are applied in
 * the order it sent them and become durable in zxid order, so after a crash its subtree must be
 * exactly the model after all ACKNOWLEDGED writes plus a prefix (possibly empty) of the writes
 * whose outcome is unknown (sent, but the connection died before the reply). Anything else is a
 * lost acknowledged write, or a node no client ever wrote. The data, version and ephemeralOwner of
 * every node are compared, and the parents' child-creation counters (which the sequence numbers
 * come from).
 *
 * Sessions: the ephemerals of a session that died with the server must be there after a restart
 * as long as the session cannot have expired yet (every server run since was shorter than its
 * timeout), all of them or none (the expiry deletes them in one txn), and must be gone once a run
 * lasted past the timeout (plus a tick and some slack). At the end, after a clean SIGTERM shutdown
 * and a last restart, every ephemeral of a dead session must disappear within its timeout.
 *
 * CRASH_KILLS (default 20) sets the number of kills; CRASH_SEED the seed of the op and kill choices
 * (printed; the timing of a real process is not replayable, the choices are).
 */
import { existsSync, mkdtempSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { OPEN_ACL_UNSAFE, ZkClient } from '../../src/client/index.js';
import { ErrorCode, KeeperError, OpCode, type MultiOp, type MultiResult } from '../../src/jute/index.js';
import { purgeDataDir } from '../../src/zab/index.js';
import { prng } from '../zab/helpers.js';
import { startZkts, startZktsAndKill, warnings, type ZktsProcess } from './launcher.js';

const KILLS = Number(process.env.CRASH_KILLS ?? 20);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 4;
const OUTSTANDING = 20;
const TICK = 200;
const SESSION_TIMEOUT = 800;
/** What may separate a session's deadline from its expiry txn being durable (timers, a busy loop). */
const EXPIRY_SLACK = 1000;
const BALLAST = 600;
const NAMED_KEYS = 40;
const MAX_SEQ = 60;

const work = mkdtempSync(join(tmpdir(), 'zkts-crash-'));
const dataDir = join(work, 'data');
const v2 = join(dataDir, 'version-2');
const SNAP_TMP = join(v2, 'snapshot.0.inprogress.tmp');
let server: ZktsProcess | undefined;

afterAll(async () => {
  await server?.kill('SIGKILL');
  if (!process.env.CRASH_KEEP) rmSync(work, { recursive: true, force: true });
  else console.log(`crash test data kept in ${work}`);
});

// ---------------------------------------------------------------------------------------------
// the model of one client's subtree

interface MNode {
  data: string;
  version: number;
  /** 0n for a persistent node. */
  owner: bigint;
}

class Model {
  nodes = new Map<string, MNode>();
  /** Child creations under /c<i>/seq (the parent's internal cversion: the next sequence number). */
  seqCreates = 0;
  /** Child creations under /c<i> ('seq' included). */
  topCreates = 1;
  constructor(readonly root: string) {}
  clone(): Model {
    const m = new Model(this.root);
    for (const [p, n] of this.nodes) m.nodes.set(p, { ...n });
    m.seqCreates = this.seqCreates;
    m.topCreates = this.topCreates;
    return m;
  }
}

type SubOp =
  | { kind: 'create'; path: string; data: string; flags: 0 | 1 | 2; owner: bigint }
  | { kind: 'set'; path: string; data: string; version: number }
  | { kind: 'delete'; path: string; version: number }
  | { kind: 'check'; path: string; version: number };
type Op = SubOp | { kind: 'multi'; ops: SubOp[] };

/** What a write's reply says, as far as the model predicts it. */
interface Outcome {
  err: number;
  /** Created paths (create, or the creates of a multi). */
  paths?: string[];
  /** New data versions (setData, or the setData ops of a multi). */
  versions?: number[];
}

const pad10 = (n: number) => String(n).padStart(10, '0');

/** Applies a single op to the model: the outcome ZooKeeper gives, and the model changed accordingly. */
function applySub(m: Model, op: SubOp): Outcome {
  const node = m.nodes.get(op.path);
  switch (op.kind) {
    case 'create': {
      if (op.flags === 2) {
        const path = op.path + pad10(m.seqCreates++);
        m.nodes.set(path, { data: op.data, version: 0, owner: 0n });
        return { err: 0, paths: [path] };
      }
      if (node) return { err: ErrorCode.NODEEXISTS };
      m.nodes.set(op.path, { data: op.data, version: 0, owner: op.flags === 1 ? op.owner : 0n });
      m.topCreates++;
      return { err: 0, paths: [op.path] };
    }
    case 'set':
      if (!node) return { err: ErrorCode.NONODE };
      if (op.version !== -1 && op.version !== node.version) return { err: ErrorCode.BADVERSION };
      node.version++;
      node.data = op.data;
      return { err: 0, versions: [node.version] };
    case 'delete':
      if (!node) return { err: ErrorCode.NONODE };
      if (op.version !== -1 && op.version !== node.version) return { err: ErrorCode.BADVERSION };
      m.nodes.delete(op.path);
      return { err: 0 };
    case 'check':
      if (!node) return { err: ErrorCode.NONODE };
      if (op.version !== -1 && op.version !== node.version) return { err: ErrorCode.BADVERSION };
      return { err: 0 };
  }
}

/** Applies an op to the model in place (a multi all or nothing). */
function applyOp(m: Model, op: Op): Outcome {
  if (op.kind !== 'multi') return applySub(m, op);
  const trial = m.clone();
  const out: Outcome = { err: 0, paths: [], versions: [] };
  for (const sub of op.ops) {
    const r = applySub(trial, sub);
    if (r.err !== 0) return { err: r.err };
    out.paths!.push(...(r.paths ?? []));
    out.versions!.push(...(r.versions ?? []));
  }
  m.nodes = trial.nodes;
  m.seqCreates = trial.seqCreates;
  m.topCreates = trial.topCreates;
  return out;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.err === b.err && JSON.stringify(a.paths ?? []) === JSON.stringify(b.paths ?? []) && JSON.stringify(a.versions ?? []) === JSON.stringify(b.versions ?? []);
}

function describeOp(op: Op): string {
  if (op.kind === 'multi') return `multi[${op.ops.map(describeOp).join(', ')}]`;
  if (op.kind === 'create') return `create(${op.path}, flags ${op.flags})`;
  return `${op.kind}(${op.path}, v${op.version})`;
}

// ---------------------------------------------------------------------------------------------
// sending ops

function toMultiOp(op: SubOp): MultiOp {
  switch (op.kind) {
    case 'create':
      return { type: OpCode.create, req: { path: op.path, data: Buffer.from(op.data), acl: OPEN_ACL_UNSAFE, flags: op.flags } };
    case 'set':
      return { type: OpCode.setData, req: { path: op.path, data: Buffer.from(op.data), version: op.version } };
    case 'delete':
      return { type: OpCode.delete, req: { path: op.path, version: op.version } };
    case 'check':
      return { type: OpCode.check, req: { path: op.path, version: op.version } };
  }
}

/** Sends an op; resolves with its outcome, or undefined when the connection was lost (unknown outcome). */
async function send(c: ZkClient, op: Op): Promise<Outcome | undefined> {
  try {
    switch (op.kind) {
      case 'create': {
        const r = await c.create(op.path, Buffer.from(op.data), OPEN_ACL_UNSAFE, op.flags);
        return { err: 0, paths: [r.path] };
      }
      case 'set':
        return { err: 0, versions: [(await c.setData(op.path, Buffer.from(op.data), op.version)).version] };
      case 'delete':
        await c.delete(op.path, op.version);
        return { err: 0 };
      case 'check':
        throw new Error('check is only sent inside a multi');
      case 'multi': {
        const results: MultiResult[] = await c.multi(op.ops.map(toMultiOp));
        const failed = results.find((r) => r.type === OpCode.error && r.err !== 0 && r.err !== ErrorCode.RUNTIMEINCONSISTENCY);
        if (failed && failed.type === OpCode.error) return { err: failed.err };
        const out: Outcome = { err: 0, paths: [], versions: [] };
        for (const r of results) {
          if (r.type === OpCode.create || r.type === OpCode.create2) out.paths!.push(r.path);
          if (r.type === OpCode.setData) out.versions!.push(r.stat.version);
        }
        return out;
      }
    }
  } catch (e) {
    if (e instanceof KeeperError && e.code === ErrorCode.CONNECTIONLOSS) return undefined;
    if (e instanceof KeeperError) return { err: e.code };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// the state seen through a client

interface Seen {
  nodes: Map<string, MNode>;
  seqCreates: number;
  topCreates: number;
}

/** Reads a client's subtree: children lists in one multiRead, then every node in another. */
async function readSubtree(v: ZkClient, root: string): Promise<Seen> {
  const [top, seq] = await v.multiRead([
    { type: OpCode.getChildren, req: { path: root, watch: false } },
    { type: OpCode.getChildren, req: { path: `${root}/seq`, watch: false } },
  ]);
  if (top!.type !== OpCode.getChildren || seq!.type !== OpCode.getChildren) throw new Error(`${root}: cannot list children`);
  const paths = [root, `${root}/seq`, ...top!.children.filter((n) => n !== 'seq').map((n) => `${root}/${n}`), ...seq!.children.map((n) => `${root}/seq/${n}`)];
  const results = await v.multiRead(paths.map((path) => ({ type: OpCode.getData, req: { path, watch: false } })));
  const seen: Seen = { nodes: new Map(), seqCreates: -1, topCreates: -1 };
  results.forEach((r, i) => {
    const path = paths[i]!;
    if (r.type === OpCode.error) {
      // A listed node gone by the time it was read: only an ephemeral whose session just expired.
      if (r.err === ErrorCode.NONODE && i >= 2) return;
      throw new Error(`reading ${path}: error ${r.err}`);
    }
    if (r.type !== OpCode.getData) throw new Error(`reading ${path}: unexpected result ${r.type}`);
    const created = (r.stat.cversion + r.stat.numChildren) / 2;
    if (i === 0) seen.topCreates = created;
    else if (i === 1) seen.seqCreates = created;
    else seen.nodes.set(path, { data: r.data?.toString() ?? '', version: r.stat.version, owner: r.stat.ephemeralOwner });
  });
  return seen;
}

const groupBy = (nodes: Map<string, MNode>) => {
  const groups = new Map<bigint, Map<string, MNode>>();
  for (const [p, n] of nodes) {
    let g = groups.get(n.owner);
    if (!g) groups.set(n.owner, (g = new Map()));
    g.set(p, n);
  }
  return groups;
};

function diffNodes(seen: Map<string, MNode>, want: Map<string, MNode>, what: string): string[] {
  const out: string[] = [];
  for (const [p, n] of want) {
    const s = seen.get(p);
    if (!s) out.push(`${what}: ${p} missing (want data ${n.data.substring(0, 20)} v${n.version})`);
    else if (s.data !== n.data || s.version !== n.version || s.owner !== n.owner) {
      out.push(`${what}: ${p} is data ${s.data.substring(0, 20)} v${s.version} owner ${s.owner.toString(16)}, want ${n.data.substring(0, 20)} v${n.version} owner ${n.owner.toString(16)}`);
    }
  }
  for (const p of seen.keys()) if (!want.has(p)) out.push(`${what}: ${p} should not exist`);
  return out;
}

/**
 * Differences between what a client reads and a candidate model: persistent nodes and counters
 * exactly; each dead session's ephemerals all as in the model, or all gone (expired).
 */
function compareWith(seen: Seen, m: Model): { diffs: string[]; expired: bigint[] } {
  const diffs: string[] = [];
  if (seen.seqCreates !== m.seqCreates) diffs.push(`${m.root}/seq: ${seen.seqCreates} child creations, want ${m.seqCreates}`);
  if (seen.topCreates !== m.topCreates) diffs.push(`${m.root}: ${seen.topCreates} child creations, want ${m.topCreates}`);
  const sg = groupBy(seen.nodes);
  const mg = groupBy(m.nodes);
  diffs.push(...diffNodes(sg.get(0n) ?? new Map(), mg.get(0n) ?? new Map(), 'persistent'));
  const expired: bigint[] = [];
  for (const [owner, g] of sg) {
    if (owner === 0n) continue;
    const want = mg.get(owner);
    if (!want) diffs.push(`ephemerals of session 0x${owner.toString(16)} that no client created: ${[...g.keys()].join(' ')}`);
    else diffs.push(...diffNodes(g, want, `session 0x${owner.toString(16)}`));
  }
  for (const owner of mg.keys()) if (owner !== 0n && !sg.has(owner)) expired.push(owner);
  return { diffs, expired };
}

// ---------------------------------------------------------------------------------------------
// the load

interface Runs {
  spawnedAt: number;
  listeningAt: number;
  end: number;
}

/** A session whose client died with a server: its ephemerals wait for its expiry. */
interface DeadSession {
  timeout: number;
  /** The server runs since it died (the current one's end is the time of the read). */
  runs: Runs[];
}

class LoadClient {
  committed: Model;
  optimistic: Model;
  /** Sent, not yet acknowledged in order: the reply may have come (outcome) or not. */
  pending: { op: Op; outcome?: Outcome }[] = [];
  inflight = 0;
  client: ZkClient | undefined;
  private counter = 0;
  stats = { acked: 0, ackedErrors: 0, unknown: 0, unknownApplied: 0 };
  mismatches: string[] = [];
  private idle: (() => void) | undefined;

  constructor(readonly index: number, readonly rand: () => number) {
    this.committed = new Model(`/c${index}`);
    this.optimistic = this.committed.clone();
  }

  private int(n: number) {
    return Math.floor(this.rand() * n);
  }

  private data(incarnation: number): string {
    return `c${this.index}:${incarnation}:${this.counter}:` + 'x'.repeat(this.rand() < 0.9 ? this.int(40) : this.int(2000));
  }

  /** A node this session may touch: persistent, or its own ephemeral (a dead session's may expire any time). */
  private target(sessionId: bigint, filter: (p: string) => boolean = () => true): [string, MNode] | undefined {
    const xs = [...this.optimistic.nodes].filter(([p, n]) => (n.owner === 0n || n.owner === sessionId) && filter(p));
    return xs.length === 0 ? undefined : xs[this.int(xs.length)];
  }

  private version(n: MNode): number {
    const r = this.rand();
    return r < 0.7 ? n.version : r < 0.9 ? -1 : n.version + 1 + this.int(3);
  }

  /** The next op, chosen against the optimistic model. */
  private nextOp(incarnation: number, sessionId: bigint): Op {
    this.counter++;
    const root = this.committed.root;
    const named = () => `${root}/n${this.int(NAMED_KEYS)}`;
    const seqCount = [...this.optimistic.nodes.keys()].filter((p) => p.startsWith(`${root}/seq/`)).length;
    const r = this.rand();
    if (r < 0.2) return { kind: 'create', path: named(), data: this.data(incarnation), flags: 0, owner: 0n };
    if (r < 0.33 && seqCount < MAX_SEQ) return { kind: 'create', path: `${root}/seq/s-`, data: this.data(incarnation), flags: 2, owner: 0n };
    if (r < 0.4) return { kind: 'create', path: `${root}/e${incarnation}-${this.counter}`, data: this.data(incarnation), flags: 1, owner: sessionId };
    if (r < 0.6) {
      const t = this.target(sessionId);
      if (t) return { kind: 'set', path: t[0], data: this.data(incarnation), version: this.version(t[1]) };
    }
    if (r < 0.8) {
      if (this.rand() < 0.05) return { kind: 'delete', path: `${root}/n-missing`, version: -1 };
      const t = this.target(sessionId, seqCount > MAX_SEQ / 2 ? (p) => p.includes('/seq/') : undefined) ?? this.target(sessionId);
      if (t) return { kind: 'delete', path: t[0], version: this.version(t[1]) };
    }
    // A multi: usually one that goes through, sometimes one that fails on a check.
    const ops: SubOp[] = [];
    const t = this.target(sessionId);
    const k = named();
    if (!this.optimistic.nodes.has(k)) ops.push({ kind: 'create', path: k, data: this.data(incarnation), flags: 0, owner: 0n });
    if (t) ops.push({ kind: 'set', path: t[0], data: this.data(incarnation), version: t[1].version });
    if (seqCount < MAX_SEQ) ops.push({ kind: 'create', path: `${root}/seq/s-`, data: this.data(incarnation), flags: 2, owner: 0n });
    if (t && this.rand() < 0.3) ops.splice(this.int(ops.length + 1), 0, { kind: 'check', path: t[0], version: t[1].version + 7 });
    if (ops.length === 0) ops.push({ kind: 'check', path: `${root}/seq`, version: -1 });
    return { kind: 'multi', ops };
  }

  /** Runs the load until the connection dies; resolves when every request has settled. */
  run(client: ZkClient, incarnation: number): Promise<void> {
    this.client = client;
    const done = new Promise<void>((resolve) => (this.idle = resolve));
    const pump = () => {
      while (this.inflight < OUTSTANDING && !client.isClosed) {
        const op = this.nextOp(incarnation, client.sessionId);
        applyOp(this.optimistic, op);
        const entry: { op: Op; outcome?: Outcome } = { op };
        this.pending.push(entry);
        this.inflight++;
        void send(client, op).then(
          (outcome) => {
            this.inflight--;
            // Replies come in order, but their continuations may not: take them in send order.
            if (outcome) {
              entry.outcome = outcome;
              while (this.pending[0]?.outcome) {
                const head = this.pending.shift()!;
                this.acknowledged(head.op, head.outcome!);
              }
            }
            if (!client.isClosed) pump();
            else if (this.inflight === 0) this.idle?.();
          },
          (e: Error) => {
            this.inflight--;
            this.mismatches.push(`${describeOp(op)} threw ${e.message}`);
            if (this.inflight === 0 && client.isClosed) this.idle?.();
          },
        );
      }
    };
    pump();
    client.onClose(() => {
      // Every outstanding request is rejected on close; if none was outstanding, we are idle now.
      queueMicrotask(() => {
        if (this.inflight === 0) this.idle?.();
      });
    });
    return done;
  }

  private acknowledged(op: Op, actual: Outcome): void {
    const expected = applyOp(this.committed, op);
    this.stats.acked++;
    if (actual.err !== 0) this.stats.ackedErrors++;
    if (!sameOutcome(expected, actual)) this.mismatches.push(`${describeOp(op)}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }

  /** Candidates after a crash: every acknowledged write, plus each prefix of the unknown ones. */
  candidates(): Model[] {
    const out = [this.committed.clone()];
    const m = this.committed.clone();
    for (const { op, outcome } of this.pending) {
      if (outcome) throw new Error(`${describeOp(op)} acknowledged after an earlier write of unknown outcome`);
      applyOp(m, op);
      out.push(m.clone());
    }
    return out;
  }

  /** After a restart: adopt the candidate the server holds. */
  settle(m: Model, applied: number): void {
    this.stats.unknown += this.pending.length;
    this.stats.unknownApplied += applied;
    this.pending = [];
    this.committed = m;
    this.optimistic = m.clone();
  }
}

// ---------------------------------------------------------------------------------------------

const ballastData = (i: number) => Buffer.from(`ballast-${i}-`.padEnd(1024, String.fromCharCode(97 + (i % 26))));

it(`keeps every acknowledged write through ${KILLS} SIGKILLs under load`, async () => {
  console.log(`crash test: seed ${SEED} (CRASH_SEED=${SEED} repeats the choices), ${KILLS} kills, data in ${work}`);
  const rand = prng(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  const zooCfg = { workDir: work, dataDir, tickTime: TICK, cfg: ['snapCount=500', 'preAllocSize=64', 'forceSync=yes'] };
  const start = () => startZkts(zooCfg);

  const clients = Array.from({ length: CLIENTS }, (_, i) => new LoadClient(i, prng(SEED + 1 + i)));
  const dead = new Map<bigint, DeadSession>();
  const counts = {
    kills: 0,
    killsDuringSnapshot: 0,
    killsDuringStartup: 0,
    cleanStopsUnderLoad: 0,
    snapshotsWritten: 0,
    tornTailsTruncated: 0,
    logsCutAtCreation: 0,
    ackedChecked: 0,
    ackedErrors: 0,
    unknown: 0,
    unknownApplied: 0,
    lost: 0,
    ephemeralGroupsPresent: 0,
    ephemeralGroupsExpired: 0,
    expiryChecks: 0,
  };
  const problems: string[] = [];
  let zookeeperChildren: string[] = [];

  // Setup: the clients' roots and a ballast that makes snapshots take a while.
  server = await start();
  {
    const c = await ZkClient.connect({ port: server.port, timeout: 30_000 });
    for (let i = 0; i < CLIENTS; i++) {
      await c.create(`/c${i}`, null);
      await c.create(`/c${i}/seq`, null);
    }
    await c.create('/ballast', null);
    await Promise.all(Array.from({ length: BALLAST }, (_, i) => c.create(`/ballast/b${i}`, ballastData(i))));
    zookeeperChildren = (await c.getChildren('/zookeeper')).sort();
    await c.close();
  }

  /** Checks the whole state against the models, after a restart (or at the end). */
  const verify = async (label: string, final = false) => {
    const v = await ZkClient.connect({ port: server!.port, timeout: 30_000 });
    try {
      const rootChildren = (await v.getChildren('/')).sort();
      expect(rootChildren, `${label}: root`).toEqual(['ballast', ...clients.map((c) => `c${c.index}`), 'zookeeper'].sort());
      expect((await v.getChildren('/zookeeper')).sort(), `${label}: /zookeeper`).toEqual(zookeeperChildren);
      const ballast = await v.getData('/ballast');
      expect(ballast.stat.numChildren, `${label}: ballast`).toBe(BALLAST);
      for (let k = 0; k < 5; k++) {
        const i = int(BALLAST);
        expect((await v.getData(`/ballast/b${i}`)).data, `${label}: ballast ${i}`).toEqual(ballastData(i));
      }
      for (const lc of clients) {
        const seen = await readSubtree(v, lc.committed.root);
        const readAt = Date.now();
        const cands = lc.candidates();
        let chosen = -1;
        let best: string[] | undefined;
        let expired: bigint[] = [];
        for (let j = 0; j < cands.length; j++) {
          const r = compareWith(seen, cands[j]!);
          if (r.diffs.length === 0) {
            chosen = j;
            expired = r.expired;
            break;
          }
          if (!best || r.diffs.length < best.length) best = r.diffs;
        }
        counts.ackedChecked += lc.stats.acked;
        counts.ackedErrors += lc.stats.ackedErrors;
        lc.stats.acked = lc.stats.ackedErrors = 0;
        if (chosen < 0) {
          counts.lost += best!.length;
          problems.push(`${label}: ${lc.committed.root} matches no state the clients' writes allow (${lc.pending.length} writes of unknown outcome); closest:\n  ${best!.join('\n  ')}`);
          // Go on from what the server holds for the persistent part, so later rounds stay meaningful.
          const m = lc.committed.clone();
          m.nodes = new Map([...seen.nodes].map(([p, n]) => [p, { ...n }]));
          m.seqCreates = seen.seqCreates;
          m.topCreates = seen.topCreates;
          lc.settle(m, 0);
          continue;
        }
        const m = cands[chosen]!;
        // A dead session's ephemerals are all there (it cannot have expired if every server run
        // since it died was shorter than its timeout, and must have once a run lasted longer, plus
        // a tick and some slack), or all gone.
        const present = new Set(groupBy(seen.nodes).keys());
        for (const owner of new Set([...m.nodes.values()].map((n) => n.owner))) {
          const d = dead.get(owner);
          if (owner === 0n || !d) continue;
          const runs = [...d.runs.slice(0, -1), { ...d.runs.at(-1)!, end: readAt }];
          const longestSure = Math.max(0, ...runs.map((r) => r.end - r.listeningAt));
          const longestMaybe = Math.max(0, ...runs.map((r) => r.end - r.spawnedAt));
          const mustBeGone = longestSure > d.timeout + TICK + EXPIRY_SLACK;
          if (present.has(owner)) {
            counts.ephemeralGroupsPresent++;
            if (mustBeGone) problems.push(`${label}: session 0x${owner.toString(16)} (timeout ${d.timeout} ms) still has its ephemerals after a server run of ${longestSure} ms`);
          } else {
            counts.ephemeralGroupsExpired++;
            if (mustBeGone) counts.expiryChecks++;
            if (longestMaybe < d.timeout) {
              problems.push(`${label}: the ephemerals of session 0x${owner.toString(16)} are gone, but no server run since it died lasted its timeout (${longestMaybe} ms < ${d.timeout} ms)`);
            }
          }
        }
        for (const owner of expired) for (const [p, n] of [...m.nodes]) if (n.owner === owner) m.nodes.delete(p);
        if (final) expect(lc.pending.length, `${label}: nothing of unknown outcome at the end`).toBe(0);
        lc.settle(m, chosen);
      }
      for (const lc of clients) {
        counts.unknown += lc.stats.unknown;
        counts.unknownApplied += lc.stats.unknownApplied;
        lc.stats.unknown = lc.stats.unknownApplied = 0;
        problems.push(...lc.mismatches.map((m) => `${label}: c${lc.index}: ${m}`));
        lc.mismatches = [];
      }
      // Dead sessions with every ephemeral gone need no more watching.
      const owners = new Set(clients.flatMap((lc) => [...lc.committed.nodes.values()].map((n) => n.owner)));
      for (const id of dead.keys()) if (!owners.has(id)) dead.delete(id);
    } finally {
      await v.close();
    }
    if (problems.length > 0) throw new Error(`${problems.length} problem(s):\n${problems.slice(0, 30).join('\n')}`);
  };

  for (let round = 1; counts.kills < KILLS; round++) {
    // Load: each client on a new session (the old ones died with the server).
    const sessions = await Promise.all(clients.map(() => ZkClient.connect({ port: server!.port, timeout: SESSION_TIMEOUT })));
    const loads = clients.map((lc, i) => lc.run(sessions[i]!, round));
    const mode = rand();
    // Now and then a clean shutdown under load instead: in-flight writes drained, a last snapshot.
    const clean = rand() < 0.12;
    const signal = clean ? 'SIGTERM' : 'SIGKILL';
    const s = server!;
    let watcher: FSWatcher | undefined;
    await new Promise<void>((resolve) => {
      if (mode < 0.3) {
        // Aim at a snapshot: kill as soon as its temp file appears (or after a while anyway).
        const timer = setTimeout(resolve, 2500);
        watcher = watch(v2, (_event, name) => {
          if (name && name.toString().endsWith('.inprogress.tmp') && existsSync(SNAP_TMP)) {
            s.signal(signal);
            clearTimeout(timer);
            resolve();
          }
        });
      } else if (mode < 0.4) {
        setTimeout(resolve, int(20)); // right after the sessions were created
      } else {
        setTimeout(resolve, 50 + int(2000));
      }
    });
    watcher?.close();
    const exit = await s.kill(signal);
    const killedAt = Date.now();
    if (clean) {
      counts.cleanStopsUnderLoad++;
      if (exit.code !== 0) problems.push(`round ${round}: SIGTERM under load exited with ${exit.code ?? exit.signal}:\n${s.output().slice(-2000)}`);
    } else {
      counts.kills++;
      if (existsSync(SNAP_TMP) && statSync(SNAP_TMP).mtimeMs >= s.spawnedAt) counts.killsDuringSnapshot++;
    }
    counts.snapshotsWritten += s.logs().filter((r) => r.msg === 'snapshot written').length;
    await Promise.all(loads);
    // Sessions that died: the load's and any earlier dead ones keep waiting for their expiry.
    for (const d of dead.values()) d.runs.at(-1)!.end = killedAt;
    for (const c of sessions) dead.set(c.sessionId, { timeout: c.timeout, runs: [] });

    // What autopurge does (PurgeTxnLog), so that hundreds of kills do not fill the disk.
    await purgeDataDir(dataDir, dataDir, 5);
    if (!clean && rand() < 0.15 && counts.kills < KILLS) {
      // A crash during startup too: while recovering, or just after.
      const k = await startZktsAndKill(zooCfg, int(600));
      if (k.exit.signal !== 'SIGKILL') problems.push(`round ${round}: zkts exited by itself during startup (${k.exit.code}):\n${k.output.slice(-2000)}`);
      counts.kills++;
      counts.killsDuringStartup++;
      for (const d of dead.values()) d.runs.push({ spawnedAt: k.spawnedAt, listeningAt: k.killedAt, end: k.killedAt });
    }
    server = await start();
    counts.tornTailsTruncated += warnings(server.logs()).filter((m) => /torn or corrupt entry/.test(m)).length;
    counts.logsCutAtCreation += warnings(server.logs()).filter((m) => /being created; removed/.test(m)).length;
    // What a kill at any moment may leave: a torn tail, or a log file killed while being created.
    const unexpected = warnings(server.logs()).filter((m) => !/torn or corrupt entry|shorter than a log header|being created; removed/.test(m));
    if (unexpected.length > 0) problems.push(`restart ${round}: unexpected warnings: ${unexpected.join(' | ')}`);
    for (const d of dead.values()) d.runs.push({ spawnedAt: server.spawnedAt, listeningAt: server.listeningAt, end: Number.NaN });
    await verify(`after ${clean ? 'a clean stop' : 'kill'} ${round}`);
  }

  // A clean shutdown (a last snapshot), a restart, and the dead sessions' ephemerals expire.
  const s = server!;
  const exit = await s.kill('SIGTERM');
  expect(exit.code, s.output()).toBe(0);
  expect(s.logs().some((r) => r.msg === 'snapshot written')).toBe(true);
  for (const d of dead.values()) d.runs.at(-1)!.end = Date.now();
  server = await start();
  for (const d of dead.values()) d.runs.push({ spawnedAt: server.spawnedAt, listeningAt: server.listeningAt, end: Number.NaN });
  await verify('after a clean restart');
  const waitFor = Math.max(0, ...[...dead.values()].map((d) => d.timeout)) + 2 * TICK + EXPIRY_SLACK;
  await new Promise((r) => setTimeout(r, waitFor));
  await verify('after the dead sessions expired', true);
  const leftover = clients.flatMap((lc) => [...lc.committed.nodes].filter(([, n]) => n.owner !== 0n).map(([p]) => p));
  expect(leftover, 'ephemerals of sessions that never came back').toEqual([]);

  console.log(
    `crash test (seed ${SEED}): ${counts.kills} kills (${counts.killsDuringSnapshot} while a snapshot was being written, ${counts.killsDuringStartup} during startup), ` +
      `${counts.cleanStopsUnderLoad} clean stops (SIGTERM) under load, ` +
      `${counts.snapshotsWritten} snapshots written, ${counts.tornTailsTruncated} torn log tails truncated and ${counts.logsCutAtCreation} half-created logs removed at restart; ` +
      `${counts.ackedChecked} acknowledged writes checked (${counts.ackedErrors} of them error replies), ` +
      `${counts.unknown} writes of unknown outcome (${counts.unknownApplied} found applied); ` +
      `dead sessions' ephemerals: ${counts.ephemeralGroupsPresent} times all still there, ${counts.ephemeralGroupsExpired} times all expired (${counts.expiryChecks} of them when they had to be); ` +
      `writes lost: ${counts.lost}`,
  );
  expect(counts.lost).toBe(0);
  expect(counts.kills).toBe(KILLS);
}, 60_000 + KILLS * 8_000);
