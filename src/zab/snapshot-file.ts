/**
 * Apache ZooKeeper 3.8's snapshot files (FileSnap, SnapStream, SerializeUtils, DataTree.serialize,
 * ReferenceCountedACLCache, DataNode), byte for byte:
 *
 *   FileHeader{magic int 'ZKSN', version int 2, dbid long -1}
 *   sessions:  int count, then count x {id long, timeout int}
 *   ACL cache: int count, then count x {ref long, vector<ACL>}
 *   nodes, parents before children (a pre-order walk from the root), each as
 *              path ustring (the root's is ""), DataNode{data buffer, acl long, StatPersisted}
 *   "/" (a ustring): the end of the nodes
 *   seal:      Adler32 of every byte before it (as a long), then "/" again
 *   optional:  ZxidDigest{zxid long, digestVersion int, digest long}, then a second seal over
 *              everything before it (the first seal included)
 *
 * A node's acl is a ref into the ACL cache; -1 means OPEN_ACL_UNSAFE. The file is named
 * snapshot.<hex zxid> (+ ".gz"/".snappy" when compressed, the checksum being of the uncompressed
 * bytes); the zxid in the name is the tree's lastProcessedZxid when the snapshot began, and the
 * file itself holds no zxid.
 */
import { basename, dirname } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { AclCache } from '../datatree/acl-cache.js';
import { DataTree } from '../datatree/datatree.js';
import { NO_NODE, ROOT, type NodeFields } from '../datatree/node-store.js';
import { TreeWalk } from '../datatree/tree-walk.js';
import { JuteError, JuteReader, JuteWriter, Perms, records } from '../jute/index.js';
import { nodeStorage, type Storage, type StorageFile } from '../storage/storage.js';
import { adler32, crc32Range } from './checksum.js';
import {
  FILE_FORMAT_VERSION,
  SNAP_MAGIC,
  SNAPSHOT_FILE_PREFIX,
  snapshotCompressionOf,
  zxidFromFileName,
  zxidHex,
  type FileHeader,
} from './txn-log-file.js';

/** DigestCalculator.DIGEST_VERSION of ZooKeeper 3.8. */
export const DIGEST_VERSION = 2;
/** ZooKeeper's snapshots carry dbid -1 (its logs 0). */
export const SNAPSHOT_DBID = -1n;

const OPEN_ACL_UNSAFE: records.ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

/** The tree digest recorded in a snapshot: the digest of the tree after txn `zxid`. */
export interface ZxidDigest {
  zxid: number;
  digestVersion: number;
  digest: bigint;
}

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

