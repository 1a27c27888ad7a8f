/**
 * The order in which a closeSession lists (and deletes) ephemerals must be ZooKeeper's: it is the
 * iteration order of a Java HashSet (a clone of the session's set, less pending deletes, plus
 * pending creates). The expected orders were printed by java.util.HashSet itself (OpenJDK 17):
 * the same adds, clone, removes and adds, then String.join(",", set).
 */
import { describe, expect, it } from 'vitest';
import { ephemeralsToDelete } from '../../src/server/java-order.js';

describe('ephemeralsToDelete', () => {
  it('removes pending deletes and appends pending creates as HashSet does, resizing past 3/4 full', () => {
    const committed = Array.from({ length: 10 }, (_, i) => `/app/lock-${i}`);
    const added = Array.from({ length: 6 }, (_, i) => `/pending/e${i}`);
    const order = ephemeralsToDelete(committed, 16, new Set(['/app/lock-3', '/app/lock-7', '/elsewhere']), added);
    expect(order.join(',')).toBe(
      '/pending/e1,/app/lock-9,/pending/e0,/app/lock-8,/pending/e3,/pending/e2,/app/lock-6,/pending/e5,/app/lock-5,/pending/e4,/app/lock-4,/app/lock-2,/app/lock-1,/app/lock-0',
    );
  });

  it('a session with no committed ephemerals starts from a 16-bucket set', () => {
    const added = Array.from({ length: 14 }, (_, i) => `/x${i}`);
    expect(ephemeralsToDelete([], 16, new Set(), added).join(',')).toBe('/x0,/x1,/x2,/x3,/x4,/x5,/x6,/x7,/x8,/x9,/x13,/x12,/x11,/x10');
  });

  it('a path already in the set is not added twice', () => {
    expect(ephemeralsToDelete(['/a'], 16, new Set(), ['/a'])).toEqual(['/a']);
  });
});
