/**
 * SessionExpiry, ZooKeeper's ExpiryQueue: deadlines rounded up to the next multiple of tickTime,
 * one bucket per multiple, a touch moving a session to a later bucket, expire() handing out exactly
 * the sessions whose bucket is due, once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionExpiry } from '../../src/server/sessions.js';

const TICK = 2000;

describe('SessionExpiry', () => {
  it('rounds a deadline up to the next tick boundary (strictly after now + timeout)', () => {
    const e = new SessionExpiry(TICK, 0);
    e.touch(1n, 5000, 1000); // now + timeout = 6000, a boundary: the next one, 8000
    e.touch(2n, 5000, 1500); // 6500 -> 8000, the same bucket
    e.touch(3n, 5000, 3100); // 8100 -> 10000
    expect(e.expire(7999)).toEqual([]);
    expect(e.expire(8000).sort()).toEqual([1n, 2n]);
    expect(e.expire(9999)).toEqual([]);
    expect(e.expire(10000)).toEqual([3n]);
  });

  it('a touch moves a session to its new bucket and out of the old one', () => {
    const e = new SessionExpiry(TICK, 0);
    e.touch(1n, 4000, 0); // 6000
    e.touch(1n, 4000, 3000); // 7000 -> 8000
    expect(e.expire(6000)).toEqual([]);
    expect(e.has(1n)).toBe(true);
    expect(e.expire(8000)).toEqual([1n]);
    expect(e.has(1n)).toBe(false);
  });

  it('remove takes a session out for good', () => {
    const e = new SessionExpiry(TICK, 0);
    e.touch(1n, 4000, 0);
    e.touch(2n, 4000, 0);
    e.remove(1n);
    e.remove(3n); // unknown: nothing happens
    expect(e.has(1n)).toBe(false);
    expect(e.expire(100_000)).toEqual([2n]);
  });

  it('a late check expires every bucket that came due meanwhile, each session once', () => {
    const e = new SessionExpiry(TICK, 0);
    e.touch(1n, 2000, 0); // 4000
    e.touch(2n, 6000, 0); // 8000
    e.touch(3n, 30_000, 0); // 32000
    expect(e.expire(20_000).sort()).toEqual([1n, 2n]);
    expect(e.expire(20_000)).toEqual([]);
    expect(e.msUntilNextCheck(20_000)).toBe(2000);
    expect(e.expire(32_000)).toEqual([3n]);
  });

  it('says how long until the next bucket is due', () => {
    const e = new SessionExpiry(TICK, 500);
    expect(e.msUntilNextCheck(500)).toBe(1500);
    e.expire(2000);
    expect(e.msUntilNextCheck(2100)).toBe(1900);
    expect(e.msUntilNextCheck(5000)).toBe(0); // overdue
  });

  it('expire(t) returns exactly the sessions whose last touch + timeout, rounded up, is at or before t', () => {
    const touch = fc.record({ id: fc.integer({ min: 1, max: 8 }), timeout: fc.integer({ min: 1, max: 20_000 }), at: fc.integer({ min: 0, max: 20_000 }) });
    fc.assert(
      fc.property(fc.array(touch, { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 4 }), fc.integer({ min: 0, max: 60_000 }), (touches, removed, t) => {
        const e = new SessionExpiry(TICK, 0);
        const deadline = new Map<bigint, number>();
        // Touches arrive in time order, as the server makes them.
        for (const { id, timeout, at } of [...touches].sort((x, y) => x.at - y.at)) {
          e.touch(BigInt(id), timeout, at);
          deadline.set(BigInt(id), (Math.floor((at + timeout) / TICK) + 1) * TICK);
        }
        for (const id of removed) {
          e.remove(BigInt(id));
          deadline.delete(BigInt(id));
        }
        const due = [...deadline].filter(([, d]) => d <= t).map(([id]) => id);
        expect(e.expire(t).sort()).toEqual(due.sort());
        for (const id of due) expect(e.has(id)).toBe(false);
        for (const [id, d] of deadline) if (d > t) expect(e.has(id)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
