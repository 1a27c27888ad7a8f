import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../src/jepsen/checkers/linearizability.js';
import { pairOps, type Op } from '../../src/jepsen/history.js';
import { HistoryBuilder } from './builder.js';
import { corruptSyncRead, prng, simulateRegister } from './register-sim.js';

const v = (value: number | null, version: number) => ({ value, version });
/** The search alone (with a budget large enough for these small histories), and the version order alone. */
const bySearch = (h: Op[]) => checkLinearizable(pairOps(h), { versionOrderFallback: false, maxStates: 5_000_000, maxMs: 600_000 });
const byVersions = (h: Op[]) => checkLinearizable(pairOps(h), { maxStates: 0 });

/** Ten concurrent indeterminate writes (values 1..10) on a key created at version 0, then a read. */
function tenUnknownWrites(read: { value: number | null; version: number }): Op[] {
  const h = new HistoryBuilder().invoke(0, 'write', 0, { key: 'x' }).ok(0, 'write', v(0, 0), { key: 'x' });
  for (let p = 1; p <= 10; p++) h.invoke(p, 'write', p, { key: 'x' });
  for (let p = 1; p <= 10; p++) h.info(p, 'write', p, { key: 'x' });
  return h.invoke(20, 'sync-read', undefined, { key: 'x' }).ok(20, 'sync-read', read, { key: 'x' }).ops;
}

/** Shrinks every ok operation's window to its invoke (times only; record order stays): real time then constrains more. */
function shrink(history: readonly Op[], seed: number): Op[] {
  const rnd = prng(seed);
  const invokes = new Map<number, Op>();
  return history.map((op) => {
    if (op.type === 'invoke') invokes.set(op.process, op);
    if (op.type !== 'ok' || rnd() < 0.5) return op;
    const invoke = invokes.get(op.process)!;
    return { ...op, time: invoke.time + (op.time - invoke.time) * rnd() };
  });
}

/** Perturbs one ok result: a read's value or version, or a write/cas's version. */
function mutate(history: readonly Op[], seed: number): Op[] {
  const rnd = prng(seed);
  const copy = history.map((op) => ({ ...op }));
  const oks = copy.filter((op) => op.type === 'ok' && op.value !== undefined);
  const op = oks[Math.floor(rnd() * oks.length)];
  if (op === undefined) return copy;
  const r = op.value as { value: unknown; version: number };
  const written = history.filter((o) => o.type === 'invoke' && o.f === 'write').map((o) => o.value);
  const choice = Math.floor(rnd() * 3);
  if (choice === 0) op.value = { ...r, version: r.version + (rnd() < 0.5 ? 1 : -1) };
  else if (choice === 1 && op.f === 'sync-read' && written.length > 0) op.value = { ...r, value: written[Math.floor(rnd() * written.length)] };
  else op.value = { ...r, value: -1 };
  return copy;
}

describe('version order (the fallback when the search gives up)', () => {
  it('decides what the search could not within its budget, both ways', () => {
    const impossible = byVersions(tenUnknownWrites(v(99, 3)));
    expect(impossible.valid).toBe(false);
    expect(impossible.keys[0]).toMatchObject({ decidedBy: 'version-order', reason: 'budget exhausted: explored 0 states' });
    expect(impossible.anomalies[0]!.explanation).toContain('version 3 must have been made by an operation whose outcome is unknown');
    // Versions 1 and 2 by any two of the others, 3 by the write of 3.
    expect(byVersions(tenUnknownWrites(v(3, 3))).valid).toBe(true);
    // Eleven versions from ten writes is one too many.
    expect(byVersions(tenUnknownWrites(v(3, 11))).valid).toBe(false);
  });

  it('explains each kind of violation', () => {
    const created = () => new HistoryBuilder().invoke(0, 'write', 0, { key: 'x' }).ok(0, 'write', v(0, 0), { key: 'x' });
    const stale = created().invoke(1, 'write', 1, { key: 'x' }).ok(1, 'write', v(1, 1), { key: 'x' }).invoke(2, 'sync-read', undefined, { key: 'x' }).ok(2, 'sync-read', v(0, 0), { key: 'x' });
    expect(byVersions(stale.ops).anomalies[0]!.explanation).toContain('made version 1 and completed before #4..#5 p2 sync-read [x] -> ok {"value":0,"version":0} began, which read version 0: time would run backwards');
    const doubleCas = created()
      .invoke(1, 'cas', { expectedVersion: 0, value: 1 }, { key: 'x' }).invoke(2, 'cas', { expectedVersion: 0, value: 2 }, { key: 'x' })
      .ok(1, 'cas', v(1, 1), { key: 'x' }).ok(2, 'cas', v(2, 1), { key: 'x' });
    expect(byVersions(doubleCas.ops).anomalies[0]!.explanation).toContain('made version 1');
    const wrongValue = created().invoke(1, 'write', 1, { key: 'x' }).ok(1, 'write', v(1, 1), { key: 'x' }).invoke(2, 'sync-read', undefined, { key: 'x' }).ok(2, 'sync-read', v(5, 1), { key: 'x' });
    expect(byVersions(wrongValue.ops).anomalies[0]!.explanation).toContain('read version 1 with another value: version 1 was made by #2..#3 p1 write');
  });

  it('agrees with the search on generated histories, as they are, with one result perturbed, or with windows shrunk', () => {
    const params = fc.record({
      seed: fc.integer(),
      ops: fc.integer({ min: 1, max: 40 }),
      processes: fc.integer({ min: 1, max: 5 }),
      keys: fc.constant(1),
      maxDuration: fc.integer({ min: 1, max: 30 }),
      infoRate: fc.constantFrom(0, 0.2, 0.4),
    });
    let invalid = 0;
    fc.assert(
      fc.property(params, fc.integer(), fc.constantFrom('as-is', 'perturbed', 'corrupted', 'shrunk'), (o, seed, how) => {
        const base = simulateRegister(o);
        const history =
          how === 'as-is' ? base : how === 'perturbed' ? mutate(base, seed) : how === 'shrunk' ? shrink(base, seed) : (corruptSyncRead(base, seed >>> 0)?.history ?? base);
        const search = bySearch(history);
        const versions = byVersions(history);
        expect(search.keys[0]!.decidedBy).toBe('search');
        expect(versions.valid).toBe(search.valid);
        if (search.valid === false) invalid++;
      }),
      { numRuns: 800 },
    );
    // The comparison means something only if both verdicts occur.
    expect(invalid).toBeGreaterThan(50);
  }, 600_000);
});
