import type { records } from '../jute/index.js';

type ACL = records.ACL;

/**
 * Interns ACL lists, as ZooKeeper's ReferenceCountedACLCache does: most znodes share a handful of
 * ACL lists, so each znode keeps a small number instead of its own list. Reference counts let unused
 * lists go away, and the numbering is what ZooKeeper's snapshots store.
 */
export class AclCache {
  private readonly byRef = new Map<number, { acl: ACL[]; refs: number }>();
  private readonly byKey = new Map<string, number>();
  private nextRef = 1;

  /** Ref of an empty list: ZooKeeper uses -1 for "no ACL" (open to all). */
  static readonly OPEN = -1;

  /** The list interned last: most creates in a row carry the same list, found here without a key. */
  private last: { ref: number; entry: { acl: ACL[]; refs: number } } | undefined;

  intern(acl: ACL[]): number {
    if (acl.length === 0) return AclCache.OPEN;
    const last = this.last;
    if (last !== undefined && last.entry.refs > 0 && sameAcl(acl, last.entry.acl)) {
      last.entry.refs++;
      return last.ref;
    }
    const key = aclKey(acl);
    let ref = this.byKey.get(key);
    if (ref === undefined) {
      ref = this.nextRef++;
      this.byKey.set(key, ref);
      this.byRef.set(ref, { acl: acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } })), refs: 0 });
    }
    const entry = this.byRef.get(ref)!;
    entry.refs++;
    this.last = { ref, entry };
    return ref;
  }

  release(ref: number): void {
    const entry = this.byRef.get(ref);
    if (!entry) return;
    if (--entry.refs <= 0) {
      this.byRef.delete(ref);
      this.byKey.delete(aclKey(entry.acl));
    }
  }

  get(ref: number): ACL[] {
    return this.byRef.get(ref)?.acl ?? [];
  }

  get size(): number {
    return this.byRef.size;
  }

  // ---- snapshot support (used by src/zab's snapshot reader and writer; intern/release are unchanged) ----

  /** Every interned list with its ref, in ref order of creation. The lists must not be modified. */
  *entries(): IterableIterator<[number, readonly ACL[]]> {
    for (const [ref, entry] of this.byRef) yield [ref, entry.acl];
  }

  /** Whether `ref` names a list of this cache (OPEN always does). */
  has(ref: number): boolean {
    return ref === AclCache.OPEN || this.byRef.has(ref);
  }

  /** The number of users of `ref` (0 for OPEN and unknown refs, which are not counted). */
  usesOf(ref: number): number {
    return this.byRef.get(ref)?.refs ?? 0;
  }

  /** The highest ref handed out so far; the next new list gets a higher one. */
  get maxRef(): number {
    return this.nextRef - 1;
  }

  /** Forgets every list, before a restore. */
  clear(): void {
    this.last = undefined;
    this.byRef.clear();
    this.byKey.clear();
    this.nextRef = 1;
  }

  /**
   * Adds a list under the ref a snapshot gave it (or, with `ref` undefined, under a new ref), with no
   * users yet (see addUsage). Returns the ref nodes must use for it: `ref` itself, except that an
   * empty list is OPEN and a list already present (a snapshot may hold one twice) keeps its first
   * ref. Later interns get refs above every restored one, as ZooKeeper's aclIndex does.
   */
  restore(ref: number | undefined, acl: readonly ACL[]): number {
    if (ref !== undefined) {
      if (!Number.isSafeInteger(ref) || ref <= 0) throw new RangeError(`invalid ACL ref ${ref}`);
      if (ref >= this.nextRef) this.nextRef = ref + 1;
    }
    if (acl.length === 0) return AclCache.OPEN;
    const key = aclKey(acl);
    const existing = this.byKey.get(key);
    if (existing !== undefined) return existing;
    if (ref === undefined) ref = this.nextRef;
    if (this.byRef.has(ref)) throw new RangeError(`ACL ref ${ref} restored twice with different lists`);
    this.byKey.set(key, ref);
    this.byRef.set(ref, { acl: acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } })), refs: 0 });
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    return ref;
  }

  /** Counts one more user of a list (a node restored with it). OPEN is not counted. */
  addUsage(ref: number): void {
    if (ref === AclCache.OPEN) return;
    const entry = this.byRef.get(ref);
    if (!entry) throw new RangeError(`unknown ACL ref ${ref}`);
    entry.refs++;
  }

  /** Drops lists that no node uses (ReferenceCountedACLCache.purgeUnused, after a restore). */
  purgeUnused(): void {
    for (const [ref, entry] of this.byRef) {
      if (entry.refs <= 0) {
        this.byRef.delete(ref);
        this.byKey.delete(aclKey(entry.acl));
      }
    }
  }
}

function sameAcl(a: readonly ACL[], b: readonly ACL[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.perms !== y.perms || x.id.scheme !== y.id.scheme || x.id.id !== y.id.id) return false;
  }
  return true;
}

/** The interning key of a list (runs for every create and setACL: a plain loop, no arrays). */
function aclKey(acl: readonly ACL[]): string {
  let key = '';
  for (let i = 0; i < acl.length; i++) {
    const a = acl[i]!;
    if (i > 0) key += '\u0001';
    key += a.perms + '\u0000' + a.id.scheme + '\u0000' + a.id.id;
  }
  return key;
}