/** FileSnap/Util.makeSnapshotName: "snapshot." + Long.toHexString(zxid) [+ ".gz"]. */
export function snapshotFileName(zxid: number, compression: 'none' | 'gz' = 'none'): string {
  return `${SNAPSHOT_FILE_PREFIX}.${zxidHex(zxid)}${compression === 'gz' ? '.gz' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// the tree digest (DigestCalculator, NodeHashMapImpl, AdHash)

const ZOOKEEPER_SUBTREE = Buffer.from('/zookeeper/');
const statScratch = new Uint8Array(60);

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/** A long held as a JS number (zxids, times), big-endian two's complement. */
function putLongNumber(b: Uint8Array, at: number, v: number): void {
  put32(b, at, Math.floor(v / 4294967296));
  put32(b, at + 4, v >>> 0);
}

/** Whether path bytes buf[0, len) are under "/zookeeper/", whose nodes the digest leaves out. */
function inZookeeperSubtree(buf: Uint8Array, len: number): boolean {
  if (len < ZOOKEEPER_SUBTREE.length) return false;
  for (let i = 0; i < ZOOKEEPER_SUBTREE.length; i++) if (buf[i] !== ZOOKEEPER_SUBTREE[i]) return false;
  return true;
}

/**
 * DigestCalculator.calculateDigest (version 2) of one node: CRC32 of the path's bytes buf[0, len)
 * ("" for the root; String.getBytes() gives the same UTF-8 the tree keeps), the data, and czxid,
 * mzxid, pzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner.
 */
function digestOf(buf: Uint8Array, len: number, node: NodeFields, data: Uint8Array | null): number {
  let c = crc32Range(buf, 0, len);
  if (data !== null && data.length > 0) c = crc32Range(data, 0, data.length, c);
  const b = statScratch;
  putLongNumber(b, 0, node.czxid);
  putLongNumber(b, 8, node.mzxid);
  putLongNumber(b, 16, node.pzxid);
  putLongNumber(b, 24, node.ctime);
  putLongNumber(b, 32, node.mtime);
  put32(b, 40, node.version);
  put32(b, 44, node.cversion);
  put32(b, 48, node.aversion);
  const owner = node.ephemeralOwner;
  if (owner === 0n) {
    put32(b, 52, 0);
    put32(b, 56, 0);
  } else {
    const u = BigInt.asUintN(64, owner);
    put32(b, 52, Number(u >> 32n));
    put32(b, 56, Number(u & 0xffffffffn));
  }
  return crc32Range(b, 0, 60, c);
}

/** Sums node digests as AdHash does (a wrapping 64-bit sum), exactly. */
class DigestSum {
  private small = 0;
  private count = 0;
  private big = 0n;
  add(d: number): void {
    this.small += d;
    // Sums of uint32 stay exact as doubles up to 2^21 terms.
    if (++this.count === 1 << 20) this.flush();
  }
  private flush(): void {
    this.big += BigInt(this.small);
    this.small = 0;
    this.count = 0;
  }
  value(): bigint {
    this.flush();
    return BigInt.asIntN(64, this.big);
  }
}

/** The tree digest ZooKeeper 3.8 would compute for `tree` (DataTree.getTreeDigest). Nodes under "/zookeeper/" count 0. */
export function computeTreeDigest(tree: DataTree): bigint {
  const sum = new DigestSum();
  const walk = new TreeWalk(tree.store);
  while (walk.next()) {
    if (inZookeeperSubtree(walk.path, walk.pathLen)) continue;
    const d = digestOf(walk.path, walk.pathLen, walk.row, walk.row.data);
    if (d !== 0) sum.add(d);
  }
  return sum.value();
}

// ---------------------------------------------------------------------------------------------
// writing

export interface SnapshotWriteOptions {
  /** The session table to write (id -> timeout); default tree.sessions. */
  sessions?: ReadonlyMap<bigint, number>;
  /**
   * The ZxidDigest section. 'compute' (the default): the digest of the nodes as written, for
   * zxid = tree.lastProcessedZxid at the start (the snapshot is consistent even if txns are applied
   * while it is written). 'empty': {0, 2, 0}, what ZooKeeper writes when it has no
   * digest. 'none': no section, as ZooKeeper with zookeeper.digest.enabled=false.
   */
  digest?: 'compute' | 'empty' | 'none';
  /** Bytes per yielded chunk (approximately: a chunk ends after the node that crosses it). Default 256 KiB. */
  chunkSize?: number;
  /**
   * 'file' (the default): a snapshot file. 'wire': what a leader streams after SNAP
   * (LearnerHandler: ZKDatabase.serializeSnapshot, then the string "BenWasHere"): the same sessions,
   * ACL cache and nodes, with no file header, seals or digest.
   */
  format?: 'file' | 'wire';
}

/** The signature that ends a snapshot streamed after SNAP. */
export const WIRE_SNAPSHOT_SIGNATURE = 'BenWasHere';

export interface SnapshotSummary {
  /** tree.lastProcessedZxid when the walk began: the zxid to name the file after. */
  zxid: number;
  nodes: number;
  bytes: number;
  /** The first seal's Adler32. */
  checksum: number;
  digest?: ZxidDigest;
}

/**
 * Serializes `tree` as a ZooKeeper 3.8 snapshot, in chunks of about `chunkSize` bytes, so that a
 * caller can write each and let the event loop run in between. The generator's return value
 * summarizes the snapshot.
 *
 * Txns may be applied to the tree between chunks: the tree keeps the state of what they touch as
 * it was when the walk began (DataTree.beginSnapshot), so the snapshot is exactly the tree at the
 * returned zxid, not a fuzzy one. The caller must run the generator to its end (or call return()),
 * which ends that bookkeeping.
 */
export function* serializeSnapshot(tree: DataTree, options: SnapshotWriteOptions = {}): Generator<Buffer, SnapshotSummary, void> {
  // The tree keeps the state of every znode a txn touches from here on (copy on write), so the
  // snapshot is exactly the tree at `zxid` even though txns go on being applied between chunks.
  tree.beginSnapshot();
  try {
    const chunkSize = options.chunkSize ?? 1 << 18;
    const wire = options.format === 'wire';
    const digestMode = wire ? 'none' : (options.digest ?? 'compute');
    const sessions = options.sessions ?? tree.sessions;
    const zxid = tree.lastProcessedZxid;

    let w = new JuteWriter(chunkSize + 65536);
    let sum = 1; // Adler32 of the bytes before w's position `summed`
    let summed = 0;
    let bytes = 0;
    const cut = (): Buffer => {
      sum = adler32(w.buf, summed, w.offset, sum);
      const out = w.bytes();
      bytes += out.length;
      w = new JuteWriter(chunkSize + 65536);
      summed = 0;
      return out;
    };
    const seal = (): number => {
      sum = adler32(w.buf, summed, w.offset, sum);
      summed = w.offset;
      w.long(BigInt(sum));
      w.ustring('/');
      return sum;
    };

    if (!wire) {
      w.int(SNAP_MAGIC);
      w.int(FILE_FORMAT_VERSION);
      w.long(SNAPSHOT_DBID);
    }

    w.int(sessions.size);
    for (const [id, timeout] of sessions) {
      w.long(id);
      w.int(timeout);
    }

    // The ACL cache. Our cache keeps an empty list as ref -1 (OPEN), but on disk -1 means
    // OPEN_ACL_UNSAFE, so an empty list gets an entry of its own under a ref the cache has not used.
    const known = new Set<number>();
    const emptyRef = tree.acls.maxRef + 1;
    w.int(tree.acls.size + 1);
    for (const [ref, acl] of tree.acls.entries()) {
      known.add(ref);
      w.longNumber(ref);
      records.ACLList.write(w, acl as records.ACL[]);
    }
    w.longNumber(emptyRef);
    w.int(0);

    const computeDigest = digestMode === 'compute';
    const digest = new DigestSum();
    let nodes = 0;
    const walk = new TreeWalk(tree.store);
    const row = walk.row;
    while (walk.next()) {
      const path = walk.path;
      const pathLen = walk.pathLen;
      // Jute writes a character outside the BMP as two CESU-8 surrogates, not the 4 UTF-8 bytes kept.
      if (walk.astral) w.ustring(walk.pathString());
      else {
        w.int(pathLen);
        w.raw(path.subarray(0, pathLen));
      }
      if (computeDigest && !inZookeeperSubtree(path, pathLen)) digest.add(digestOf(path, pathLen, row, row.data));
      w.buffer(row.data);
      let ref = row.aclRef;
      if (ref === AclCache.OPEN) ref = emptyRef;
      else if (!known.has(ref)) throw new Error(`node ${walk.pathString()} uses ACL ref ${ref}, created after the snapshot began`);
      w.longNumber(ref);
      w.longNumber(row.czxid);
      w.longNumber(row.mzxid);
      w.longNumber(row.ctime);
      w.longNumber(row.mtime);
      w.int(row.version);
      w.int(row.cversion);
      w.int(row.aversion);
      if (row.ephemeralOwner === 0n) w.longNumber(0);
      else w.long(row.ephemeralOwner);
      w.longNumber(row.pzxid);
      nodes++;
      if (w.offset >= chunkSize) yield cut();
    }
    w.ustring('/');
    if (wire) {
      w.ustring(WIRE_SNAPSHOT_SIGNATURE);
      yield cut();
      return { zxid, nodes, bytes, checksum: 0 };
    }
    const checksum = seal();

    let zxidDigest: ZxidDigest | undefined;
    if (digestMode !== 'none') {
      zxidDigest =
        computeDigest
          ? { zxid, digestVersion: DIGEST_VERSION, digest: digest.value() }
          : { zxid: 0, digestVersion: DIGEST_VERSION, digest: 0n };
      w.longNumber(zxidDigest.zxid);
      w.int(zxidDigest.digestVersion);
      w.long(zxidDigest.digest);
      seal();
    }
    yield cut();
    return { zxid, nodes, bytes, checksum, ...(zxidDigest ? { digest: zxidDigest } : {}) };
  } finally {
    tree.endSnapshot();
  }
}

/** The whole snapshot in one Buffer (for tests and small trees). */
export function encodeSnapshot(tree: DataTree, options: SnapshotWriteOptions = {}): { bytes: Buffer; summary: SnapshotSummary } {
  const chunks: Buffer[] = [];
  const it = serializeSnapshot(tree, options);
  for (;;) {
    const r = it.next();
    if (r.done) return { bytes: Buffer.concat(chunks), summary: r.value };
    chunks.push(r.value);
  }
}

export interface SnapshotFileWriteOptions extends SnapshotWriteOptions {
  compression?: 'none' | 'gz';
  /** fsync the file (and its dir) before renaming it into place, as ZooKeeper's AtomicFileOutputStream. Default true. */
  fsync?: boolean;
  /**
   * How long (ms) to go on serializing chunks before letting the event loop run, asked before each
   * chunk. Default 0: one chunk per event-loop turn.
   */
  sliceMs?: () => number;
  /** Where the file goes (default: the real file system). */
  storage?: Storage;
}

/**
 * Writes a snapshot of `tree` to `path` (write to path.tmp, fsync, rename), one chunk per
 * event-loop turn. Name it with snapshotFileName(tree.lastProcessedZxid) read before calling.
 */
export async function writeSnapshotFile(
  target: string | ((zxid: number) => string),
  tree: DataTree,
  options: SnapshotFileWriteOptions = {},
): Promise<SnapshotSummary & { path: string }> {
  // Given a function, the file is named once the snapshot's zxid is known (txns may be applied
  // between this call and the snapshot's start).
  const tmp = typeof target === 'string' ? `${target}.tmp` : `${target(0)}.inprogress.tmp`;
  const gen = serializeSnapshot(tree, options);
  let summary: SnapshotSummary | undefined;
  const sliceMs = options.sliceMs ?? (() => 0);
  async function* slices(): AsyncGenerator<Buffer> {
    let turnStart = performance.now();
    for (;;) {
      const r = gen.next();
      if (r.done) {
        summary = r.value;
        return;
      }
      yield r.value;
      if (performance.now() - turnStart >= sliceMs()) {
        await nextTurn();
        turnStart = performance.now();
      }
    }
  }
  const storage = options.storage ?? nodeStorage;
  // A temp file left by an earlier snapshot goes first: emptying and rewriting it in place could,
  // after a power cut, leave its old contents (an older snapshot, made durable by a purge's fsync)
  // under the new snapshot's name. A new file has no contents but those written now.
  await storage.unlink(tmp).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  const fh = await storage.open(tmp, 'w');
  try {
    try {
      if (options.compression === 'gz') await pipeline(Readable.from(slices()), zlib.createGzip(), fileWritable(fh));
      else await pipeline(Readable.from(slices()), fileWritable(fh));
    } finally {
      gen.return(undefined as never); // ends the tree's snapshot view if writing failed half-way
    }
    if (options.fsync ?? true) await fh.sync();
  } finally {
    await fh.close();
  }
  const path = typeof target === 'string' ? target : target(summary!.zxid);
  await storage.rename(tmp, path);
  if (options.fsync ?? true) await storage.syncDir(dirname(path));
  return { ...summary!, path };
}

/**
 * A stream writing a file from its start, with room for several chunks in flight (4 MiB, as the
 * fs.WriteStream it replaces), so that a slice of several chunks does not wait for the disk after
 * each one.
 */
function fileWritable(fh: StorageFile): Writable {
  let position = 0;
  const write = (bytes: Buffer, callback: (err?: Error | null) => void) => {
    fh.write(bytes, 0, bytes.length, position).then(() => {
      position += bytes.length;
      callback();
    }, callback);
  };
  return new Writable({
    highWaterMark: 4 << 20,
    write: (chunk: Buffer, _encoding, callback) => write(chunk, callback),
    // The chunks queued while a write was in flight go out in one.
    writev: (chunks, callback) => write(Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback),
  });
}

// ---------------------------------------------------------------------------------------------
// reading

export interface SnapshotReadOptions {
  /** The tree's lastProcessedZxid after loading: the zxid in the file's name. */
  zxid: number;
  /** For a fresh tree: zookeeper.extendedTypesEnabled, which decides what a TTL node's owner means. */
  extendedTypesEnabled?: boolean;
  /** Restore into this tree (emptied first; its watches are kept) instead of a fresh one. */
  tree?: DataTree;
  /** Compute the loaded tree's digest and compare it with the snapshot's, when it has one for `zxid`. */
  verifyDigest?: boolean;
  /** 'wire': a snapshot streamed after SNAP (see SnapshotWriteOptions.format). */
  format?: 'file' | 'wire';
  /** Called every PROGRESS_NODES nodes with the bytes parsed so far and the snapshot's size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** How often (in nodes) parsing reports progress: often enough for a line a second, rarely enough to cost nothing. */
const PROGRESS_NODES = 1 << 16;

export interface LoadedSnapshot {
  header: FileHeader;
  tree: DataTree;
  /** Also in tree.sessions. */
  sessions: Map<bigint, number>;
  zxid: number;
  nodes: number;
  /** The ZxidDigest section, if the file has one (zxid 0 means "no digest"). */
  digest?: ZxidDigest;
  /** With verifyDigest, when the snapshot has a version-2 digest for exactly `zxid`. */
  digestMatches?: boolean;
}

/**
 * Loads a whole (uncompressed) snapshot into a DataTree, checking the magic and the seals.
 * ACL refs are kept, except that -1 (OPEN_ACL_UNSAFE) becomes that list's ref in our cache, a list
 * that appears twice keeps its first ref, and an empty list becomes OPEN. Throws SnapshotFormatError.
 */
export function parseSnapshot(buf: Buffer, options: SnapshotReadOptions): LoadedSnapshot {
  try {
    return parse(buf, options);
  } catch (e) {
    if (e instanceof JuteError) throw new SnapshotFormatError(`truncated or malformed snapshot: ${e.message}`);
    throw e;
  }
}

function safeRef(v: bigint, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new SnapshotFormatError(`${what}: ACL ref ${v} out of range`);
  return n;
}

const SLASH = 0x2f;

/** A path's bytes as text, for error messages. */
function pathText(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
}

/**
 * Reads the nodes section into `tree` straight from the file's bytes: no path string or value
 * Buffer per node. ZooKeeper writes parents before children (a pre-order walk), so a node's parent
 * is almost always on the path of the node before it, kept here as `chain`; any other order falls
 * back to a lookup. Returns the number of nodes.
 */
function readNodes(r: JuteReader, tree: DataTree, refs: Map<number, number>, onProgress?: (bytesRead: number, totalBytes: number) => void): number {
  const buf = r.buf;
  const store = tree.store;
  let openRef: number | undefined;
  // The path of the last node read: buf[chainStart, chainStart + chainEnd[depth]) is its prefix of
  // `depth` components, and the node there is chainId[depth].
  const chainId: number[] = [ROOT];
  const chainEnd: number[] = [0];
  let chainDepth = 0;
  let chainStart = 0;
  const fields: NodeFields = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0, aclRef: 0 };
  let nodes = 0;
  for (;;) {
    if (onProgress && nodes % PROGRESS_NODES === 0 && nodes > 0) onProgress(r.offset, buf.length);
    const pathLen = r.int();
    if (pathLen === -1) throw new SnapshotFormatError(`null path after ${nodes} nodes`);
    if (pathLen < 0) throw new JuteError(`negative string length ${pathLen}`);
    if (r.remaining < pathLen) throw new JuteError(`truncated input: need ${pathLen} bytes at offset ${r.offset}`);
    let pathBuf: Uint8Array = buf;
    let start = r.offset;
    let end = start + pathLen;
    let pathChars = pathLen;
    r.offset = end;
    if (pathLen === 1 && buf[start] === SLASH) break;
    let ascii = true;
    for (let i = start; i < end && ascii; i++) ascii = buf[i]! < 0x80;
    if (!ascii) {
      // Jute's bytes may hold CESU-8 surrogates: decode as a string as ZooKeeper would, keep UTF-8.
      const text = new JuteReader(buf, start - 4, end).ustring()!;
      pathBuf = Buffer.from(text, 'utf8');
      pathChars = text.length;
      start = 0;
      end = pathBuf.length;
    }
    const dataLen = r.int();
    if (dataLen < -1) throw new JuteError(`negative buffer length ${dataLen}`);
    const dataStart = r.offset;
    if (dataLen > 0) {
      if (r.remaining < dataLen) throw new JuteError(`truncated input: need ${dataLen} bytes at offset ${r.offset}`);
      r.offset += dataLen;
    }
    const fileRef = safeRef(r.long(), 'node');
    let ref: number | undefined;
    if (fileRef === -1) ref = openRef ??= tree.acls.restore(undefined, OPEN_ACL_UNSAFE);
    else ref = refs.get(fileRef);
    if (ref === undefined) throw new SnapshotFormatError(`node ${pathText(pathBuf, start, end)} refers to ACL ${fileRef}, which the snapshot does not have`);
    fields.aclRef = ref;
    fields.czxid = r.longNumber();
    fields.mzxid = r.longNumber();
    fields.ctime = r.longNumber();
    fields.mtime = r.longNumber();
    fields.version = r.int();
    fields.cversion = r.int();
    fields.aversion = r.int();
    fields.ephemeralOwner = r.long();
    fields.pzxid = r.longNumber();
    const data = dataLen === -1 ? null : buf;
    try {
      if (pathLen === 0) {
        tree.restoreRoot(fields, data, dataStart, Math.max(dataLen, 0));
        chainDepth = 0;
        nodes++;
        continue;
      }
      if (pathBuf[start] !== SLASH) throw new SnapshotFormatError(`invalid path ${JSON.stringify(pathText(pathBuf, start, end))}`);
      let slash = end - 1;
      while (pathBuf[slash] !== SLASH) slash--;
      const parentLen = slash - start;
      // Is the parent a prefix of the last node's path?
      let depth = chainDepth;
      while (depth > 0 && chainEnd[depth]! > parentLen) depth--;
      let parent = NO_NODE;
      if (chainEnd[depth] === parentLen && pathBuf === buf) {
        let same = true;
        for (let i = 0; i < parentLen && same; i++) same = buf[start + i] === buf[chainStart + i];
        if (same) parent = chainId[depth]!;
      }
      if (parent === NO_NODE) {
        parent = store.lookupBytes(pathBuf, start, slash);
        if (parent === NO_NODE) throw new SnapshotFormatError(`invalid tree: snapshot has node ${pathText(pathBuf, start, end)} before (or without) its parent`);
        depth = -1; // the chain no longer describes this path
      }
      const hash = store.childHash(parent, pathBuf, slash + 1, end);
      const id = tree.restoreChild(parent, pathBuf, slash + 1, end, hash, fields, data, dataStart, Math.max(dataLen, 0), pathChars);
      if (depth >= 0 && pathBuf === buf) {
        chainDepth = depth + 1;
        chainId[chainDepth] = id;
        chainEnd[chainDepth] = pathLen;
        chainStart = start;
      } else {
        chainDepth = 0;
      }
    } catch (e) {
      if (e instanceof SnapshotFormatError) throw e;
      throw new SnapshotFormatError(`invalid tree: ${(e as Error).message}`);
    }
    nodes++;
  }
  return nodes;
}

function parse(buf: Buffer, options: SnapshotReadOptions): LoadedSnapshot {
  const r = new JuteReader(buf);
  const wire = options.format === 'wire';
  const header = wire ? { magic: SNAP_MAGIC, version: FILE_FORMAT_VERSION, dbid: SNAPSHOT_DBID } : records.FileHeader.read(r);
  if (header.magic !== SNAP_MAGIC) {
    throw new SnapshotFormatError(`not a ZooKeeper snapshot: magic 0x${(header.magic >>> 0).toString(16)}`);
  }
  const tree = options.tree ?? new DataTree({ extendedTypesEnabled: options.extendedTypesEnabled ?? false });
  tree.beginRestore();
  // A node takes at least 78 bytes of a snapshot (a one-character path, an empty value, the ACL ref
  // and the stat), so the file's size bounds the node count (up to a sane limit: past it the store
  // grows as it goes).
  tree.store.reserve(Math.min(16_000_000, Math.ceil(buf.length / 78)));

  const sessions = new Map<bigint, number>();
  for (let count = r.int(); count > 0; count--) {
    const id = r.long();
    sessions.set(id, r.int());
  }

  const refs = new Map<number, number>(); // file ref -> our ref
  for (let count = r.int(); count > 0; count--) {
    const fileRef = safeRef(r.long(), 'ACL cache');
    const acl = records.ACLList.read(r);
    if (refs.has(fileRef)) throw new SnapshotFormatError(`ACL ref ${fileRef} appears twice`);
    refs.set(fileRef, tree.acls.restore(fileRef, acl));
  }
  const nodes = readNodes(r, tree, refs, options.onProgress);
  if (wire) {
    const signature = r.ustring();
    if (signature !== WIRE_SNAPSHOT_SIGNATURE) throw new SnapshotFormatError(`snapshot stream ends with ${JSON.stringify(signature)}, not the signature ${WIRE_SNAPSHOT_SIGNATURE}`);
    if (r.remaining > 0) throw new SnapshotFormatError(`${r.remaining} unexpected bytes after the snapshot stream`);
    return finishLoad(tree, sessions, header, nodes, options);
  }
  let sum = adler32(buf, 0, r.offset);
  let summed = r.offset;
  checkSeal(r, sum, 'snapshot');

  let digest: ZxidDigest | undefined;
  if (r.remaining > 0) {
    const zxid = r.longNumber();
    const digestVersion = r.int();
    let value: bigint;
    if (digestVersion < 2) {
      // Version 1 stored the digest as a hex string.
      const s = r.ustring();
      value = s === null ? 0n : BigInt.asIntN(64, BigInt('0x' + s));
    } else {
      value = r.long();
    }
    digest = { zxid, digestVersion, digest: value };
    sum = adler32(buf, summed, r.offset, sum);
    summed = r.offset;
    checkSeal(r, sum, 'digest');
  }
  if (r.remaining > 0) throw new SnapshotFormatError(`${r.remaining} unexpected bytes after the snapshot's seal`);

  const loaded = finishLoad(tree, sessions, header, nodes, options);
  if (digest) loaded.digest = digest;
  if (options.verifyDigest && digest && digest.zxid === options.zxid && digest.digestVersion === DIGEST_VERSION) {
    loaded.digestMatches = computeTreeDigest(tree) === digest.digest;
  }
  return loaded;
}

