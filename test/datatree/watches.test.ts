/**
 * WatchTable against a plain model of ZooKeeper 3.8's WatchManager (a map of path to a map of
 * watcher to mode), under random sequences of adds in every mode, triggers of every event type,
 * removals and watchers leaving. The table keeps a lone STANDARD watch as the watcher itself (to
 * save memory), so the transitions between that form and a map are what this checks: every
 * trigger must notify the same watchers in the same order, and every query must agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventType } from '../../src/jute/index.js';
import { WatchMode, WatchTable, parentOf, type WatchEvent } from '../../src/datatree/index.js';

const PATHS = ['/a', '/a/b', '/a/b/c', '/d'];
const WATCHERS = [{ id: 0 }, { id: 1 }, { id: 2 }];
const TYPES = [EventType.NodeCreated, EventType.NodeDeleted, EventType.NodeDataChanged, EventType.NodeChildrenChanged];
const MODES = [WatchMode.STANDARD, WatchMode.STANDARD, WatchMode.PERSISTENT, WatchMode.PERSISTENT_RECURSIVE];

/** The semantics as they were before the lone-watch form: one map of watcher to mode per path. */
class ModelTable {
  readonly byPath = new Map<string, Map<object, WatchMode>>();

  add(path: string, w: object, mode: WatchMode): void {
    let m = this.byPath.get(path);
    if (!m) this.byPath.set(path, (m = new Map()));
    m.set(w, mode);
  }

  private forget(path: string, w: object): void {
    const m = this.byPath.get(path);
    if (!m) return;
    m.delete(w);
    if (m.size === 0) this.byPath.delete(path);
  }

  trigger(path: string, type: EventType): object[] {
    const notified = new Set<object>();
    for (let p: string | undefined = path; p !== undefined; p = parentOf(p)) {
      const m = this.byPath.get(p);
      if (!m) continue;
      for (const [w, mode] of m) {
        if (mode === WatchMode.PERSISTENT_RECURSIVE) {
          if (type !== EventType.NodeChildrenChanged) notified.add(w);
        } else if (p === path) {
          notified.add(w);
          if (mode === WatchMode.STANDARD) this.forget(p, w);
        }
      }
    }
    return [...notified];
  }

  remove(path: string, w: object): boolean {
    if (!this.byPath.get(path)?.has(w)) return false;
    this.forget(path, w);
    return true;
  }

  removeWatcher(w: object): void {
    for (const p of [...this.byPath.keys()]) this.forget(p, w);
  }
}

type Step =
  | { op: 'add'; path: number; w: number; mode: number }
  | { op: 'trigger'; path: number; type: number }
  | { op: 'remove'; path: number; w: number }
  | { op: 'leave'; w: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), path: fc.nat(PATHS.length - 1), w: fc.nat(WATCHERS.length - 1), mode: fc.nat(MODES.length - 1) }),
  fc.record({ op: fc.constant('trigger' as const), path: fc.nat(PATHS.length - 1), type: fc.nat(TYPES.length - 1) }),
  fc.record({ op: fc.constant('remove' as const), path: fc.nat(PATHS.length - 1), w: fc.nat(WATCHERS.length - 1) }),
  fc.record({ op: fc.constant('leave' as const), w: fc.nat(WATCHERS.length - 1) }),
);

describe('WatchTable', () => {
  it('notifies and answers as the one-map-per-path model under random sequences', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const table = new WatchTable();
        const model = new ModelTable();
        for (const s of steps) {
          if (s.op === 'add') {
            table.add(PATHS[s.path]!, WATCHERS[s.w]!, MODES[s.mode]!);
            model.add(PATHS[s.path]!, WATCHERS[s.w]!, MODES[s.mode]!);
          } else if (s.op === 'trigger') {
            const out: WatchEvent[] = [];
            table.trigger(PATHS[s.path]!, TYPES[s.type]!, [], out);
            expect(out.map((e) => e.watcher)).toEqual(model.trigger(PATHS[s.path]!, TYPES[s.type]!));
          } else if (s.op === 'remove') {
            expect(table.remove(PATHS[s.path]!, WATCHERS[s.w]!)).toBe(model.remove(PATHS[s.path]!, WATCHERS[s.w]!));
          } else {
            table.removeWatcher(WATCHERS[s.w]!);
            model.removeWatcher(WATCHERS[s.w]!);
          }
          for (const p of PATHS) {
            expect(table.containsAny(p)).toBe(model.byPath.has(p));
            for (const w of WATCHERS) expect(table.modeOf(p, w)).toBe(model.byPath.get(p)?.get(w));
          }
          for (const w of WATCHERS) expect([...table.pathsOf(w)].sort()).toEqual(PATHS.filter((p) => model.byPath.get(p)?.has(w)).sort());
          expect(table.watchCount).toBe([...model.byPath.values()].reduce((n, m) => n + m.size, 0));
          expect([...table.entries()].map(([p, m]) => [p, [...m]])).toEqual([...model.byPath].map(([p, m]) => [p, [...m]]));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a lone standard watch without a map, and gives it one when a second watch comes', () => {
    const table = new WatchTable();
    const [a, b] = WATCHERS;
    table.add('/x', a!);
    const inner = (table as unknown as { byPath: Map<string, unknown> }).byPath.get('/x');
    expect(inner).toBe(a);
    table.add('/x', b!, WatchMode.PERSISTENT);
    expect((table as unknown as { byPath: Map<string, unknown> }).byPath.get('/x')).toBeInstanceOf(Map);
    const out: WatchEvent[] = [];
    table.trigger('/x', EventType.NodeDataChanged, [], out);
    expect(out.map((e) => e.watcher)).toEqual([a, b]);
    expect(table.modeOf('/x', a!)).toBeUndefined();
    expect(table.modeOf('/x', b!)).toBe(WatchMode.PERSISTENT);
  });
});
