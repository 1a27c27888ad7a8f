import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairOps, type Op } from '../../src/jepsen/history.js';
import { checkLinearizable, type LinearizabilityOptions } from '../../src/jepsen/checkers/linearizability.js';
import { HistoryBuilder } from './builder.js';
import { corruptSyncRead, simulateRegister } from './register-sim.js';

const check = (history: Op[], options?: LinearizabilityOptions) => checkLinearizable(pairOps(history), options);
const v = (value: number | null, version: number) => ({ value, version });

/** A key created with value 0 (a write from the missing znode: version 0), as the harness records it. */
function created(): HistoryBuilder {
  return new HistoryBuilder().invoke(0, 'write', 0, { key: 'x' }).ok(0, 'write', v(0, 0), { key: 'x' });
}

describe('linearizability of the register', () => {
  it('accepts a sequential history of writes, cas and sync-reads', () => {
    const h = created()
      .invoke(1, 'sync-read', undefined, { key: 'x' }).ok(1, 'sync-read', v(0, 0), { key: 'x' })
      .invoke(1, 'cas', { expectedVersion: 0, value: 5 }, { key: 'x' }).ok(1, 'cas', v(5, 1), { key: 'x' })
      .invoke(2, 'write', 7, { key: 'x' }).ok(2, 'write', v(7, 2), { key: 'x' })
      .invoke(1, 'sync-read', undefined, { key: 'x' }).ok(1, 'sync-read', v(7, 2), { key: 'x' });
    const verdict = check(h.ops);
    expect(verdict.valid).toBe(true);
    expect(verdict.keys).toMatchObject([{ key: 'x', valid: true, ops: 5 }]);
  });

  it('lets a sync-read concurrent with a write see the value before or after it', () => {
    for (const seen of [v(0, 0), v(1, 1)]) {
      const h = created()
        .invoke(1, 'write', 1, { key: 'x' })
        .invoke(2, 'sync-read', undefined, { key: 'x' })
        .ok(2, 'sync-read', seen, { key: 'x' })
        .ok(1, 'write', v(1, 1), { key: 'x' });
      expect(check(h.ops).valid).toBe(true);
    }
  });

  it('rejects a stale sync-read and names it, with the longest linearizable prefix', () => {
    const h = created()
      .invoke(1, 'write', 1, { key: 'x' }).ok(1, 'write', v(1, 1), { key: 'x' })
      .invoke(2, 'sync-read', undefined, { key: 'x' }).ok(2, 'sync-read', v(0, 0), { key: 'x' });
    const verdict = check(h.ops);
    expect(verdict.valid).toBe(false);
    expect(verdict.anomalies).toHaveLength(1);
    const [a] = verdict.anomalies;
    expect(a!.kind).toBe('nonlinearizable');
    // The write cannot go first: it would leave the read, which needs version 0, impossible.
    expect(a!.ops).toEqual([2, 3, 4, 5]);
    expect(a!.explanation).toContain('longest linearizable prefix has 1 operation(s), ending in state {value: 0, version: 0}');
    expect(a!.explanation).toContain('#2..#3 p1 write [x] 1 -> ok {"value":1,"version":1}: it would make version 1, after which #4..#5 p2 sync-read [x]');
  });

  it('rejects a lost write: a later write acknowledged at the version an earlier acknowledged write had', () => {
    const h = created()
      .invoke(1, 'write', 1, { key: 'x' }).ok(1, 'write', v(1, 1), { key: 'x' })
      .invoke(2, 'write', 2, { key: 'x' }).ok(2, 'write', v(2, 1), { key: 'x' });
    expect(check(h.ops).valid).toBe(false);
  });

  it('rejects two cas that both succeeded on the same expected version, even when concurrent', () => {
    const h = created()
      .invoke(1, 'cas', { expectedVersion: 0, value: 1 }, { key: 'x' })
      .invoke(2, 'cas', { expectedVersion: 0, value: 2 }, { key: 'x' })
      .ok(1, 'cas', v(1, 1), { key: 'x' })
      .ok(2, 'cas', v(2, 1), { key: 'x' });
    expect(check(h.ops).valid).toBe(false);
  });

  it('lets an indeterminate write take effect long after its invoke, or never, but not undo itself', () => {
    const base = () => created().invoke(1, 'write', 1, { key: 'x' }).info(1, 'write', 1, { key: 'x', error: 'CONNECTIONLOSS' });
    const read = (h: HistoryBuilder, p: number, value: number, version: number) => h.invoke(p, 'sync-read', undefined, { key: 'x' }).ok(p, 'sync-read', v(value, version), { key: 'x' });
    expect(check(read(read(base(), 2, 0, 0), 2, 1, 1).ops).valid).toBe(true);
    expect(check(read(base(), 2, 0, 0).ops).valid).toBe(true);
    expect(check(read(read(base(), 2, 1, 1), 2, 0, 0).ops).valid).toBe(false);
    // Never completed at all (the run ended): the same as info.
    const pending = created().invoke(1, 'write', 1, { key: 'x' });
    expect(check(read(pending, 2, 1, 1).ops).valid).toBe(true);
  });

  it('treats an indeterminate cas at a version it does not expect as without effect', () => {
    const h = created()
      .invoke(1, 'cas', { expectedVersion: 7, value: 1 }, { key: 'x' }).info(1, 'cas', { expectedVersion: 7, value: 1 }, { key: 'x' })
      .invoke(2, 'sync-read', undefined, { key: 'x' }).ok(2, 'sync-read', v(0, 0), { key: 'x' });
    expect(check(h.ops).valid).toBe(true);
  });

  it('drops failed operations: a value only a failed write carried cannot be read', () => {
    const h = created()
      .invoke(1, 'write', 9, { key: 'x' }).fail(1, 'write', 9, { key: 'x', error: 'NONODE' })
      .invoke(2, 'sync-read', undefined, { key: 'x' }).ok(2, 'sync-read', v(9, 1), { key: 'x' });
    expect(check(h.ops).valid).toBe(false);
  });

  it('ignores plain reads and sync-reads of unknown outcome', () => {
    const h = created()
      .invoke(1, 'read', undefined, { key: 'x' }).ok(1, 'read', v(42, 9), { key: 'x' })
      .invoke(2, 'sync-read', undefined, { key: 'x' }).info(2, 'sync-read', undefined, { key: 'x' });
    const verdict = check(h.ops);
    expect(verdict.valid).toBe(true);
    expect(verdict.keys[0]!.ops).toBe(1);
  });

  it('checks each key on its own and reports only the broken one', () => {
    const h = new HistoryBuilder()
      .invoke(0, 'write', 1, { key: 'a' }).ok(0, 'write', v(1, 0), { key: 'a' })
      .invoke(0, 'write', 1, { key: 'b' }).ok(0, 'write', v(1, 0), { key: 'b' })
      .invoke(1, 'sync-read', undefined, { key: 'a' }).ok(1, 'sync-read', v(1, 0), { key: 'a' })
      .invoke(1, 'sync-read', undefined, { key: 'b' }).ok(1, 'sync-read', v(null, -1), { key: 'b' });
    const verdict = check(h.ops);
    expect(verdict.valid).toBe(false);
    expect(verdict.keys.map((k) => [k.key, k.valid])).toEqual([['a', true], ['b', false]]);
    expect(verdict.anomalies[0]!.explanation).toContain('key "b"');
  });

  it('memoizes: ten concurrent reads are explored as 2^10 sets, not 10! orders', () => {
    const h = created();
    for (let p = 1; p <= 10; p++) h.invoke(p, 'sync-read', undefined, { key: 'x' });
    for (let p = 1; p <= 10; p++) h.ok(p, 'sync-read', v(0, 0), { key: 'x' });
    h.invoke(20, 'sync-read', undefined, { key: 'x' }).ok(20, 'sync-read', v(7, 0), { key: 'x' });
    const verdict = check(h.ops);
    expect(verdict.valid).toBe(false);
    expect(verdict.keys[0]!.decidedBy).toBe('search');
    expect(verdict.keys[0]!.statesExplored).toBeLessThanOrEqual(1 + 1024);
  });

  it('says unknown, not valid or invalid, when the budget runs out', () => {
    // Ten concurrent indeterminate writes, then a read no order of them explains: refuting it needs many states.
    const h = created();
    for (let p = 1; p <= 10; p++) h.invoke(p, 'write', p, { key: 'x' });
    for (let p = 1; p <= 10; p++) h.info(p, 'write', p, { key: 'x' });
    h.invoke(20, 'sync-read', undefined, { key: 'x' }).ok(20, 'sync-read', v(99, 3), { key: 'x' });
    const small = check(h.ops, { maxStates: 50, versionOrderFallback: false });
    expect(small.valid).toBe('unknown');
    expect(small.anomalies).toEqual([]);
    expect(small.keys[0]!.reason).toBe('budget exhausted: explored 50 states');
    const full = check(h.ops);
    expect(full.valid).toBe(false);
    expect(full.keys[0]!.statesExplored).toBeGreaterThan(50);
  });

  it('says unknown when the time budget runs out', () => {
    // Sixteen indeterminate writes and a read six versions on: millions of orders to refute.
    const h = created();
    for (let p = 1; p <= 16; p++) h.invoke(p, 'write', p, { key: 'x' });
    for (let p = 1; p <= 16; p++) h.info(p, 'write', p, { key: 'x' });
    h.invoke(20, 'sync-read', undefined, { key: 'x' }).ok(20, 'sync-read', v(99, 6), { key: 'x' });
    const verdict = check(h.ops, { maxMs: 1, versionOrderFallback: false });
    expect(verdict.valid).toBe('unknown');
    expect(verdict.keys[0]!.reason).toMatch(/^budget exhausted: 1 ms elapsed after \d+ states$/);
  });

  it('throws a clear error on a sync-read ok without a version', () => {
    const h = new HistoryBuilder().invoke(1, 'sync-read', undefined, { key: 'x' }).ok(1, 'sync-read', 3, { key: 'x' });
    expect(() => check(h.ops)).toThrow('history entry #1: sync-read ok needs a value { value, version }, got 3');
  });
});

