import { describe, expect, it } from 'vitest';
import { checkMonotonicReads } from '../../src/jepsen/checkers/monotonic-reads.js';
import { pairOps } from '../../src/jepsen/history.js';
import { HistoryBuilder } from './builder.js';

const v = (value: number, version: number) => ({ value, version });
const s1 = { key: 'x', session: '0x1' };

describe('monotonic reads', () => {
  it('accepts a session whose plain reads never go back, across a move to another server', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'read', undefined, { ...s1, node: 's1' }).ok(1, 'read', v(1, 1), { ...s1, node: 's1' })
      .invoke(1, 'write', 5, s1).ok(1, 'write', v(5, 3), s1)
      .invoke(1, 'read', undefined, { ...s1, node: 's1' }).info(1, 'read', undefined, { ...s1, node: 's1', error: 'CONNECTIONLOSS' })
      .invoke(2, 'read', undefined, { ...s1, node: 's2' }).ok(2, 'read', v(5, 3), { ...s1, node: 's2' })
      .invoke(2, 'read', undefined, { ...s1, node: 's2' }).ok(2, 'read', v(8, 4), { ...s1, node: 's2' });
    expect(checkMonotonicReads(pairOps(h.ops)).valid).toBe(true);
  });

  it('rejects a read older than the session\'s own acknowledged write, naming both, even from a new process', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'write', 5, s1).ok(1, 'write', v(5, 3), s1)
      .invoke(1, 'sync-read', undefined, s1).info(1, 'sync-read', undefined, { ...s1, error: 'CONNECTIONLOSS' })
      .invoke(2, 'read', undefined, { ...s1, node: 's3' }).ok(2, 'read', v(4, 2), { ...s1, node: 's3' });
    const verdict = checkMonotonicReads(pairOps(h.ops));
    expect(verdict.valid).toBe(false);
    expect(verdict.anomalies).toHaveLength(1);
    expect(verdict.anomalies[0]).toMatchObject({ kind: 'stale-read', ops: [0, 1, 4, 5] });
    expect(verdict.anomalies[0]!.explanation).toContain('session 0x1 key "x" went back in time');
    expect(verdict.anomalies[0]!.explanation).toContain('saw version 2 after #0..#1 p1 write [x] 5 -> ok {"value":5,"version":3} (session 0x1) had seen version 3');
  });

  it('rejects a plain read older than an earlier sync-read of the same session', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'sync-read', undefined, s1).ok(1, 'sync-read', v(7, 6), s1)
      .invoke(1, 'read', undefined, s1).ok(1, 'read', v(6, 5), s1);
    expect(checkMonotonicReads(pairOps(h.ops)).valid).toBe(false);
  });

  it('does not order different sessions, different keys, or overlapping operations', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'write', 5, s1).ok(1, 'write', v(5, 3), s1)
      // Another session may lag behind.
      .invoke(2, 'read', undefined, { key: 'x', session: '0x2' }).ok(2, 'read', v(1, 1), { key: 'x', session: '0x2' })
      // Another key has its own versions.
      .invoke(1, 'read', undefined, { key: 'y', session: '0x1' }).ok(1, 'read', v(0, 0), { key: 'y', session: '0x1' })
      // A read overlapping a write of the same session (two processes on it) may precede it.
      .invoke(3, 'write', 9, s1).invoke(4, 'read', undefined, s1).ok(4, 'read', v(5, 3), s1).ok(3, 'write', v(9, 4), s1);
    expect(checkMonotonicReads(pairOps(h.ops)).valid).toBe(true);
  });

  it('falls back to the process when no session is recorded', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'read', undefined, { key: 'x' }).ok(1, 'read', v(3, 3), { key: 'x' })
      .invoke(2, 'read', undefined, { key: 'x' }).ok(2, 'read', v(2, 2), { key: 'x' })
      .invoke(1, 'read', undefined, { key: 'x' }).ok(1, 'read', v(2, 2), { key: 'x' });
    const verdict = checkMonotonicReads(pairOps(h.ops));
    expect(verdict.anomalies.map((a) => a.ops)).toEqual([[0, 1, 4, 5]]);
    expect(verdict.anomalies[0]!.explanation).toContain('process 1 key "x"');
  });
});
