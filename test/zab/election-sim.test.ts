import { describe, expect, it } from 'vitest';
import { simulate, type SimResult } from './election-sim.js';

// ELECTION_SIM_SEED=<n> replays one seed; ELECTION_SIM_SEEDS=<count> runs more (default 300 per size).
const ONE = process.env.ELECTION_SIM_SEED;
const COUNT = Number(process.env.ELECTION_SIM_SEEDS ?? 300);

function check(peers: number, seed: number): SimResult {
  const r = simulate({ peers, seed });
  if (r.violations.length > 0) {
    console.error(`seed ${seed} (${peers} peers, ${r.faults}) failed:\n  ${r.violations.join('\n  ')}\n` +
      `replay (SIM_TRACE=1 prints every message): ELECTION_SIM_SEED=${seed} npx vitest run test/zab/election-sim.test.ts -t '${peers} peers'`);
  }
  return r;
}

describe.each([3, 5])('election simulation, %i peers', (peers) => {
  it(`${peers} peers: every run agrees on one established leader, the best vote when no partition cut anyone out`, () => {
    const seeds = ONE !== undefined ? [Number(ONE)] : Array.from({ length: COUNT }, (_, i) => peers * 100_000 + i);
    const failed: number[] = [];
    let splits = 0;
    let aborts = 0;
    let clean = 0;
    let settleMax = 0;
    for (const seed of seeds) {
      const r = check(peers, seed);
      if (r.violations.length > 0) failed.push(seed);
      splits += r.splitRounds;
      aborts += r.aheadAborts;
      if (r.clean) clean++;
      settleMax = Math.max(settleMax, r.settledAtMs ?? 0);
    }
    console.log(`${peers} peers: ${seeds.length} seeds, ${failed.length} failed (${clean} clean runs); in faulty runs ${splits} rounds with split decisions and ${aborts} leaders that found a follower ahead of them, both undone by the ZAB stub; slowest settle ${settleMax} ms simulated`);
    expect(failed).toEqual([]);
  }, 120_000 + COUNT * 50);
});
