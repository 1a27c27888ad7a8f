import type { records } from '../jute/index.js';

/** Java's String.hashCode over UTF-16 code units. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The hashCode Jute generates for org.apache.zookeeper.data.Id. */
function idHash(id: records.Id): number {
  let h = 17;
  h = (Math.imul(37, h) + javaStringHash(id.scheme)) | 0;
  h = (Math.imul(37, h) + javaStringHash(id.id)) | 0;
  return h;
}

/**
 * A connection's ids in the order ZooKeeper lists them (whoAmI): they live in a set backed by a
 * ConcurrentHashMap of 16 bins, iterated bin by bin, insertion order within a bin.
 */
export function inZooKeeperAuthOrder(ids: readonly records.Id[]): records.Id[] {
  const bins = ids.length > 12 ? 32 : 16;
  const bin = (id: records.Id) => {
    const h = idHash(id);
    return ((h ^ (h >>> 16)) & 0x7fffffff) & (bins - 1);
  };
  return ids
    .map((id, i) => ({ id, i, b: bin(id) }))
    .sort((x, y) => x.b - y.b || x.i - y.i)
    .map((x) => x.id);
}

/** Java's HashMap bucket of a string key in a table of `size` (a power of two). */
function bucket(key: string, size: number): number {
  const h = javaStringHash(key);
  return (h ^ (h >>> 16)) & (size - 1);
}

/** Iteration order of a Java HashSet of `size` buckets whose entries were added in `inserted` order. */
function hashSetOrder(inserted: readonly string[], size: number): string[] {
  return inserted
    .map((key, i) => ({ key, i, b: bucket(key, size) }))
    .sort((x, y) => x.b - y.b || x.i - y.i)
    .map((x) => x.key);
}

/**
 * A session's ephemeral paths in the order ZooKeeper lists and deletes them: its DataTree keeps
 * them in a HashSet<String> (of `tableSize` buckets) and hands out a clone, which HashMap sizes
 * afresh for its element count. `inserted` is creation order, as the tree keeps them.
 */
export function ephemeralsInZooKeeperOrder(inserted: readonly string[], tableSize: number): string[] {
  return cloneOfEphemerals(inserted, tableSize).order;
}

function cloneOfEphemerals(inserted: readonly string[], tableSize: number): { order: string[]; size: number } {
  const source = hashSetOrder(inserted, tableSize);
  let size = 1;
  while (size < Math.floor(source.length / 0.75 + 1)) size *= 2;
  return { order: hashSetOrder(source, size), size };
}

/**
 * The paths a closeSession deletes, in ZooKeeper's order: the clone of the session's set (as
 * above), less the paths pending txns delete (`gone`), plus the session's ephemerals pending
 * creation (`added`), each appended to its bucket as HashSet.add does, the table doubling once it
 * is more than 3/4 full. An empty clone starts with 16 buckets, as HashMap does.
 */
export function ephemeralsToDelete(inserted: readonly string[], tableSize: number, gone: ReadonlySet<string>, added: readonly string[]): string[] {
  const clone = cloneOfEphemerals(inserted, tableSize);
  const order = clone.order.filter((p) => !gone.has(p));
  let size = inserted.length === 0 ? 16 : clone.size;
  const present = new Set(order);
  for (const path of added) {
    if (present.has(path)) continue;
    present.add(path);
    order.push(path);
    if (order.length > size * 0.75) size *= 2;
  }
  return hashSetOrder(order, size);
}
