import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/jepsen/checkers/index.js';
import { HistoryBuilder } from './builder.js';

const E = (session: string) => ({ key: '/eph/a', session });

/** Session 0x1 creates /eph/a; session 0x2 sees it. */
function created(): HistoryBuilder {
  return new HistoryBuilder()
    .invoke(1, 'create-ephemeral', undefined, E('0x1')).ok(1, 'create-ephemeral', undefined, E('0x1'))
    .invoke(2, 'check-ephemeral', undefined, E('0x2')).ok(2, 'check-ephemeral', true, E('0x2'));
}
const absent = (h: HistoryBuilder, process = 2, session = '0x2') =>
  h.invoke(process, 'check-ephemeral', undefined, E(session)).ok(process, 'check-ephemeral', false, E(session));
/** The owner writes in its session: proof that it is alive. */
const ownerWrites = (h: HistoryBuilder) => h.invoke(1, 'write', 1, E('0x1')).ok(1, 'write', { value: 1, version: 1 }, E('0x1'));

describe('sessions and ephemerals', () => {
  it('reports the ephemeral of a live session vanishing', () => {
    const result = checkHistory('session', ownerWrites(absent(created())).ops);
    expect(result.valid).toBe(false);
    const [a] = result.verdicts[0]!.anomalies;
    expect(a).toMatchObject({ kind: 'vanished', ops: [0, 1, 2, 3, 4, 5, 6, 7] });
    expect(a!.explanation).toContain('ephemeral /eph/a of a live session vanished: #4..#5 p2 check-ephemeral [/eph/a] -> ok false (session 0x2) found it absent');
  });

  it('accepts it vanishing after its session was closed or expired', () => {
    const closed = ownerWrites(created()).invoke(1, 'close-session', undefined, { session: '0x1' }).ok(1, 'close-session', undefined, { session: '0x1' });
    expect(checkHistory('session', absent(closed).ops).valid).toBe(true);
    const expired = created().info(1, 'session-expired', undefined, { session: '0x1' });
    expect(checkHistory('session', ownerWrites(absent(expired)).ops).valid).toBe(true);
  });

  it('accepts it vanishing when nothing proves the owner alive afterwards (it may have expired unseen)', () => {
    expect(checkHistory('session', absent(created()).ops).valid).toBe(true);
  });

  it('lets a viewer that never saw it find it absent (a lagging server), but not the owner after its create', () => {
    const other = absent(new HistoryBuilder().invoke(1, 'create-ephemeral', undefined, E('0x1')).ok(1, 'create-ephemeral', undefined, E('0x1')), 3, '0x3');
    expect(checkHistory('session', ownerWrites(other).ops).valid).toBe(true);
    const own = absent(new HistoryBuilder().invoke(1, 'create-ephemeral', undefined, E('0x1')).ok(1, 'create-ephemeral', undefined, E('0x1')), 1, '0x1');
    expect(checkHistory('session', ownerWrites(own).ops).valid).toBe(false);
  });

  it('reports an ephemeral seen before it was created', () => {
    const h = new HistoryBuilder()
      .invoke(2, 'check-ephemeral', undefined, E('0x2')).ok(2, 'check-ephemeral', true, E('0x2'))
      .invoke(1, 'create-ephemeral', undefined, E('0x1')).ok(1, 'create-ephemeral', undefined, E('0x1'));
    const result = checkHistory('session', h.ops);
    expect(result.verdicts[0]!.anomalies.map((a) => a.kind)).toEqual(['phantom']);
  });

  it('leaves paths created more than once unchecked, and says so', () => {
    const h = absent(created().invoke(3, 'create-ephemeral', undefined, E('0x3')).fail(3, 'create-ephemeral', undefined, { ...E('0x3'), error: 'NODEEXISTS' }));
    const result = checkHistory('session', ownerWrites(h).ops);
    expect(result.valid).toBe('unknown');
    expect(result.verdicts[0]!.summary).toContain('1 path(s) created more than once or without an ok create were not checked');
  });

  describe('in the harness\'s format (path in the value, checks after sync() with the owner seen)', () => {
    const P = '/jepsen-session/o0-0';
    const found = (exists: boolean, ephemeralOwner?: string) => ({ path: P, owner: '0x1a', exists, ...(ephemeralOwner === undefined ? {} : { ephemeralOwner }) });
    const base = () =>
      new HistoryBuilder()
        .invoke(1, 'create-ephemeral', { path: P }, { session: '0x1a' }).ok(1, 'create-ephemeral', { path: P }, { session: '0x1a' })
        .invoke(2, 'check-ephemeral', { path: P, owner: '0x1a' }, { session: '0x2b' }).ok(2, 'check-ephemeral', found(false), { session: '0x2b' })
        // The owner creates another ephemeral: its session was alive after the check.
        .invoke(1, 'create-ephemeral', { path: `${P}x` }, { session: '0x1a' }).ok(1, 'create-ephemeral', { path: `${P}x` }, { session: '0x1a' });

    it('reads the path and the result from the values', () => {
      // Not synced and never seen by that viewer: a lagging server may not have the create yet.
      const result = checkHistory('session', base().ops);
      expect(result.valid).toBe(true);
      expect(result.verdicts[0]!.summary).toBe('2 ephemeral(s), 1 check(s): none vanished from a live session');
    });

    it('holds a synced check to every create completed before it began', () => {
      const result = checkHistory('session', base().ops, { ephemeral: { syncedChecks: true } });
      expect(result.valid).toBe(false);
      expect(result.verdicts[0]!.anomalies[0]!.explanation).toContain('found it absent after sync(), invoked once #0..#1 p1 create-ephemeral [/jepsen-session/o0-0]');
      const marked = base().ops.map((op) => (op.index === 2 ? { ...op, value: { path: P, owner: '0x1a', synced: true } } : op));
      expect(checkHistory('session', marked).valid).toBe(false);
    });

    it('reports an ephemeral found with another owner', () => {
      const h = new HistoryBuilder()
        .invoke(1, 'create-ephemeral', { path: P }, { session: '0x1a' }).ok(1, 'create-ephemeral', { path: P }, { session: '0x1a' })
        .invoke(2, 'check-ephemeral', { path: P }, { session: '0x2b' }).ok(2, 'check-ephemeral', found(true, '0x01A'), { session: '0x2b' })
        .invoke(2, 'check-ephemeral', { path: P }, { session: '0x2b' }).ok(2, 'check-ephemeral', found(true, '0x3c'), { session: '0x2b' });
      const result = checkHistory('session', h.ops);
      expect(result.verdicts[0]!.anomalies.map((a) => a.kind)).toEqual(['wrong-owner']);
      expect(result.verdicts[0]!.anomalies[0]!.ops).toEqual([0, 1, 4, 5]);
    });

    it('says which entry lacks a path', () => {
      const h = new HistoryBuilder().invoke(1, 'create-ephemeral', { name: 'x' }, { session: '0x1a' }).ok(1, 'create-ephemeral', {}, { session: '0x1a' });
      expect(() => checkHistory('session', h.ops)).toThrow('history entry #0: create-ephemeral needs a key or a value { path }, got {"name":"x"}');
    });
  });
});
