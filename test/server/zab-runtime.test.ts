/**
 * The runtime carries a Ready out in order, and a SNAP streams the state at exactly its zxid: one
 * Ready gathers the inputs of an event-loop turn, so commits of a later input may sit in it after
 * a SNAP; applied before the snapshot was taken, they would reach the learner twice (in the
 * snapshot, labelled older, and as the txns that follow it).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ReadyRunner, SnapshotInstalls, ticksAfterIo, type QuorumSender, type ReplicaStore } from '../../src/server/zab-runtime.js';
import type { HistoryEntry } from '../../src/zab/history.js';
import type { ZabLeader } from '../../src/zab/leader.js';
import { emptyReady, type Ready } from '../../src/zab/ready.js';

const entry = (zxid: number): HistoryEntry => ({ zxid, payload: Buffer.from([zxid]) });

describe('ReadyRunner', () => {
  it('streams a SNAP from the state at its zxid, then applies the commits after it', async () => {
    const trace: string[] = [];
    let applied = 0;
    const store: ReplicaStore = {
      writeEpoch: async () => {},
      truncate: async () => {},
      apply: (e) => {
        applied = e.zxid;
        trace.push(`apply ${e.zxid}`);
      },
      append: async () => {},
      snapshot: async () => {
        trace.push(`snapshot at ${applied}`);
        return [Buffer.from('state')];
      },
      installSnapshot: async () => {},
    };
    const sender: QuorumSender = { send: (to, bytes) => trace.push(`send ${to} ${bytes.length}`), close: () => {} };
    const ready: Ready = { ...emptyReady(), commits: [entry(1), entry(2), entry(3)], messages: [{ to: 2, snapshot: true, zxid: 1 }] };
    const role = { ready: () => ready, persisted: () => {}, stop: () => {} } as unknown as ZabLeader;
    const runner = new ReadyRunner(role, store, sender, { onEvent: () => {} }, pino({ level: 'silent' }));
    runner.pump();
    await runner.idle();
    expect(trace.filter((t) => !t.startsWith('send'))).toEqual(['apply 1', 'snapshot at 1', 'apply 2', 'apply 3']);
  });
});

describe('ticksAfterIo', () => {
  it('after a stall of the event loop, a tick sees the packets that arrived during it (a peer that answered is not judged silent)', async () => {
    const { createServer, connect } = await import('node:net');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const accepted = new Promise<import('node:net').Socket>((r) => server.once('connection', r));
    const peer = connect({ port, host: '127.0.0.1' });
    await new Promise((r) => peer.once('connect', r));
    const mine = await accepted;
    // What each tick saw, and when: had the packet sent during the stall been read yet?
    let heard = 0;
    let stallEnd = Infinity;
    mine.on('data', () => {
      heard++;
      if (heard > 1) return;
      // The first packet starts a long synchronous step (as a leader serializing a SNAP, in the
      // I/O phase); the peer answers meanwhile, and its packet waits unread.
      peer.write('pong');
      const until = Date.now() + 200;
      while (Date.now() < until) {
        // stalled
      }
      stallEnd = performance.now();
    });
    const seen: { at: number; heard: number }[] = [];
    const stop = ticksAfterIo(() => seen.push({ at: performance.now(), heard }), 5);
    try {
      await new Promise((r) => setTimeout(r, 20));
      peer.write('ping');
      await new Promise((r) => setTimeout(r, 300));
      const firstAfter = seen.find((t) => t.at >= stallEnd);
      expect(firstAfter, 'a tick after the stall').toBeDefined();
      expect(firstAfter!.heard, 'packets read before the first tick after the stall').toBe(2);
    } finally {
      stop();
      peer.destroy();
      mine.destroy();
      server.close();
    }
  });
});

describe('SnapshotInstalls', () => {
  /** An install that waits for the test to finish it. */
  function gatedInstall() {
    const started: number[] = [];
    let finish: () => void = () => {};
    const install = (_bytes: Buffer, zxid: number) => {
      started.push(zxid);
      return new Promise<void>((resolve) => (finish = resolve));
    };
    return { started, install, finish: () => finish() };
  }

  it('a snapshot whose role has ended is not installed (it would replace the next role\'s tree and log)', async () => {
    const started: number[] = [];
    const installs = new SnapshotInstalls(async (_bytes, zxid) => void started.push(zxid));
    expect(await installs.run(() => false, Buffer.alloc(0), 7)).toBe(false);
    expect(started).toEqual([]);
  });

  it('the next role waits for an install under way, and the ended role is not told it is done', async () => {
    const gate = gatedInstall();
    const installs = new SnapshotInstalls(gate.install);
    let current = true;
    const installed = installs.run(() => current, Buffer.alloc(0), 9);
    expect(gate.started).toEqual([9]);
    // The role ends mid-install; the peer's leaveRole waits for the install before the next role.
    current = false;
    let settled = false;
    const waiting = installs.settled().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    gate.finish();
    await waiting;
    expect(await installed).toBe(false);
  });

  it('an install for the current role completes and says so; a failed one still lets the next role start', async () => {
    const ok = new SnapshotInstalls(async () => {});
    expect(await ok.run(() => true, Buffer.alloc(0), 3)).toBe(true);
    const failing = new SnapshotInstalls(async () => {
      throw new Error('disk full');
    });
    const run = failing.run(() => true, Buffer.alloc(0), 4);
    await failing.settled();
    await expect(run).rejects.toThrow('disk full');
  });
});
