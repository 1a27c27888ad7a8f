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

  intern(acl: ACL[]): number {
    if (acl.length === 0) return AclCache.OPEN;
    const key = aclKey(acl);
    let ref = this.byKey.get(key);
    if (ref === undefined) {
      ref = this.nextRef++;
      this.byKey.set(key, ref);
      this.byRef.set(ref, { acl: acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } })), refs: 0 });
    }
    this.byRef.get(ref)!.refs++;
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
}

function aclKey(acl: ACL[]): string {
  return acl.map((a) => `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}`).join('\u0001');
}
