/**
 * The runtime carries a Ready out in order, and a SNAP streams the state at exactly its zxid: one
 * Ready gathers the inputs of an event-loop turn, so commits of a later input may sit in it after
 * a SNAP; applied before the snapshot was taken, they would reach the learner twice (in the
 * snapshot, labelled older, and as the txns that follow it).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ReadyRunner, type QuorumSender, type ReplicaStore } from '../../src/server/zab-runtime.js';
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