describe('linearizability property', () => {
  const params = fc.record({
    seed: fc.integer(),
    ops: fc.integer({ min: 1, max: 60 }),
    processes: fc.integer({ min: 1, max: 6 }),
    keys: fc.integer({ min: 1, max: 2 }),
    maxDuration: fc.integer({ min: 1, max: 40 }),
    infoRate: fc.constantFrom(0, 0.1, 0.3),
  });

  it('accepts every history produced by the sequential model with random concurrency windows', () => {
    fc.assert(
      fc.property(params, (o) => {
        const verdict = check(simulateRegister(o));
        expect(verdict.valid).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects such a history once a sync-read returns a value never written', () => {
    fc.assert(
      fc.property(params, fc.nat(), (o, at) => {
        const corrupted = corruptSyncRead(simulateRegister(o), at);
        fc.pre(corrupted !== null);
        const verdict = check(corrupted!.history);
        expect(verdict.valid).toBe(false);
        expect(verdict.anomalies[0]!.ops).toContain(corrupted!.index);
      }),
      { numRuns: 300 },
    );
  });
});

describe('linearizability performance', () => {
  // Prints the figures (no timed assert: the machine may be shared).
  const measure = (label: string, history: Op[]) => {
    const verdict = check(history);
    const k = verdict.keys[0]!;
    console.log(`linearizability, ${label}: ${k.ops} ops (${k.indeterminate} indeterminate) on one key, 10 processes: ${verdict.valid} in ${verdict.timeMs} ms, ${k.statesExplored} states, decided by ${k.decidedBy}`);
    return verdict;
  };

  it('checks 5,000 operations on one key from 10 processes, linearizable or not', () => {
    const few = simulateRegister({ seed: 11, ops: 5000, processes: 10, keys: 1, maxDuration: 30, infoRate: 0.02 });
    expect(measure('2% indeterminate', few).valid).toBe(true);
    expect(measure('10% indeterminate', simulateRegister({ seed: 12, ops: 5000, processes: 10, keys: 1, maxDuration: 100, infoRate: 0.1 })).valid).toBe(true);
    expect(measure('2% indeterminate, one sync-read corrupted mid-way', corruptSyncRead(few, 2500)!.history).valid).toBe(false);
  }, 120_000);
});
