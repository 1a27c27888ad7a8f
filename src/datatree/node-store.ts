import { randomBytes } from 'node:crypto';
import { ByteArena } from './byte-arena.js';

/**
 * Znodes in columns: one slot of typed arrays per znode instead of a JS object, a Map entry, a path
 * string, a child-name string and a Buffer (about 7 heap objects and 780 bytes of RSS per znode).
 *
 * - A znode is an id (a row). Stat fields live in typed arrays; its name (not its path) and a small
 *   value live in a ByteArena; values over ByteArena.MAX_BYTES are Buffers in a Map by id.
 * - Children are a doubly linked list (first/last/next/prev), in creation order.
 * - Fields only a parent needs (first and last child, count, cversion, pzxid) are in a second,
 *   smaller set of columns, the "branch" of a node that has or had children. A leaf's cversion is 0
 *   and its pzxid its czxid, as ZooKeeper sets them at creation.
 * - ephemeralOwner and aversion are 0 for most znodes: the others are in Maps by id.
 * - A path finds its id through an open-addressing hash table of ids, keyed by the FNV-1a hash of
 *   the path's UTF-8 bytes started from a random basis (see PATH_HASH_BASIS); a candidate is
 *   confirmed by comparing names up the parent chain.
 *
 * Snapshots: between beginSnapshot(zxid) and endSnapshot(), the first change to a row that existed
 * at `zxid` saves a copy of it (copy on write), and freed rows and value bytes are only reused after
 * endSnapshot(). snapshotRow()/snapshotChildren() then answer as of `zxid` while txns go on.
 */

export const ROOT = 0;
export const NO_NODE = -1;

/**
 * The FNV-1a offset basis, random per process instead of FNV's fixed 0x811c9dc5: with the fixed one a
 * client allowed to create znodes can compute names that share a slot of the index offline, and
 * every lookup near them becomes a linear scan (hash flooding). Hashes live only in memory (the
 * snapshot loader recomputes them through childHash), so no file depends on this value.
 */
const PATH_HASH_BASIS = randomBytes(4).readInt32LE(0);
const FNV_PRIME = 16777619;
const SLASH = 0x2f;

/** Values of this size or less are kept in the arena. */
const ARENA_VALUE_MAX = ByteArena.MAX_BYTES;
const NULL_DATA = -1;
const HAS_OWNER = 1;
const HAS_AVERSION = 2;

/** Stat fields of a znode as stored (cversion counts child creations, as ZooKeeper stores it). */
export interface NodeFields {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: number;
  aclRef: number;
}

/** One znode as a snapshot sees it (see fillSnapshotRow). `data` is a view: copy before keeping. */
export interface SnapshotRow extends NodeFields {
  data: Buffer | null;
}

/** A row as it was when the snapshot began, saved before its first change. */
interface SavedRow extends NodeFields {
  dataLen: number;
  dataAddr: number;
  big: Buffer | undefined;
  children: Int32Array;
}

/** Continues an FNV-1a hash over bytes. */
function hashBytes(h: number, buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
  return h;
}

/** The home slot of hash `h` in an index of mask + 1 slots. */
export function slotOf(h: number, mask: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & mask;
}

function grownF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

function grownI32(a: Int32Array, n: number, fill?: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  if (fill !== undefined) b.fill(fill, a.length);
  return b;
}

const EMPTY = Buffer.alloc(0);
const NO_CHILDREN = new Int32Array(0);
let nameScratch = Buffer.allocUnsafe(256);

/** Copies text[start, end) into nameScratch as bytes and returns its length, or -1 if it is not ASCII. */
function asciiName(text: string, start: number): number {
  const len = text.length - start;
  if (len > nameScratch.length) nameScratch = Buffer.allocUnsafe(len * 2);
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(start + i);
    if (c >= 0x80) return -1;
    nameScratch[i] = c;
  }
  return len;
}

export class NodeStore {
  private capacity = 0;
  czxid = new Float64Array(0);
  mzxid = new Float64Array(0);
  ctime = new Float64Array(0);
  mtime = new Float64Array(0);
  version = new Int32Array(0);
  aclRef = new Int32Array(0);
  /** Value length; NULL_DATA for null. */
  private dataLen = new Int32Array(0);
  /** Arena address of a value of 1..ARENA_VALUE_MAX bytes. */
  private dataAddr = new Int32Array(0);
  /** Arena address of the name: a LEB128 length, then UTF-8 bytes. -1 for the root. */
  private nameAddr = new Int32Array(0);
  parent = new Int32Array(0);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  /** FNV-1a hash of the path's bytes (of "" for the root). */
  private hash = new Int32Array(0);
  /** Index into the branch columns, or -1 for a leaf. */
  private branch = new Int32Array(0);
  private flags = new Uint8Array(0);

