/**
 * The ZAB roles over real TCP on loopback, through the runtime that carries their Ready out
 * (src/server/zab-runtime.ts, quorum-port.ts): a leader and two followers with real DataTrees and
 * real txn payloads; a follower that reconnects is synced by DIFF, one far behind by SNAP (the
 * snapshot streamed in ZooKeeper's wire layout), and every tree ends identical.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { OpCode, PacketType } from '../../src/jute/index.js';
import { LeaderPort, LearnerPort } from '../../src/server/quorum-port.js';
import { LearnerInbox, ReadyRunner } from '../../src/server/zab-runtime.js';
import { encodeTxnEntry, History, ZabFollower, ZabLeader, type RoleEvent } from '../../src/zab/index.js';
import { MemoryReplica } from '../support/memory-replica.js';
import { dumpTree, OPEN_ACL } from '../zab/helpers.js';

const log = pino({ level: 'silent' });
const TIMING = { tickTime: 100, initLimit: 50, syncLimit: 30 };

class Node {
  replica = new MemoryReplica();
  role: ZabLeader | ZabFollower | undefined;
  runner: ReadyRunner | undefined;
  leaderPort: LeaderPort | undefined;
  learnerPort: LearnerPort | undefined;
  events: RoleEvent[] = [];
  syncs: { type: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly sid: number, private readonly historySize = 500) {}

  private history(): History {
    const h = new History(this.replica.base, this.historySize);
    for (const e of this.replica.log) h.add(e);
    return h;
  }

  private hooks() {
    return {
      onEvent: (e: RoleEvent) => this.events.push(e),
      pingReply: (zxid: number) => ({ type: PacketType.PING, zxid, data: Buffer.alloc(0), authinfo: null }),
    };
  }

  private startTicking(): void {
    this.timer = setInterval(() => {
      this.role?.tick(Date.now());
      this.runner?.pump();
    }, 20);
  }

  async lead(voters: number[]): Promise<number> {
    const { epochs } = this.replica;
    const role = new ZabLeader({ myid: this.sid, voters: new Set(voters), ...epochs, history: this.history(), timing: TIMING, now: Date.now(), config: null });
    this.role = role;
    this.leaderPort = new LeaderPort(
      1 << 20,
      (sid, p) => {
        role.receive(sid, p, Date.now());
        this.runner!.pump();
      },
      (sid) => {
        role.learnerGone(sid);
        this.runner!.pump();
      },
      log,
    );
    this.runner = new ReadyRunner(role, this.replica, this.leaderPort, this.hooks(), log);
    const port = await this.leaderPort.listen(0, '127.0.0.1');
    this.runner.pump();
    this.startTicking();
    return port;
  }

  async follow(leaderSid: number, port: number): Promise<void> {
    const { epochs } = this.replica;
    const role = new ZabFollower({ myid: this.sid, leader: leaderSid, ...epochs, history: this.history(), timing: TIMING, now: Date.now() });
    this.role = role;
    const learner = new LearnerPort(
      (onError) =>
        new LearnerInbox(
          1 << 20,
          (p) => {
            if (p.type === PacketType.DIFF || p.type === PacketType.TRUNC || p.type === PacketType.SNAP) this.syncs.push({ type: p.type });
            role.receive(p, Date.now());
            this.runner!.pump();
          },
          async (bytes, zxid) => {
            await this.runner!.idle();
            await this.replica.installSnapshot(bytes, zxid);
            role.snapshotInstalled(zxid);
            this.runner!.pump();
          },
          onError,
        ),
      (reason) => {
        role.stop(reason);
        this.runner?.pump();
      },
    );
    this.learnerPort = learner;
    this.runner = new ReadyRunner(role, this.replica, learner, this.hooks(), log);
    await learner.connect('127.0.0.1', port, Date.now() + 5000);
    role.connected(Date.now());
    this.runner.pump();
    this.startTicking();
  }

  /** Leaves the role: the log flushed, all of it applied (as a server does between roles). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.learnerPort?.close(0, 'test stops it');
    await this.leaderPort?.shutdown();
    await this.runner?.idle();
    this.role = undefined;
    this.learnerPort = this.leaderPort = undefined;
  }

  serving(): boolean {
    return this.role?.isServing ?? false;
  }
}

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let writes = 0;
function write(leader: Node): number {
  const role = leader.role as ZabLeader;
  const zxid = role.nextZxid();
  const i = writes++;
  const payload = encodeTxnEntry({
    sessionId: 0n,
    cxid: i,
    zxid,
    time: 1_700_000_000_000 + i,
    body: { type: OpCode.create, txn: { path: `/n${i}`, data: Buffer.from(`v${i}`), acl: OPEN_ACL, ephemeral: false, parentCVersion: i + 1 } },
  });
  role.propose({ zxid, payload }, Date.now());
  leader.runner!.pump();
  return zxid;
}

const applied = (n: Node) => n.replica.tree.lastProcessedZxid;

describe('ZAB over TCP', () => {
  it('a leader and two followers: established, replicated, resynced by DIFF and by SNAP', async () => {
    const [a, b, c] = [new Node(1), new Node(2), new Node(3, 500)];
    nodes.push(a, b, c);
    const port = await c.lead([1, 2, 3]);
    await Promise.all([a.follow(3, port), b.follow(3, port)]);
    await until('all serving', () => a.serving() && b.serving() && c.serving());
    expect(c.events).toContainEqual({ kind: 'serving', epoch: 1 });
    expect(a.replica.epochs).toEqual({ acceptedEpoch: 1, currentEpoch: 1 });

    let last = 0;
    for (let i = 0; i < 200; i++) last = write(c);
    await until('200 writes applied everywhere', () => [a, b, c].every((n) => applied(n) === last));
    expect(dumpTree(a.replica.tree)).toEqual(dumpTree(c.replica.tree));
    expect(dumpTree(b.replica.tree)).toEqual(dumpTree(c.replica.tree));

    // Follower 1 goes away; the ensemble goes on with 2 of 3; it comes back and is sent a DIFF.
    await a.stop();
    for (let i = 0; i < 50; i++) last = write(c);
    await until('50 more on 2 of 3', () => applied(b) === last && applied(c) === last);
    await a.follow(3, port);
    await until('follower 1 back', () => a.serving() && applied(a) === last);
    expect(a.syncs.at(-1)?.type).toBe(PacketType.DIFF);

    // Follower 2 goes away while more writes than the leader's history holds are made: SNAP.
    await b.stop();
    for (let i = 0; i < 1200; i++) last = write(c);
    await until('1200 more on 2 of 3', () => applied(a) === last && applied(c) === last);
    await b.follow(3, port);
    await until('follower 2 back', () => b.serving() && applied(b) === last);
    expect(b.syncs.at(-1)?.type).toBe(PacketType.SNAP);
    for (const n of [a, b]) expect(dumpTree(n.replica.tree)).toEqual(dumpTree(c.replica.tree));
    expect(c.replica.tree.nodeCount).toBe(writes + 4); // /, /zookeeper, its quota and config nodes
  }, 60_000);

  it('a leader alone is not a quorum: it never serves and steps down after initLimit', async () => {
    const c = new Node(3);
    nodes.push(c);
    await c.lead([1, 2, 3]);
    await until('stepped down', () => c.events.some((e) => e.kind === 'stopped'), 10_000);
    expect(c.events.some((e) => e.kind === 'serving')).toBe(false);
  }, 20_000);
});
