/**
 * Deterministic simulation of ZAB ensembles with the real election core (test/zab/sim/ensemble-sim.ts): crashes that lose
 * what was not fsynced, partitions of any links, healing, and a client writing all along; the
 * invariants are checked after every event. ZAB_SIM_SEEDS=N runs more seeds; ZAB_SIM_SEED=S one.
 */
import { describe, expect, it } from 'vitest';
import { EnsembleSim } from './sim/ensemble-sim.js';

const one = process.env.ZAB_SIM_SEED ? Number(process.env.ZAB_SIM_SEED) : undefined;
const onlyServers = process.env.ZAB_SIM_SERVERS ? Number(process.env.ZAB_SIM_SERVERS) : undefined;
/** Per ensemble size: 500 + 500 seeds in CI; more locally with ZAB_SIM_SEEDS. */
const SEEDS = Number(process.env.ZAB_SIM_SEEDS ?? 500);

describe('ZAB under a simulated network, disk and clock', () => {
  for (const servers of [3, 5].filter((n) => onlyServers === undefined || n === onlyServers)) {
    it(`${servers} servers: no acknowledged write lost, one leader per epoch, logs agree (${one ?? SEEDS} seeds)`, async () => {
      const seeds = one !== undefined ? [one] : Array.from({ length: SEEDS }, (_, i) => i + 1 + servers * 100_000);
      const total = { events: 0, acknowledged: 0, crashes: 0, partitions: 0, elections: 0, diffs: 0, truncs: 0, snaps: 0 };
      for (const [i, seed] of seeds.entries()) {
        // The simulation is synchronous: let the test runner's own messages through now and then.
        if (i % 20 === 19) await new Promise((r) => setImmediate(r));
        const r = new EnsembleSim({ seed, servers, durationMs: 4_000, settleMs: 4_000 }).run();
        for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += r[k];
      }
      console.log(`${servers} servers, ${seeds.length} seeds: ${JSON.stringify(total)}`);
      expect(total.acknowledged).toBeGreaterThan(seeds.length);
      // The runs must reach every way of syncing a learner, or they test less than they claim.
      if (one === undefined) for (const mode of ['diffs', 'truncs', 'snaps'] as const) expect(total[mode], mode).toBeGreaterThan(0);
    }, 600_000);
  }

  it('with no faults, every write proposed is committed everywhere', () => {
    const r = new EnsembleSim({ seed: 7, servers: 3, durationMs: 3_000, settleMs: 2_000, faults: false }).run();
    expect(r.elections).toBe(1);
    expect(r.acknowledged).toBeGreaterThan(300);
  });

  for (const bug of ['ack-before-fsync', 'commit-without-quorum', 'snapshot-without-sessions'] as const) {
    it(`catches a broken rule on purpose: ${bug}`, () => {
      let caught: string | undefined;
      for (let seed = 1; seed <= 200 && !caught; seed++) {
        try {
          // 12 s of load: long enough for the crashes these bugs need (an ACK before its fsync shows
          // once a follower that acked dies before the fsync and a leader is elected without it).
          new EnsembleSim({ seed, servers: 3, durationMs: 12_000, settleMs: 6_000, bug }).run();
        } catch (e) {
          caught = (e as Error).message;
        }
      }
      console.log(`${bug}: ${caught?.split('\n')[0]}`);
      expect(caught).toBeDefined();
    }, 600_000);
  }
});
