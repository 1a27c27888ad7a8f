/** How a leader syncs a learner (ZooKeeper's LearnerHandler.syncFollower cases). */
import { describe, expect, it } from 'vitest';
import { History } from '../../src/zab/history.js';
import { planSync } from '../../src/zab/sync-plan.js';

const z = (epoch: number, counter: number) => epoch * 2 ** 32 + counter;
const hist = (base: number, zxids: number[], capacity = 500) => {
  const h = new History(base, capacity);
  for (const zxid of zxids) h.add({ zxid, payload: Buffer.from(zxid.toString(16)) });
  return h;
};
const zxidsOf = (plan: ReturnType<typeof planSync>) => ('entries' in plan ? plan.entries.map((e) => e.zxid) : []);

describe('planSync', () => {
  const leader = hist(z(1, 2), [z(1, 3), z(1, 4), z(2, 1), z(2, 2)]);

  it('a learner at the leader\'s last zxid gets an empty DIFF', () => {
    expect(planSync(leader, z(2, 2))).toEqual({ mode: 'diff', zxid: z(2, 2), entries: [] });
  });

  it('a learner whose last txn the leader has gets a DIFF of what follows', () => {
    const plan = planSync(leader, z(1, 4));
    expect(plan.mode).toBe('diff');
    expect(zxidsOf(plan)).toEqual([z(2, 1), z(2, 2)]);
    expect(zxidsOf(planSync(leader, z(1, 2)))).toEqual([z(1, 3), z(1, 4), z(2, 1), z(2, 2)]); // exactly at the base
  });

  it('a learner older than the in-memory history gets a SNAP', () => {
    expect(planSync(leader, z(1, 1)).mode).toBe('snap');
    expect(planSync(leader, 0).mode).toBe('snap');
  });

  it('a learner with txns the leader lacks, in the same epoch, is truncated to the leader\'s previous txn', () => {
    // The learner logged 2.3 and 2.4 under the old leader of epoch 2; we only have up to 2.2.
    const plan = planSync(leader, z(2, 4));
    expect(plan).toMatchObject({ mode: 'trunc', zxid: z(2, 2) });
    expect(zxidsOf(plan)).toEqual([]);
    const behind = hist(z(1, 2), [z(1, 3), z(2, 1), z(2, 5), z(3, 1)]);
    const p2 = planSync(behind, z(2, 3));
    expect(p2).toMatchObject({ mode: 'trunc', zxid: z(2, 1) });
    expect(zxidsOf(p2)).toEqual([z(2, 5), z(3, 1)]);
  });

  it('never truncates across an epoch: the learner may lack an uncommitted txn the leader kept', () => {
    // Learner: ..., 1.2, 2.1 (epoch 2 never established). Leader: ..., 1.2, 1.3 (uncommitted, kept).
    const l = hist(z(1, 1), [z(1, 2), z(1, 3)]);
    expect(planSync(l, z(2, 1)).mode).toBe('snap');
    // ... and likewise when the learner is past everything the leader has in another epoch.
    expect(planSync(hist(z(1, 1), [z(1, 2)]), z(3, 7)).mode).toBe('snap');
  });

  it('a window trimmed to its capacity moves its base: older learners get a SNAP', () => {
    const h = hist(0, Array.from({ length: 30 }, (_, i) => z(1, i + 1)), 10);
    expect(h.base).toBeGreaterThan(0);
    expect(planSync(h, h.base).mode).toBe('diff');
    expect(planSync(h, h.base - 1).mode).toBe('snap');
  });
});
