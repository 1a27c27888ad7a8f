/**
 * Hash flooding: names chosen to share one slot of the path index under FNV-1a with its published
 * offset basis (what a client can compute offline) must not make lookups linear. The index seeds
 * its hash per process, so those names scatter; the probe length shows it without timing anything.
 */
import { describe, expect, it } from 'vitest';
import { NO_NODE, NodeStore, ROOT, type NodeFields } from '../../src/datatree/index.js';
import { slotOf } from '../../src/datatree/node-store.js';

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

function fnv1a(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

const FIELDS: NodeFields = { czxid: 1, mzxid: 1, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 1, aclRef: -1 };

/** `count` names under /flood whose paths all have home slot `target` in a 2^bits-slot index, unseeded. */
function collidingNames(count: number, bits: number, target: number): string[] {
  const mask = (1 << bits) - 1;
  const prefixHash = fnv1a(FNV_OFFSET, '/flood/n');
  const names: string[] = [];
  for (let i = 0; names.length < count; i++) {
    const suffix = i.toString(36);
    if (slotOf(fnv1a(prefixHash, suffix), mask) === target) names.push('n' + suffix);
  }
  return names;
}

describe('path index under hash flooding', () => {
  it('keeps probe sequences short for names that collide under the unseeded hash', () => {
    const count = 1500;
    const names = collidingNames(count, 12, 7);
    const store = new NodeStore();
    // 4,096 slots, not rehashed while the names go in: the slot the names were chosen for is the one used.
    store.reserve(2000);
    const flood = store.addChildNamed(ROOT, 'flood', FIELDS, null);
    for (const name of names) expect(store.addChildNamed(flood, name, FIELDS, null)).not.toBe(NO_NODE);
    // Unseeded, every name probes past all those before it (about 1,500 slots); seeded, the load
    // factor (0.37) keeps the longest sequence to a few dozen slots at most.
    expect(store.maxProbeLength()).toBeLessThan(64);
    for (const name of names) expect(store.lookup(`/flood/${name}`)).not.toBe(NO_NODE);
    expect(store.lookup('/flood/absent')).toBe(NO_NODE);
  });
});
