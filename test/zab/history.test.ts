/**
 * The in-memory tail of the log a leader syncs learners from: bounded by a count and by payload
 * bytes (large values must not pin memory), trimmed in batches, always exactly the log after `base`.
 */
import { describe, expect, it } from 'vitest';
import { History } from '../../src/zab/history.js';

const entry = (zxid: number, bytes: number) => ({ zxid, payload: Buffer.alloc(bytes) });

describe('History bounds', () => {
  it('keeps at most its count once past twice that count, and base names the last txn dropped', () => {
    const h = new History(0, 10, 1 << 30);
    for (let z = 1; z <= 20; z++) h.add(entry(z, 10));
    expect(h.size).toBe(20);
    h.add(entry(21, 10));
    expect(h.size).toBe(10);
    expect(h.base).toBe(11);
    expect(h.after(h.base).map((e) => e.zxid)).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
  });

  it('keeps at most its byte budget once past twice that budget', () => {
    const h = new History(0, 1000, 1000);
    for (let z = 1; z <= 6; z++) h.add(entry(z, 300));
    expect(h.size).toBe(6); // 1,800 bytes: under twice the budget
    h.add(entry(7, 300)); // 2,100 bytes: trimmed to 900
    expect(h.after(h.base).map((e) => e.zxid)).toEqual([5, 6, 7]);
    expect(h.base).toBe(4);
  });

  it('keeps the newest entry even when it alone is over the budget', () => {
    const h = new History(0, 1000, 100);
    h.add(entry(1, 50));
    h.add(entry(2, 500));
    expect(h.after(h.base).map((e) => e.zxid)).toEqual([2]);
    expect(h.base).toBe(1);
  });

  it('a TRUNC gives back the bytes of the entries it drops', () => {
    const h = new History(0, 1000, 1000);
    for (let z = 1; z <= 6; z++) h.add(entry(z, 300));
    h.truncateAfter(2);
    // 600 bytes left: four more entries (1,800) stay under twice the budget, untrimmed.
    for (let z = 3; z <= 6; z++) h.add(entry(z, 300));
    expect(h.size).toBe(6);
  });
});
