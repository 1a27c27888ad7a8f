import { EventType, type records } from '../jute/index.js';
import { parentOf } from './paths.js';

type ACL = records.ACL;

/** Whoever is to be told of a watch event: in the server, a connection. Compared by identity. */
export type Watcher = object;

export const WatchMode = { STANDARD: 0, PERSISTENT: 1, PERSISTENT_RECURSIVE: 2 } as const;
export type WatchMode = (typeof WatchMode)[keyof typeof WatchMode];

export interface WatchEvent {
  watcher: Watcher;
  type: EventType;
  path: string;
  /**
   * The ACL of the znode the event is about. ZooKeeper (3.8.4, CVE-2024-23944) delivers an event
   * only to a watcher that may READ that znode; the watch is used up either way.
   */
  acl: readonly ACL[];
}

/**
 * One table of watches (ZooKeeper keeps two: data and child). Semantics follow ZooKeeper 3.8's
 * WatchManager: a watcher has one mode per path (the last one set wins); standard watches fire
 * once; persistent ones stay; recursive ones also fire for every descendant, except for
 * NodeChildrenChanged. One trigger notifies each watcher at most once.
 */
/** What trigger() returns when nobody watched: shared, never added to (most writes have no watchers). */
const NO_WATCHERS: ReadonlySet<Watcher> = new Set();

/**
 * The watches on one path: the watcher itself when it is the only one and its watch is STANDARD
 * (nearly every watch: a one-entry Map per path was most of a watch's cost, about 280 B of heap at a
 * million watches, and every major GC marks it), else a map of watcher to mode. A watcher is never a
 * Map (it is a connection), so `instanceof Map` tells them apart.
 */
type PathWatches = Watcher | Map<Watcher, WatchMode>;

export class WatchTable {
  private readonly byPath = new Map<string, PathWatches>();
  private readonly byWatcher = new Map<Watcher, Set<string>>();
  private recursiveCount = 0;

  add(path: string, watcher: Watcher, mode: WatchMode = WatchMode.STANDARD): void {
    const current = this.byPath.get(path);
    if (current === undefined) {
      this.byPath.set(path, mode === WatchMode.STANDARD ? watcher : new Map([[watcher, mode]]));
      if (mode === WatchMode.PERSISTENT_RECURSIVE) this.recursiveCount++;
    } else if (current === watcher && mode === WatchMode.STANDARD) {
      // Set again as it was.
    } else {
      let watchers: Map<Watcher, WatchMode>;
      if (current instanceof Map) watchers = current;
      else {
        watchers = new Map([[current, WatchMode.STANDARD]]);
        this.byPath.set(path, watchers);
      }
      const previous = watchers.get(watcher);
      if (previous === WatchMode.PERSISTENT_RECURSIVE) this.recursiveCount--;
      if (mode === WatchMode.PERSISTENT_RECURSIVE) this.recursiveCount++;
      watchers.set(watcher, mode);
    }
    let paths = this.byWatcher.get(watcher);
    if (!paths) {
      paths = new Set();
      this.byWatcher.set(watcher, paths);
    }
    paths.add(path);
  }

  /** Fires the watches for an event on `path`, appending one event per watcher not in `suppress`. */
  trigger(path: string, type: EventType, acl: readonly ACL[], out: WatchEvent[], suppress?: ReadonlySet<Watcher>): ReadonlySet<Watcher> {
    let notified: Set<Watcher> | undefined;
    for (let p: string | undefined = path; p !== undefined; p = this.recursiveCount > 0 ? parentOf(p) : undefined) {
      const watchers = this.byPath.get(p);
      if (watchers === undefined) continue;
      notified ??= new Set<Watcher>();
      const atParent = p !== path;
      if (!(watchers instanceof Map)) {
        // One STANDARD watch: it fires on the path itself only, and is used up.
        if (!atParent) {
          notified.add(watchers);
          this.forget(p, watchers);
        }
        continue;
      }
      for (const [watcher, mode] of watchers) {
        if (mode === WatchMode.PERSISTENT_RECURSIVE) {
          if (type !== EventType.NodeChildrenChanged) notified.add(watcher);
        } else if (!atParent) {
          notified.add(watcher);
          if (mode === WatchMode.STANDARD) this.forget(p, watcher);
        }
      }
    }
    if (notified === undefined) return NO_WATCHERS;
    for (const watcher of notified) {
      if (!suppress?.has(watcher)) out.push({ watcher, type, path, acl });
    }
    return notified;
  }

  /**
   * checkWatches as ZooKeeper 3.8's WatchManager.containsWatcher answers it: true when anyone
   * watches exactly `path` (it does not look at whose watch it is), false below a recursive watch.
   */
  containsAny(path: string): boolean {
    return this.byPath.has(path);
  }

  /** Removes the watch of `watcher` on exactly `path`; false if there was none. */
  remove(path: string, watcher: Watcher): boolean {
    if (this.modeOf(path, watcher) === undefined) return false;
    this.forget(path, watcher);
    return true;
  }

  /** Removes `watcher` from `path` only if its mode there is one of `modes`. */
  removeIf(path: string, watcher: Watcher, modes: readonly WatchMode[]): boolean {
    const mode = this.modeOf(path, watcher);
    if (mode === undefined || !modes.includes(mode)) return false;
    return this.remove(path, watcher);
  }

  modeOf(path: string, watcher: Watcher): WatchMode | undefined {
    const watchers = this.byPath.get(path);
    if (watchers instanceof Map) return watchers.get(watcher);
    return watchers === watcher ? WatchMode.STANDARD : undefined;
  }

  removeWatcher(watcher: Watcher): void {
    const paths = this.byWatcher.get(watcher);
    if (!paths) return;
    for (const p of [...paths]) this.forget(p, watcher);
    this.byWatcher.delete(watcher);
  }

  pathsOf(watcher: Watcher): ReadonlySet<string> {
    return this.byWatcher.get(watcher) ?? new Set();
  }

  /** Every watched path with its watchers and their modes (for the admin commands: a Map is made for a lone watch). */
  *entries(): IterableIterator<[string, Map<Watcher, WatchMode>]> {
    for (const [path, watchers] of this.byPath) yield [path, watchers instanceof Map ? watchers : new Map([[watchers, WatchMode.STANDARD]])];
  }

  watchers(): IterableIterator<[Watcher, Set<string>]> {
    return this.byWatcher.entries();
  }

  get pathCount(): number {
    return this.byPath.size;
  }

  get watchCount(): number {
    let n = 0;
    for (const w of this.byPath.values()) n += w instanceof Map ? w.size : 1;
    return n;
  }

  /** Drops the watch of `watcher` on `path` (which it has) from both indexes. */
  private forget(path: string, watcher: Watcher): void {
    const watchers = this.byPath.get(path);
    if (watchers instanceof Map) {
      if (watchers.get(watcher) === WatchMode.PERSISTENT_RECURSIVE) this.recursiveCount--;
      watchers.delete(watcher);
      if (watchers.size === 0) this.byPath.delete(path);
    } else if (watchers === watcher) {
      this.byPath.delete(path);
    }
    const paths = this.byWatcher.get(watcher);
    if (paths) {
      paths.delete(path);
      if (paths.size === 0) this.byWatcher.delete(watcher);
    }
  }
}
