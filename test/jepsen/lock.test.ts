import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/jepsen/checkers/index.js';
import { checkLock } from '../../src/jepsen/checkers/lock.js';
import { pairWithSessionEvents } from '../../src/jepsen/checkers/sessions.js';
import type { Op } from '../../src/jepsen/history.js';
import { HistoryBuilder } from './builder.js';

const L = (session: string) => ({ key: '/lock', session });
/** Hand-written times are small units, so no slack unless a test asks for one. */
const check = (history: Op[], slack = 0) => {
  const { ops, expirations } = pairWithSessionEvents(history);
  return checkLock(ops, expirations, { slack });
};

describe('lock: never two holders at once', () => {
  it('accepts holders that take turns', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .invoke(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'release', undefined, L('0x1')).ok(1, 'release', undefined, L('0x1'))
      .ok(2, 'acquire', undefined, L('0x2'))
      .invoke(2, 'release', undefined, L('0x2')).ok(2, 'release', undefined, L('0x2'));
    const verdict = check(h.ops);
    expect(verdict.valid).toBe(true);
    expect(verdict.summary).toBe('lock "/lock": 2 acquire(s), 2 with a proven hold, 0 overlap(s)');
  });

  it('reports two holders when the first holder\'s session is proven alive past the second acquire', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .invoke(2, 'acquire', undefined, L('0x2')).ok(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'release', undefined, L('0x1')).ok(1, 'release', undefined, L('0x1'))
      .invoke(2, 'release', undefined, L('0x2')).ok(2, 'release', undefined, L('0x2'));
    const verdict = check(h.ops);
    expect(verdict.valid).toBe(false);
    expect(verdict.anomalies).toHaveLength(1);
    expect(verdict.anomalies[0]).toMatchObject({ kind: 'two-holders', ops: [0, 1, 4, 5, 2, 3] });
    expect(verdict.anomalies[0]!.explanation).toContain('#2..#3 p2 acquire [/lock] -> ok (session 0x2) was invoked and acquired it while #0..#1 p1 acquire [/lock] -> ok (session 0x1) provably still held it');
  });

  it('accepts a second holder once the first one\'s session expired, whether the expiry is one entry or a pair', () => {
    const lone = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .info(1, 'session-expired', { sessionTimeout: 4000 }, { session: '0x1' })
      .invoke(2, 'acquire', undefined, L('0x2')).ok(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'release', undefined, L('0x1')).fail(1, 'release', undefined, { ...L('0x1'), error: 'SESSIONEXPIRED' })
      .invoke(2, 'release', undefined, L('0x2')).ok(2, 'release', undefined, L('0x2'));
    expect(check(lone.ops).valid).toBe(true);
    const pair = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .invoke(1, 'session-expired', undefined, { session: '0x1' }).ok(1, 'session-expired', undefined, { session: '0x1' })
      .invoke(2, 'acquire', undefined, L('0x2')).ok(2, 'acquire', undefined, L('0x2'))
      // A release that reached the server in the old session after its expiry could not succeed; this
      // one is recorded ok (a client that swallows NONODE), but the expiry cuts the proven hold first.
      .invoke(1, 'release', undefined, L('0x1')).ok(1, 'release', undefined, L('0x1'))
      .invoke(2, 'release', undefined, L('0x2')).ok(2, 'release', undefined, L('0x2'));
    expect(check(pair.ops).valid).toBe(true);
  });

  it('does not count a hold its session never proved: a paused holder whose release was lost, or released in a new session', () => {
    const paused = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .invoke(2, 'acquire', undefined, L('0x2')).ok(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'release', undefined, L('0x1')).info(1, 'release', undefined, { ...L('0x1'), error: 'CONNECTIONLOSS' })
      .invoke(2, 'release', undefined, L('0x2')).ok(2, 'release', undefined, L('0x2'));
    expect(check(paused.ops).valid).toBe(true);
    const replaced = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .invoke(2, 'acquire', undefined, L('0x2')).ok(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'release', undefined, L('0x1')).ok(1, 'release', undefined, L('0x1b'))
      .invoke(2, 'release', undefined, L('0x2')).ok(2, 'release', undefined, L('0x2'));
    expect(check(replaced.ops).valid).toBe(true);
  });

  it('does not blame an acquire invoked before the other completed whose own hold is unproven (its ok may be stale)', () => {
    const h = new HistoryBuilder()
      .invoke(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .ok(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'release', undefined, L('0x1')).ok(1, 'release', undefined, L('0x1'))
      .invoke(2, 'release', undefined, L('0x2')).info(2, 'release', undefined, { ...L('0x2'), error: 'CONNECTIONLOSS' });
    expect(check(h.ops).valid).toBe(true);
    // With its session proven alive after its ok, both held the lock at that ok.
    const proven = new HistoryBuilder()
      .invoke(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .ok(2, 'acquire', undefined, L('0x2'))
      .invoke(2, 'release', undefined, L('0x2')).ok(2, 'release', undefined, L('0x2'))
      .invoke(1, 'release', undefined, L('0x1')).ok(1, 'release', undefined, L('0x1'));
    expect(check(proven.ops).anomalies[0]!.explanation).toContain('acquired it, and provably held it past that, while');
  });

  it('tolerates 100 ms by default (timestamps from the kazoo script\'s threads)', () => {
    const ms = 1_000_000;
    const overlap = (by: number) =>
      new HistoryBuilder()
        .invoke(1, 'acquire', undefined, { ...L('0x1'), time: 0 }).ok(1, 'acquire', undefined, { ...L('0x1'), time: 10 * ms })
        .invoke(2, 'acquire', undefined, { ...L('0x2'), time: 150 * ms }).ok(2, 'acquire', undefined, { ...L('0x2'), time: 160 * ms })
        .invoke(1, 'release', undefined, { ...L('0x1'), time: 160 * ms + by }).ok(1, 'release', undefined, { ...L('0x1'), time: 500 * ms }).ops;
    expect(checkHistory('lock', overlap(90 * ms)).valid).toBe(true);
    expect(checkHistory('lock', overlap(200 * ms)).valid).toBe(false);
  });

  it('tolerates an overlap up to the slack', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .invoke(2, 'acquire', undefined, { ...L('0x2'), time: 50 }).ok(2, 'acquire', undefined, { ...L('0x2'), time: 100 })
      .invoke(1, 'release', undefined, { ...L('0x1'), time: 103 }).ok(1, 'release', undefined, L('0x1'));
    expect(check(h.ops, 5).valid).toBe(true);
    expect(check(h.ops, 2).valid).toBe(false);
  });

  it('is unknown when no acquire carries a session', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, { key: '/lock' }).ok(1, 'acquire', undefined, { key: '/lock' })
      .invoke(2, 'acquire', undefined, { key: '/lock' }).ok(2, 'acquire', undefined, { key: '/lock' });
    expect(check(h.ops).valid).toBe('unknown');
  });

  it('checks the election workload the same way', () => {
    const h = new HistoryBuilder()
      .invoke(1, 'acquire', undefined, L('0x1')).ok(1, 'acquire', undefined, L('0x1'))
      .invoke(2, 'acquire', undefined, L('0x2')).ok(2, 'acquire', undefined, L('0x2'))
      .invoke(1, 'release', undefined, L('0x1')).ok(1, 'release', undefined, L('0x1'));
    const result = checkHistory('election', h.ops, { lock: { slack: 0 } });
    expect(result.valid).toBe(false);
    expect(result.verdicts.map((v) => v.checker)).toEqual(['lock']);
    expect(result.anomalies).toEqual([expect.objectContaining({ checker: 'lock', kind: 'two-holders', ops: [0, 1, 4, 5, 2, 3] })]);
  });
});