function finishLoad(tree: DataTree, sessions: Map<bigint, number>, header: FileHeader, nodes: number, options: SnapshotReadOptions): LoadedSnapshot {
  try {
    tree.finishRestore();
  } catch (e) {
    throw new SnapshotFormatError((e as Error).message);
  }
  for (const [id, timeout] of sessions) tree.sessions.set(id, timeout);
  tree.lastProcessedZxid = options.zxid;
  return { header, tree, sessions, zxid: options.zxid, nodes };
}

function checkSeal(r: JuteReader, computed: number, what: string): void {
  const stored = r.long();
  const slash = r.ustring();
  if (slash !== '/') throw new SnapshotFormatError(`the ${what} seal is not followed by "/"`);
  if (stored !== BigInt(computed)) {
    throw new SnapshotFormatError(`${what} checksum mismatch: stored 0x${BigInt.asUintN(64, stored).toString(16)}, computed 0x${computed.toString(16)}`);
  }
}

const gunzip = promisify(zlib.gunzip);

/**
 * Reads a snapshot file: its zxid from the name (unless given), gunzipped if it ends in .gz.
 * Snappy-compressed snapshots are refused.
 */
export async function readSnapshotFile(path: string, options: Partial<SnapshotReadOptions> & { storage?: Storage } = {}): Promise<LoadedSnapshot> {
  const name = basename(path);
  const zxid = options.zxid ?? zxidFromFileName(name, SNAPSHOT_FILE_PREFIX);
  if (zxid < 0) throw new SnapshotFormatError(`${name} is not named snapshot.<zxid>`);
  const compression = snapshotCompressionOf(name);
  if (compression === 'snappy') {
    throw new SnapshotFormatError(`${name}: snappy-compressed snapshots (zookeeper.snapshot.compression.method=snappy) are not supported`);
  }
  const { storage, ...readOptions } = options;
  let buf = await (storage ?? nodeStorage).readFile(path);
  if (compression === 'gz') buf = await gunzip(buf);
  return parseSnapshot(buf, { ...readOptions, zxid });
}
