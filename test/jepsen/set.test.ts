import { describe, expect, it } from 'vitest';
import { checkSet } from '../../src/jepsen/checkers/set.js';
import { pairOps } from '../../src/jepsen/history.js';
import { HistoryBuilder } from './builder.js';

const e = (value: number, seq: number) => ({ value, seq });

/** Adds 1 (seq 0) and 2 (seq 1) one after the other; 3 ends indeterminate. */
function adds(): HistoryBuilder {
  return new HistoryBuilder()
    .invoke(1, 'add', 1).ok(1, 'add', e(1, 0))
    .invoke(1, 'add', 2).ok(1, 'add', e(2, 1))
    .invoke(2, 'add', 3).info(2, 'add', 3, { error: 'CONNECTIONLOSS' });
}
const finalRead = (h: HistoryBuilder, entries: { value: number; seq: number }[]) => checkSet(pairOps(h.invoke(9, 'read-all', {}).ok(9, 'read-all', entries).ops));

describe('set / queue', () => {
  it('accepts every acknowledged element once, in order, with the indeterminate one present or absent', () => {
    expect(finalRead(adds(), [e(1, 0), e(2, 1)]).valid).toBe(true);
    expect(finalRead(adds(), [e(1, 0), e(2, 1), e(3, 2)]).valid).toBe(true);
  });

  it('reports a lost element', () => {
    const verdict = finalRead(adds(), [e(2, 1)]);
    expect(verdict.valid).toBe(false);
    expect(verdict.anomalies).toEqual([expect.objectContaining({ kind: 'lost', ops: [0, 1, 6, 7] })]);
    expect(verdict.anomalies[0]!.explanation).toContain('acknowledged element 1 is missing from the final read');
  });

  it('reports a duplicated element and a shared sequence number', () => {
    const verdict = finalRead(adds(), [e(1, 0), e(2, 1), e(2, 2), e(3, 2)]);
    expect(verdict.valid).toBe(false);
    expect(verdict.anomalies.map((a) => a.kind).sort()).toEqual(['duplicate', 'duplicate-seq']);
  });

  it('reports an element no add attempted, and one whose add failed', () => {
    const h = adds().invoke(3, 'add', 4).fail(3, 'add', 4, { error: 'NONODE' });
    const verdict = finalRead(h, [e(1, 0), e(2, 1), e(4, 2), e(77, 3)]);
    expect(verdict.anomalies.map((a) => [a.kind, a.explanation])).toEqual([
      ['unexpected', expect.stringContaining('element 4 is in the final read but its add failed')],
      ['unexpected', 'element 77 (seq 3) is in the final read but no add attempted it'],
    ]);
  });

  it('reports sequence numbers against the real-time order of the adds', () => {
    const h = new HistoryBuilder().invoke(1, 'add', 1).ok(1, 'add', e(1, 5)).invoke(1, 'add', 2).ok(1, 'add', e(2, 4));
    const verdict = finalRead(h, [e(2, 4), e(1, 5)]);
    expect(verdict.anomalies).toEqual([expect.objectContaining({ kind: 'seq-order', ops: [0, 1, 2, 3] })]);
  });

  it('lets concurrent adds take their numbers in either order, and orders an indeterminate add after what completed before it', () => {
    const concurrent = new HistoryBuilder().invoke(1, 'add', 1).invoke(2, 'add', 2).ok(2, 'add', e(2, 0)).ok(1, 'add', e(1, 1));
    expect(finalRead(concurrent, [e(2, 0), e(1, 1)]).valid).toBe(true);
    // 3 was invoked after 2 (seq 1) completed, so it cannot have got seq 0.
    const late = new HistoryBuilder().invoke(1, 'add', 2).ok(1, 'add', e(2, 1)).invoke(2, 'add', 3).info(2, 'add', 3);
    expect(finalRead(late, [e(3, 0), e(2, 1)]).anomalies.map((a) => a.kind)).toEqual(['seq-order']);
  });

  it('reports an add told one sequence number while the final read has another', () => {
    expect(finalRead(adds(), [e(1, 0), e(2, 7)]).anomalies.map((a) => a.kind)).toEqual(['seq-mismatch']);
  });

  it('does not require an add that completed after the final read began', () => {
    const h = new HistoryBuilder().invoke(1, 'add', 1).invoke(9, 'read-all', {}).ok(9, 'read-all', []).ok(1, 'add', e(1, 0));
    expect(checkSet(pairOps(h.ops)).valid).toBe(true);
  });

  it('is unknown without a final read', () => {
    const verdict = checkSet(pairOps(adds().ops));
    expect(verdict.valid).toBe('unknown');
    expect(verdict.summary).toContain('no successful final read-all');
  });
});