  private branchCapacity = 0;
  private branchTop = 0;
  private readonly freeBranches: number[] = [];
  private firstChild = new Int32Array(0);
  private lastChild = new Int32Array(0);
  private childCountOf = new Int32Array(0);
  private cversionOf = new Int32Array(0);
  private pzxidOf = new Float64Array(0);

  private readonly owners = new Map<number, bigint>();
  /** aversion of the rows that have one (setACL was called on them): a column was 4 bytes per znode. */
  private readonly aversions = new Map<number, number>();
  private readonly bigValues = new Map<number, Buffer>();
  private readonly arena: ByteArena;

  private idTop = 0;
  private readonly freeIds: number[] = [];
  private liveCount = 0;

  /** ids + 1 (0 = empty), indexed by slotOf(hash). Holds every live node but the root. */
  private slots = new Int32Array(16);
  private mask = 15;

  /** The hash lookup() computed for its path (for insertChild after a miss). */
  lastHash = 0;

  private saved: Map<number, SavedRow> | null = null;
  private savedZxid = 0;
  private deferredRows: number[] = [];
  private deferredValues: number[] = [];

  /** `arenaChunkBytes`: see ByteArena (tests of names longer than a chunk pass a small one). */
  constructor(arenaChunkBytes?: number) {
    this.arena = new ByteArena(arenaChunkBytes);
    this.reset();
  }

  /** Empties the store, leaving only a root with zeroed fields. */
  reset(): void {
    this.capacity = 0;
    this.grow(64);
    this.firstChild = new Int32Array(0);
    this.lastChild = new Int32Array(0);
    this.childCountOf = new Int32Array(0);
    this.cversionOf = new Int32Array(0);
    this.pzxidOf = new Float64Array(0);
    this.growBranches(16);
    this.branchTop = 0;
    this.freeBranches.length = 0;
    this.owners.clear();
    this.aversions.clear();
    this.bigValues.clear();
    this.arena.clear();
    this.idTop = 0;
    this.freeIds.length = 0;
    this.liveCount = 0;
    this.slots = new Int32Array(16);
    this.mask = 15;
    this.saved = null;
    this.cachedParent = NO_NODE;
    this.cachedParentPath = '';
    this.deferredRows = [];
    this.deferredValues = [];
    const root = this.newRow();
    this.nameAddr[root] = -1;
    this.parent[root] = NO_NODE;
    this.hash[root] = PATH_HASH_BASIS;
    this.dataLen[root] = 0;
  }

  get size(): number {
    return this.liveCount;
  }

  // ---- growth ----

  /**
   * Makes room for `nodes` znodes at once (restoring a snapshot of known size): no column is
   * copied and the index is not rehashed while they are added. Untouched room costs address space,
   * not memory (typed arrays start as zero pages).
   */
  reserve(nodes: number): void {
    let n = this.capacity;
    while (n < nodes) n *= 2;
    if (n > this.capacity) this.grow(n);
    let slots = this.mask + 1;
    while (slots < nodes * 2) slots *= 2;
    if (slots > this.mask + 1) this.rehash(slots);
  }

  private grow(n: number): void {
    const old = this.capacity;
    if (old === 0) {
      this.czxid = new Float64Array(n);
      this.mzxid = new Float64Array(n);
      this.ctime = new Float64Array(n);
      this.mtime = new Float64Array(n);
      this.version = new Int32Array(n);
      this.aclRef = new Int32Array(n);
      this.dataLen = new Int32Array(n);
      this.dataAddr = new Int32Array(n);
      this.nameAddr = new Int32Array(n);
      this.parent = new Int32Array(n);
      this.next = new Int32Array(n);
      this.prev = new Int32Array(n);
      this.hash = new Int32Array(n);
      this.branch = new Int32Array(n);
      this.flags = new Uint8Array(n);
    } else {
      this.czxid = grownF64(this.czxid, n);
      this.mzxid = grownF64(this.mzxid, n);
      this.ctime = grownF64(this.ctime, n);
      this.mtime = grownF64(this.mtime, n);
      this.version = grownI32(this.version, n);
      this.aclRef = grownI32(this.aclRef, n);
      this.dataLen = grownI32(this.dataLen, n);
      this.dataAddr = grownI32(this.dataAddr, n);
      this.nameAddr = grownI32(this.nameAddr, n);
      this.parent = grownI32(this.parent, n);
      this.next = grownI32(this.next, n);
      this.prev = grownI32(this.prev, n);
      this.hash = grownI32(this.hash, n);
      this.branch = grownI32(this.branch, n);
      const flags = new Uint8Array(n);
      flags.set(this.flags);
      this.flags = flags;
    }
    this.capacity = n;
  }

  private growBranches(n: number): void {
    this.firstChild = grownI32(this.firstChild, n);
    this.lastChild = grownI32(this.lastChild, n);
    this.childCountOf = grownI32(this.childCountOf, n);
    this.cversionOf = grownI32(this.cversionOf, n);
    this.pzxidOf = grownF64(this.pzxidOf, n);
    this.branchCapacity = n;
  }

  private newRow(): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      if (this.idTop === this.capacity) this.grow(this.capacity * 2);
      id = this.idTop++;
    }
    this.liveCount++;
    this.branch[id] = -1;
    this.next[id] = NO_NODE;
    this.prev[id] = NO_NODE;
    this.flags[id] = 0;
    return id;
  }

  /** The branch of `id`, made (cversion 0, pzxid = czxid, no children) if it is a leaf. */
  private branchOf(id: number): number {
    let b = this.branch[id]!;
    if (b >= 0) return b;
    b = this.freeBranches.pop() ?? this.branchTop++;
    if (b === this.branchCapacity) this.growBranches(this.branchCapacity * 2);
    this.firstChild[b] = NO_NODE;
    this.lastChild[b] = NO_NODE;
    this.childCountOf[b] = 0;
    this.cversionOf[b] = 0;
    this.pzxidOf[b] = this.czxid[id]!;
    this.branch[id] = b;
    return b;
  }

  // ---- reading ----

  cversion(id: number): number {
    const b = this.branch[id]!;
    return b < 0 ? 0 : this.cversionOf[b]!;
  }

  pzxid(id: number): number {
    const b = this.branch[id]!;
    return b < 0 ? this.czxid[id]! : this.pzxidOf[b]!;
  }

  childCount(id: number): number {
    const b = this.branch[id]!;
    return b < 0 ? 0 : this.childCountOf[b]!;
  }

  ephemeralOwner(id: number): bigint {
    return (this.flags[id]! & HAS_OWNER) === 0 ? 0n : this.owners.get(id)!;
  }

  aversion(id: number): number {
    return (this.flags[id]! & HAS_AVERSION) === 0 ? 0 : this.aversions.get(id)!;
  }

  private storeAversion(id: number, aversion: number): void {
    if (aversion !== 0) {
      this.flags[id]! |= HAS_AVERSION;
      this.aversions.set(id, aversion);
    } else if (this.flags[id]! & HAS_AVERSION) {
      this.flags[id]! &= ~HAS_AVERSION;
      this.aversions.delete(id);
    }
  }

  dataLength(id: number): number {
    const len = this.dataLen[id]!;
    return len < 0 ? 0 : len;
  }

  /** The value (a copy the caller owns). */
  data(id: number): Buffer | null {
    const len = this.dataLen[id]!;
    if (len === NULL_DATA) return null;
    if (len === 0) return Buffer.alloc(0);
    if (len > ARENA_VALUE_MAX) return this.bigValues.get(id)!;
    return this.arena.copyOut(this.dataAddr[id]!, len);
  }

  /** The value without a copy: valid only until the tree changes (for replies written at once). */
  dataView(id: number): Buffer | null {
    const len = this.dataLen[id]!;
    if (len === NULL_DATA) return null;
    if (len === 0) return EMPTY;
    if (len > ARENA_VALUE_MAX) return this.bigValues.get(id)!;
    return this.arena.view(this.dataAddr[id]!, len);
  }

  /** The child ids of `id`, oldest first. */
  childIds(id: number): number[] {
    const out: number[] = [];
    const b = this.branch[id]!;
    if (b < 0) return out;
    for (let c = this.firstChild[b]!; c !== NO_NODE; c = this.next[c]!) out.push(c);
    return out;
  }

  firstChildOf(id: number): number {
    const b = this.branch[id]!;
    return b < 0 ? NO_NODE : this.firstChild[b]!;
  }

  nextSibling(id: number): number {
    return this.next[id]!;
  }

  /** The node's name (its last path component; "" for the root). */
  name(id: number): string {
    this.nameAt(id);
    return this.nameChunk.toString('utf8', this.nameStart, this.nameStart + this.nameLen);
  }

  childNames(id: number): string[] {
    const out: string[] = [];
    const b = this.branch[id]!;
    if (b < 0) return out;
    for (let c = this.firstChild[b]!; c !== NO_NODE; c = this.next[c]!) out.push(this.name(c));
    return out;
  }

  path(id: number): string {
    if (id === ROOT) return '/';
    let p = '';
    for (let n = id; n !== ROOT; n = this.parent[n]!) p = '/' + this.name(n) + p;
    return p;
  }

  // Name bytes: set by nameAt() (the chunk, the first byte, the length) to avoid allocating.
  private nameChunk: Buffer = EMPTY;
  private nameStart = 0;
  private nameLen = 0;

  private nameAt(id: number): void {
    const addr = this.nameAddr[id]!;
    if (addr < 0) {
      this.nameChunk = EMPTY;
      this.nameStart = 0;
      this.nameLen = 0;
      return;
    }
    const chunk = this.arena.chunkOf(addr);
    let at = this.arena.offsetOf(addr);
    let len = 0;
    for (let shift = 0; ; shift += 7) {
      const b = chunk[at++]!;
      len |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    this.nameChunk = chunk;
    this.nameStart = at;
    this.nameLen = len;
  }

  /** Appends the node's name bytes to out at `at`; returns the new end (out must have room: see nameLength). */
  copyName(id: number, out: Buffer, at: number): number {
    this.nameAt(id);
    this.nameChunk.copy(out, at, this.nameStart, this.nameStart + this.nameLen);
    return at + this.nameLen;
  }

  nameLength(id: number): number {
    this.nameAt(id);
    return this.nameLen;
  }

  // ---- finding a path ----

  /** The id at `path`, or NO_NODE; sets lastHash to the path's hash either way. */
  lookup(path: string): number {
    if (path.length === 1 && path.charCodeAt(0) === SLASH) {
      this.lastHash = PATH_HASH_BASIS;
      return ROOT;
    }
    let h = PATH_HASH_BASIS;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c >= 0x80) return this.lookupEncoded(path);
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    this.lastHash = h;
    const slots = this.slots;
    const mask = this.mask;
    for (let s = slotOf(h, mask); ; s = (s + 1) & mask) {
      const v = slots[s]!;
      if (v === 0) return NO_NODE;
      const id = v - 1;
      if (this.hash[id] === h && this.matchesAscii(id, path)) return id;
    }
  }

  private lookupEncoded(path: string): number {
    const bytes = Buffer.from(path, 'utf8');
    return this.lookupBytes(bytes, 0, bytes.length);
  }


  /** The last parent resolve() looked up (writes come in runs under one parent); forgotten when removed. */
  private cachedParent = NO_NODE;
  private cachedParentPath = '';

  /** Set by resolve(): the parent's id (NO_NODE if it is missing), the path's hash, where its name starts. */
  resolvedParent = NO_NODE;
  resolvedHash = 0;
  resolvedNameStart = 0;

  /**
   * Finds `path` and its parent in one pass over the path (create and delete need both): returns the
   * node's id or NO_NODE, and sets resolvedParent, resolvedHash and resolvedNameStart for
   * addResolved(). For "/" the parent is NO_NODE.
   */
  resolve(path: string): number {
    let h = PATH_HASH_BASIS;
    let parentHash = PATH_HASH_BASIS;
    let slash = -1;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c >= 0x80) return this.resolveEncoded(path);
      if (c === SLASH) {
        parentHash = h;
        slash = i;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    this.resolvedHash = h;
    this.resolvedNameStart = slash + 1;
    if (slash < 0 || path.length === 1) {
      // "" or "/": no parent.
      this.resolvedParent = NO_NODE;
      return path.length === 1 ? ROOT : NO_NODE;
    }
    let parent = ROOT;
    if (slash > 0 && slash === this.cachedParentPath.length && path.startsWith(this.cachedParentPath)) {
      parent = this.cachedParent;
    } else if (slash > 0) {
      parent = NO_NODE;
      const slots = this.slots;
      const mask = this.mask;
      for (let s = slotOf(parentHash, mask); ; s = (s + 1) & mask) {
        const v = slots[s]!;
        if (v === 0) break;
        if (this.hash[v - 1] === parentHash && this.matchesAscii(v - 1, path, slash)) {
          parent = v - 1;
          this.cachedParent = parent;
          this.cachedParentPath = path.substring(0, slash);
          break;
        }
      }
    }
    this.resolvedParent = parent;
    if (parent === NO_NODE) return NO_NODE;
    const slots = this.slots;
    const mask = this.mask;
    const nameLen = path.length - slash - 1;
    for (let s = slotOf(h, mask); ; s = (s + 1) & mask) {
      const v = slots[s]!;
      if (v === 0) return NO_NODE;
      const id = v - 1;
      if (this.hash[id] !== h || this.parent[id] !== parent) continue;
      this.nameAt(id);
      if (this.nameLen !== nameLen) continue;
      const chunk = this.nameChunk;
      const at = this.nameStart;
      let k = 0;
      while (k < nameLen && chunk[at + k] === path.charCodeAt(slash + 1 + k)) k++;
      if (k === nameLen) return id;
    }
  }

  private resolveEncoded(path: string): number {
    const slash = path.lastIndexOf('/');
    const parentPath = slash <= 0 ? '/' : path.substring(0, slash);
    const parent = slash < 0 || path === '/' ? NO_NODE : this.lookup(parentPath);
    const id = this.lookup(path);
    this.resolvedParent = parent;
    this.resolvedHash = this.lastHash;
    this.resolvedNameStart = slash + 1;
    return id;
  }

  /** Adds the node resolve(path) did not find, under resolvedParent (see addChild). */
  addResolved(path: string, fields: NodeFields, data: Uint8Array | null): number {
    const parent = this.resolvedParent;
    const start = this.resolvedNameStart;
    const len = asciiName(path, start);
    if (len < 0) return this.addChildNamed(parent, path.substring(start), fields, data);
    return this.addChild(parent, nameScratch, 0, len, this.resolvedHash, fields, data);
  }

  /** The id whose path is buf[start, end) (UTF-8; empty for the root), or NO_NODE. */
  lookupBytes(buf: Uint8Array, start: number, end: number): number {
    if (end === start) return ROOT;
    const h = hashBytes(PATH_HASH_BASIS, buf, start, end);
    this.lastHash = h;
    const slots = this.slots;
    const mask = this.mask;
    for (let s = slotOf(h, mask); ; s = (s + 1) & mask) {
      const v = slots[s]!;
      if (v === 0) return NO_NODE;
      const id = v - 1;
      if (this.hash[id] === h && this.matchesBytes(id, buf, start, end)) return id;
    }
  }

  /** Whether `id`'s path is the ASCII string path[0, pathEnd), comparing names from the leaf up. */
  private matchesAscii(id: number, path: string, pathEnd = path.length): boolean {
    let end = pathEnd;
    let leafParent = NO_NODE;
    let leafParentEnd = 0;
    while (id !== ROOT) {
      this.nameAt(id);
      const chunk = this.nameChunk;
      const at = this.nameStart;
      const len = this.nameLen;
      const start = end - len;
      if (start < 1 || path.charCodeAt(start - 1) !== SLASH) return false;
      for (let k = 0; k < len; k++) if (chunk[at + k] !== path.charCodeAt(start + k)) return false;
      end = start - 1;
      id = this.parent[id]!;
      if (leafParent === NO_NODE) {
        // The rest of the path is the parent's: the cached parent answers without walking up.
        if (id === this.cachedParent && end === this.cachedParentPath.length && path.startsWith(this.cachedParentPath)) return true;
        leafParent = id;
        leafParentEnd = end;
      }
    }
    if (end !== 0) return false;
    if (leafParent !== ROOT && leafParent !== NO_NODE) {
      this.cachedParent = leafParent;
      this.cachedParentPath = path.substring(0, leafParentEnd);
    }
    return true;
  }

  private matchesBytes(id: number, buf: Uint8Array, pathStart: number, pathEnd: number): boolean {
    let end = pathEnd;
    while (id !== ROOT) {
      this.nameAt(id);
      const chunk = this.nameChunk;
      const at = this.nameStart;
      const len = this.nameLen;
      const start = end - len;
      if (start < pathStart + 1 || buf[start - 1] !== SLASH) return false;
      for (let k = 0; k < len; k++) if (chunk[at + k] !== buf[start + k]) return false;
      end = start - 1;
      id = this.parent[id]!;
    }
    return end === pathStart;
  }

  /** The child of `parent` named buf[start, end), whose path hashes to `h`, or NO_NODE. */
  private findChild(parent: number, h: number, buf: Uint8Array, start: number, end: number): number {
    const slots = this.slots;
    const mask = this.mask;
    for (let s = slotOf(h, mask); ; s = (s + 1) & mask) {
      const v = slots[s]!;
      if (v === 0) return NO_NODE;
      const id = v - 1;
      if (this.hash[id] !== h || this.parent[id] !== parent) continue;
      this.nameAt(id);
      if (this.nameLen !== end - start) continue;
      let same = true;
      for (let k = 0; k < this.nameLen && same; k++) same = this.nameChunk[this.nameStart + k] === buf[start + k];
      if (same) return id;
    }
  }

  /** Hash of the path parent's path + "/" + name bytes. */
  childHash(parent: number, name: Uint8Array, start: number, end: number): number {
    return hashBytes(Math.imul(this.hash[parent]! ^ SLASH, FNV_PRIME), name, start, end);
  }

  /**
   * The longest probe sequence a lookup of a present path walks: its entry's distance from its home
   * slot, plus one. For tests and diagnostics (a scan of the index, not kept up to date).
   */
  maxProbeLength(): number {
    const slots = this.slots;
    const mask = this.mask;
    let max = 0;
    for (let s = 0; s <= mask; s++) {
      const v = slots[s]!;
      if (v !== 0) max = Math.max(max, ((s - slotOf(this.hash[v - 1]!, mask)) & mask) + 1);
    }
    return max;
  }

  private indexAdd(id: number): void {
    if ((this.liveCount - 1) * 2 > this.mask) this.rehash((this.mask + 1) * 2);
    const slots = this.slots;
    const mask = this.mask;
    let s = slotOf(this.hash[id]!, mask);
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = id + 1;
  }

  private indexRemove(id: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = slotOf(this.hash[id]!, mask);
    while (slots[i] !== id + 1) i = (i + 1) & mask;
    slots[i] = 0;
    // Linear probing without tombstones: pull back later entries that would no longer be found.
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = slotOf(this.hash[slots[j]! - 1]!, mask);
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        slots[i] = slots[j]!;
        slots[j] = 0;
        i = j;
      }
    }
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      const v = old[i]!;
      if (v === 0) continue;
      let s = slotOf(this.hash[v - 1]!, this.mask);
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = v;
    }
  }

  // ---- changing ----

  /**
   * Adds a child named buf[start, end) (UTF-8) under `parent`, last in its list, with `fields` and
   * `data` (data[dataStart, dataStart + dataLen), or null). `h` is its path's hash (childHash).
   * Returns NO_NODE if the parent already has a child of that name.
   */
  addChild(parent: number, name: Uint8Array, start: number, end: number, h: number, fields: NodeFields, data: Uint8Array | null, dataStart = 0, dataLen = data === null ? 0 : data.length): number {
    if (this.findChild(parent, h, name, start, end) !== NO_NODE) return NO_NODE;
    this.touch(parent);
    const id = this.newRow();
    const nameLen = end - start;
    const prefix = nameLen < 0x80 ? 1 : nameLen < 0x4000 ? 2 : nameLen < 0x200000 ? 3 : 4;
    const addr = this.arena.alloc(prefix + nameLen);
    const chunk = this.arena.chunkOf(addr);
    let at = this.arena.offsetOf(addr);
    let n = nameLen;
    while (n >= 0x80) {
      chunk[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    chunk[at++] = n;
    if (nameLen <= 16) for (let i = start; i < end; i++) chunk[at++] = name[i]!;
    else chunk.set(name.subarray(start, end), at);
    this.nameAddr[id] = addr;
    this.parent[id] = parent;
    this.hash[id] = h;
    this.writeFields(id, fields);
    this.dataLen[id] = 0;
    this.storeValue(id, data, dataStart, dataLen);
    const pb = this.branchOf(parent);
    const last = this.lastChild[pb]!;
    this.prev[id] = last;
    if (last === NO_NODE) this.firstChild[pb] = id;
    else this.next[last] = id;
    this.lastChild[pb] = id;
    this.childCountOf[pb]!++;
    this.indexAdd(id);
    return id;
  }

  /** The stat fields of a row being filled (a new node, or the root restored from a snapshot). */
  private writeFields(id: number, fields: NodeFields): void {
    this.czxid[id] = fields.czxid;
    this.mzxid[id] = fields.mzxid;
    this.ctime[id] = fields.ctime;
    this.mtime[id] = fields.mtime;
    this.version[id] = fields.version;
    this.storeAversion(id, fields.aversion);
    this.aclRef[id] = fields.aclRef;
    if (fields.ephemeralOwner !== 0n) {
      this.flags[id]! |= HAS_OWNER;
      this.owners.set(id, fields.ephemeralOwner);
    }
    if (fields.cversion !== 0 || fields.pzxid !== fields.czxid) {
      const b = this.branchOf(id);
      this.cversionOf[b] = fields.cversion;
      this.pzxidOf[b] = fields.pzxid;
    }
  }

  /** Adds a child named `name` (a string) under `parent`; see addChild. */
  addChildNamed(parent: number, name: string, fields: NodeFields, data: Uint8Array | null): number {
    let len = asciiName(name, 0);
    let bytes = nameScratch;
    if (len < 0) {
      bytes = Buffer.from(name, 'utf8');
      len = bytes.length;
    }
    return this.addChild(parent, bytes, 0, len, this.childHash(parent, bytes, 0, len), fields, data);
  }

  /** Sets the root's fields and value (restoring a snapshot). */
  restoreRoot(fields: NodeFields, data: Uint8Array | null, dataStart: number, dataLen: number): void {
    this.writeFields(ROOT, fields);
    this.releaseValue(ROOT);
    this.storeValue(ROOT, data, dataStart, dataLen);
  }

  /** Unlinks `id` (not the root) from its parent and the index, and frees it. */
  remove(id: number): void {
    const parent = this.parent[id]!;
    this.touch(parent);
    this.touch(id);
    const pb = this.branch[parent]!;
    const prev = this.prev[id]!;
    const next = this.next[id]!;
    if (prev === NO_NODE) this.firstChild[pb] = next;
    else this.next[prev] = next;
    if (next === NO_NODE) this.lastChild[pb] = prev;
    else this.prev[next] = prev;
    this.childCountOf[pb]!--;
    this.indexRemove(id);
    if (id === this.cachedParent) {
      this.cachedParent = NO_NODE;
      this.cachedParentPath = '';
    }
    this.liveCount--;
    if (this.saved) this.deferredRows.push(id);
    else this.freeRow(id);
  }

  private freeRow(id: number): void {
    this.releaseValue(id);
    const addr = this.nameAddr[id]!;
    this.nameAt(id);
    this.arena.free(addr, this.nameStart - this.arena.offsetOf(addr) + this.nameLen);
    const b = this.branch[id]!;
    if (b >= 0) this.freeBranches.push(b);
    this.branch[id] = -1;
    if (this.flags[id]! & HAS_OWNER) this.owners.delete(id);
    if (this.flags[id]! & HAS_AVERSION) this.aversions.delete(id);
    this.flags[id] = 0;
    this.freeIds.push(id);
  }

  setData(id: number, data: Buffer | null): void {
    this.touch(id);
    if (this.saved) this.deferValue(id);
    else this.releaseValue(id);
    this.storeValue(id, data, 0, data === null ? 0 : data.length);
  }

  setModified(id: number, mzxid: number, mtime: number, version: number): void {
    this.touch(id);
    this.mzxid[id] = mzxid;
    this.mtime[id] = mtime;
    this.version[id] = version;
  }

  setAcl(id: number, aclRef: number, aversion: number): void {
    this.touch(id);
    this.aclRef[id] = aclRef;
    this.storeAversion(id, aversion);
  }

  setCversionPzxid(id: number, cversion: number, pzxid: number): void {
    this.touch(id);
    const b = this.branchOf(id);
    this.cversionOf[b] = cversion;
    this.pzxidOf[b] = pzxid;
  }

  setAversion(id: number, aversion: number): void {
    this.touch(id);
    this.storeAversion(id, aversion);
  }

  private storeValue(id: number, data: Uint8Array | null, start: number, len: number): void {
    if (data === null) {
      this.dataLen[id] = NULL_DATA;
      return;
    }
    this.dataLen[id] = len;
    if (len === 0) return;
    if (len <= ARENA_VALUE_MAX) this.dataAddr[id] = this.arena.store(data, start, start + len);
    else if (start === 0 && len === data.length && Buffer.isBuffer(data)) this.bigValues.set(id, data);
    else this.bigValues.set(id, Buffer.from(data.subarray(start, start + len)));
  }

  private releaseValue(id: number): void {
    const len = this.dataLen[id]!;
    if (len > ARENA_VALUE_MAX) this.bigValues.delete(id);
    else if (len > 0) this.arena.free(this.dataAddr[id]!, len);
    this.dataLen[id] = NULL_DATA;
  }

  /** During a snapshot: the arena bytes stay until endSnapshot (a saved row may point at them). */
  private deferValue(id: number): void {
    const len = this.dataLen[id]!;
    if (len > ARENA_VALUE_MAX) this.bigValues.delete(id); // the saved row keeps the Buffer
    else if (len > 0) this.deferredValues.push(this.dataAddr[id]!, len);
    this.dataLen[id] = NULL_DATA;
  }

  // ---- the snapshot view ----

  beginSnapshot(zxid: number): void {
    if (this.saved) throw new Error('a snapshot is already being taken');
    this.saved = new Map();
    this.savedZxid = zxid;
  }

  endSnapshot(): void {
    this.saved = null;
    const values = this.deferredValues;
    this.deferredValues = [];
    for (let i = 0; i < values.length; i += 2) this.arena.free(values[i]!, values[i + 1]!);
    const rows = this.deferredRows;
    this.deferredRows = [];
    for (const id of rows) this.freeRow(id);
  }

  /** Saves `id` as it was when the snapshot began, before its first change since. */
  private touch(id: number): void {
    const saved = this.saved;
    if (saved === null || saved.has(id) || this.czxid[id]! > this.savedZxid) return;
    const len = this.dataLen[id]!;
    saved.set(id, {
      czxid: this.czxid[id]!,
      mzxid: this.mzxid[id]!,
      ctime: this.ctime[id]!,
      mtime: this.mtime[id]!,
      version: this.version[id]!,
      cversion: this.cversion(id),
      aversion: this.aversion(id),
      ephemeralOwner: this.ephemeralOwner(id),
      pzxid: this.pzxid(id),
      aclRef: this.aclRef[id]!,
      dataLen: len,
      dataAddr: this.dataAddr[id]!,
      big: len > ARENA_VALUE_MAX ? this.bigValues.get(id) : undefined,
      children: this.liveChildren(id, Infinity),
    });
  }

  /**
   * The children `id` had when the snapshot began (oldest first). An Int32Array, not an array: the
   * walk of a flat tree holds its root's whole child list, 4 bytes a child instead of 8 to 12.
   */
  snapshotChildren(id: number): Int32Array {
    const s = this.saved?.get(id);
    if (s) return s.children;
    return this.liveChildren(id, this.saved ? this.savedZxid : Infinity);
  }

  /** The children of `id` created at or before zxid `limit`, oldest first. */
  private liveChildren(id: number, limit: number): Int32Array {
    const b = this.branch[id]!;
    if (b < 0) return NO_CHILDREN;
    const out = new Int32Array(this.childCountOf[b]!);
    let n = 0;
    for (let c = this.firstChild[b]!; c !== NO_NODE; c = this.next[c]!) if (this.czxid[c]! <= limit) out[n++] = c;
    return n === out.length ? out : out.subarray(0, n);
  }

  /** Fills `row` with `id` as it was when the snapshot began (or as it is, outside a snapshot). */
  fillSnapshotRow(id: number, row: SnapshotRow): void {
    const s = this.saved?.get(id);
    if (s) {
      row.czxid = s.czxid;
      row.mzxid = s.mzxid;
      row.ctime = s.ctime;
      row.mtime = s.mtime;
      row.version = s.version;
      row.cversion = s.cversion;
      row.aversion = s.aversion;
      row.ephemeralOwner = s.ephemeralOwner;
      row.pzxid = s.pzxid;
      row.aclRef = s.aclRef;
      row.data = s.dataLen === NULL_DATA ? null : s.dataLen === 0 ? EMPTY : s.big ?? this.arena.view(s.dataAddr, s.dataLen);
      return;
    }
    row.czxid = this.czxid[id]!;
    row.mzxid = this.mzxid[id]!;
    row.ctime = this.ctime[id]!;
    row.mtime = this.mtime[id]!;
    row.version = this.version[id]!;
    row.cversion = this.cversion(id);
    row.aversion = this.aversion(id);
    row.ephemeralOwner = this.ephemeralOwner(id);
    row.pzxid = this.pzxid(id);
    row.aclRef = this.aclRef[id]!;
    row.data = this.dataView(id);
  }

  // ---- measuring ----

  /** Bytes held: columns, index, arena chunks (the big values are counted by their length). */
  footprint(): { columns: number; index: number; arena: number; arenaUsed: number; bigValues: number } {
    let big = 0;
    for (const b of this.bigValues.values()) big += b.length;
    return {
      columns: this.capacity * (4 * 8 + 10 * 4 + 1) + this.branchCapacity * (4 * 4 + 8),
      index: this.slots.byteLength,
      arena: this.arena.reservedBytes,
      arenaUsed: this.arena.usedBytes,
      bigValues: big,
    };
  }
}
