/**
 * A disk in memory that knows what a power cut would leave: for tests only.
 *
 * Each file keeps its current contents (what reads see, the page cache) and its durable contents
 * (what the last fsync/fdatasync made durable), with the writes and truncates in between. Each
 * directory keeps its current entries and its durable ones (as of its last fsync), with the
 * creates, renames and unlinks in between. powerCut() returns the disk as it comes back: by
 * default only what was made durable; with a `rand`, each file and directory also keeps a random
 * prefix of its unsynced changes, in order (a disk may write back dirty pages before the fsync),
 * and the first change it drops may be a write torn part-way.
 *
 * Faults: failNext() makes a coming write or fsync fail with EIO or ENOSPC. A failed fsync drops
 * the file's unsynced changes from what is durable while reads still see them, as Linux does after
 * a writeback error: a later fsync cannot bring them back. `ignoreSync` turns chosen fsyncs into
 * no-ops, the same as removing them from the code, to show a power-cut test catches it.
 *
 * Every operation completes in a later turn of the event loop (setImmediate), so that work goes
 * on while "the disk" is busy, as with a real one; with `extraTurns`, some take longer, so that
 * operations in flight together complete in any order, as they do through libuv's thread pool.
 * After powerCut() the old disk is dead: its operations never complete (the machine is off), and
 * only the returned disk is usable.
 */
import { basename, dirname, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { OpenMode, Storage, StorageFile } from './storage.js';

type FileChange = { kind: 'write'; position: number; bytes: Buffer } | { kind: 'truncate'; length: number };
type DirChange = { kind: 'link'; name: string; node: Node } | { kind: 'unlink'; name: string } | { kind: 'rename'; from: string; name: string; node: Node };

class SimFile {
  data: Buffer;
  size: number;
  durable: Buffer;
  unsynced: FileChange[] = [];

  constructor(durable: Buffer = Buffer.alloc(0)) {
    this.durable = durable;
    this.data = Buffer.from(durable);
    this.size = durable.length;
  }

  write(position: number, bytes: Buffer): void {
    this.unsynced.push({ kind: 'write', position, bytes: Buffer.from(bytes) });
    const end = position + bytes.length;
    this.reserve(end);
    bytes.copy(this.data, position);
    if (end > this.size) this.size = end;
  }

  truncate(length: number): void {
    this.unsynced.push({ kind: 'truncate', length });
    this.reserve(length);
    if (length > this.size) this.data.fill(0, this.size, length);
    this.size = length;
  }

  read(): Buffer {
    return this.data.subarray(0, this.size);
  }

  /**
   * A failed writeback: the kernel forgets the dirty pages (reads still see them), so they are
   * not durable and a later fsync will not report them again.
   */
  forgetUnsynced(): void {
    this.unsynced = [];
  }

  sync(): void {
    this.durable = applyFileChanges(this.durable, this.unsynced);
    this.unsynced = [];
  }

  private reserve(length: number): void {
    if (length <= this.data.length) return;
    const grown = Buffer.alloc(Math.max(length, this.data.length * 2));
    this.data.copy(grown, 0, 0, this.size);
    this.data = grown;
  }
}

function applyFileChanges(base: Buffer, changes: readonly FileChange[]): Buffer {
  let b = base;
  for (const c of changes) {
    if (c.kind === 'truncate') {
      const next = Buffer.alloc(c.length);
      b.copy(next, 0, 0, Math.min(b.length, c.length));
      b = next;
    } else {
      const end = c.position + c.bytes.length;
      if (end > b.length) {
        const next = Buffer.alloc(end);
        b.copy(next);
        b = next;
      }
      c.bytes.copy(b, c.position);
    }
  }
  return b;
}

class SimDir {
  entries: Map<string, Node>;
  durable: Map<string, Node>;
  unsynced: DirChange[] = [];

  constructor(durable = new Map<string, Node>()) {
    this.durable = durable;
    this.entries = new Map(durable);
  }

  link(name: string, node: Node): void {
    this.entries.set(name, node);
    this.unsynced.push({ kind: 'link', name, node });
  }

  unlink(name: string): void {
    this.entries.delete(name);
    this.unsynced.push({ kind: 'unlink', name });
  }

  rename(from: string, name: string, node: Node): void {
    this.entries.delete(from);
    this.entries.set(name, node);
    this.unsynced.push({ kind: 'rename', from, name, node });
  }

  sync(): void {
    this.durable = new Map(this.entries);
    this.unsynced = [];
  }
}

type Node = SimFile | SimDir;

export type FaultCode = 'EIO' | 'ENOSPC';
export type SyncKind = 'file' | 'dir';

export interface Fault {
  op: 'write' | 'sync';
  code: FaultCode;
  /** Only for paths it accepts (default: any). */
  path?: (path: string) => boolean;
}

export interface PowerCutOptions {
  /** Keep a random prefix of each file's and directory's unsynced changes (default: keep none). */
  rand?: () => number;
  /** With `rand`: the first unsynced write not kept may survive in part (a torn write). Default true. */
  tear?: boolean;
}

export interface SimDiskOptions {
  /** fsyncs for which this returns true do nothing: as if the code did not call them. */
  ignoreSync?: (kind: SyncKind, path: string) => boolean;
  /** How many more turns an operation takes to complete (a seeded PRNG's draw, to replay). */
  extraTurns?: (op: string, path: string) => number;
}

/** An error as node:fs reports one: `code` is ENOENT, EIO, ENOSPC, ... */
export class SimFsError extends Error {
  constructor(readonly code: string, syscall: string, path: string) {
    super(`${code}: simulated ${syscall} failure, '${path}'`);
  }
}

export class SimDisk implements Storage {
  private root: SimDir;
  private dead = false;
  private faults: Fault[] = [];
  /** Operations begun, for tests that cut the power after a chosen number of them. */
  ops = 0;
  /** Called at the start of each operation (after `ops` counts it), with its name and path; may cut the power. */
  onOp: ((disk: SimDisk, op: string, path: string) => void) | undefined;

  constructor(private readonly options: SimDiskOptions = {}, root?: SimDir) {
    this.root = root ?? new SimDir();
  }

  /** The next matching write or fsync fails with `code` (once per call). */
  failNext(fault: Fault): void {
    this.faults.push(fault);
  }

  /**
   * The power goes: returns the disk as it will be found at the next boot. This disk is dead from
   * now on: everything begun on it, and anything begun later, never completes.
   */
  powerCut(options: PowerCutOptions = {}): SimDisk {
    this.dead = true;
    const copies = new Map<Node, Node>();
    const survivor = (node: Node): Node => {
      let copy = copies.get(node);
      if (copy) return copy;
      if (node instanceof SimFile) {
        copy = new SimFile(applyFileChanges(node.durable, keptFileChanges(node.unsynced, options)));
        copies.set(node, copy);
      } else {
        const dir = new SimDir();
        copies.set(node, dir);
        const entries = new Map(node.durable);
        for (const c of node.unsynced.slice(0, keptCount(node.unsynced.length, options))) {
          if (c.kind === 'unlink') {
            entries.delete(c.name);
          } else {
            if (c.kind === 'rename') entries.delete(c.from);
            entries.set(c.name, c.node);
          }
        }
        for (const [name, child] of entries) dir.entries.set(name, survivor(child));
        dir.sync();
        copy = dir;
      }
      return copy;
    };
    return new SimDisk(this.options, survivor(this.root) as SimDir);
  }

  // ---- Storage ----

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    await this.begin('open', path);
    const { dir, name } = this.parent(path);
    let node = dir.entries.get(name);
    if (node instanceof SimDir) throw new SimFsError('EISDIR', 'open', path);
    if (!node) {
      if (mode !== 'w') throw new SimFsError('ENOENT', 'open', path);
      node = new SimFile();
      dir.link(name, node);
    } else if (mode === 'w') {
      node.truncate(0);
    }
    return new SimHandle(this, node, resolve(path), mode);
  }

  async readFile(path: string): Promise<Buffer> {
    await this.begin('readFile', path);
    return Buffer.from(this.file(path).read());
  }

  async readdir(dir: string): Promise<string[]> {
    await this.begin('readdir', dir);
    return [...this.dir(dir).entries.keys()].sort();
  }

  async mkdir(dir: string): Promise<string | undefined> {
    await this.begin('mkdir', dir);
    const parts = resolve(dir).split('/').filter(Boolean);
    let at = this.root;
    let first: string | undefined;
    for (let i = 0; i < parts.length; i++) {
      let next = at.entries.get(parts[i]!);
      if (next instanceof SimFile) throw new SimFsError('ENOTDIR', 'mkdir', dir);
      if (!next) {
        next = new SimDir();
        at.link(parts[i]!, next);
        first ??= '/' + parts.slice(0, i + 1).join('/');
      }
      at = next;
    }
    return first;
  }

  async rename(from: string, to: string): Promise<void> {
    await this.begin('rename', from);
    const src = this.parent(from);
    const node = src.dir.entries.get(src.name);
    if (!node) throw new SimFsError('ENOENT', 'rename', from);
    const dst = this.parent(to);
    if (src.dir === dst.dir) {
      // Within one directory a rename is one change: atomic, after a power cut too.
      src.dir.rename(src.name, dst.name, node);
    } else {
      dst.dir.link(dst.name, node);
      src.dir.unlink(src.name);
    }
  }

  async unlink(path: string): Promise<void> {
    await this.begin('unlink', path);
    const { dir, name } = this.parent(path);
    if (!(dir.entries.get(name) instanceof SimFile)) throw new SimFsError('ENOENT', 'unlink', path);
    dir.unlink(name);
  }

  async truncate(path: string, length: number): Promise<void> {
    await this.begin('truncate', path);
    this.file(path).truncate(length);
  }

  async syncDir(dir: string): Promise<void> {
    await this.begin('fsync-dir', dir);
    const d = this.dir(dir);
    this.syncing('dir', resolve(dir), () => d.sync(), () => {});
  }

  // ---- the handle's calls ----

  async fileWrite(file: SimFile, path: string, bytes: Buffer, position: number): Promise<void> {
    await this.begin('write', path);
    this.fault('write', path);
    file.write(position, bytes);
  }

  async fileTruncate(file: SimFile, path: string, length: number): Promise<void> {
    await this.begin('truncate', path);
    this.fault('write', path);
    file.truncate(length);
  }

  async fileSync(file: SimFile, path: string): Promise<void> {
    await this.begin('fsync', path);
    this.syncing('file', path, () => file.sync(), () => file.forgetUnsynced());
  }

  /** Every operation starts here: counted, given to onOp, completed in a later turn unless the power is cut. */
  async begin(op: string, path: string): Promise<void> {
    if (this.dead) await never();
    this.ops++;
    this.onOp?.(this, op, resolve(path));
    const turns = 1 + (this.options.extraTurns?.(op, path) ?? 0);
    for (let i = 0; i < turns; i++) await nextTurn();
    if (this.dead) await never();
  }

  // ---- internals ----

  private syncing(kind: SyncKind, path: string, sync: () => void, onFailure: () => void): void {
    try {
      this.fault('sync', path);
    } catch (e) {
      onFailure();
      throw e;
    }
    if (this.options.ignoreSync?.(kind, path)) return;
    sync();
  }

  private fault(op: Fault['op'], path: string): void {
    const i = this.faults.findIndex((f) => f.op === op && (f.path?.(path) ?? true));
    if (i < 0) return;
    const [f] = this.faults.splice(i, 1);
    throw new SimFsError(f!.code, op === 'write' ? 'write' : 'fsync', path);
  }

  private lookup(path: string): Node | undefined {
    let at: Node = this.root;
    for (const part of resolve(path).split('/').filter(Boolean)) {
      if (!(at instanceof SimDir)) return undefined;
      const next: Node | undefined = at.entries.get(part);
      if (!next) return undefined;
      at = next;
    }
    return at;
  }

  private dir(path: string): SimDir {
    const d = this.lookup(path);
    if (!d) throw new SimFsError('ENOENT', 'scandir', path);
    if (!(d instanceof SimDir)) throw new SimFsError('ENOTDIR', 'scandir', path);
    return d;
  }

  private file(path: string): SimFile {
    const f = this.lookup(path);
    if (!f) throw new SimFsError('ENOENT', 'open', path);
    if (!(f instanceof SimFile)) throw new SimFsError('EISDIR', 'open', path);
    return f;
  }

  private parent(path: string): { dir: SimDir; name: string } {
    const p = resolve(path);
    return { dir: this.dir(dirname(p)), name: basename(p) };
  }
}

class SimHandle implements StorageFile {
  private closed = false;

  constructor(private readonly disk: SimDisk, private readonly file: SimFile, private readonly path: string, private readonly mode: OpenMode) {}

  async write(buffer: Buffer, offset: number, length: number, position: number): Promise<unknown> {
    this.check(true);
    await this.disk.fileWrite(this.file, this.path, buffer.subarray(offset, offset + length), position);
    return { bytesWritten: length };
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    this.check(false);
    await this.disk.begin('read', this.path);
    const bytesRead = Math.max(0, Math.min(length, this.file.size - position));
    if (bytesRead > 0) this.file.data.copy(buffer, offset, position, position + bytesRead);
    return { bytesRead };
  }

  async truncate(length: number): Promise<void> {
    this.check(true);
    await this.disk.fileTruncate(this.file, this.path, length);
  }

  async datasync(): Promise<void> {
    this.check(false);
    await this.disk.fileSync(this.file, this.path);
  }

  async sync(): Promise<void> {
    this.check(false);
    await this.disk.fileSync(this.file, this.path);
  }

  async stat(): Promise<{ size: number }> {
    this.check(false);
    await this.disk.begin('stat', this.path);
    return { size: this.file.size };
  }

  async close(): Promise<void> {
    this.check(false);
    this.closed = true;
    await this.disk.begin('close', this.path);
  }

  private check(writing: boolean): void {
    if (this.closed) throw new SimFsError('EBADF', 'handle', this.path);
    if (writing && this.mode === 'r') throw new SimFsError('EBADF', 'write', this.path);
  }
}

function keptCount(n: number, options: PowerCutOptions): number {
  return options.rand ? Math.floor(options.rand() * (n + 1)) : 0;
}

function keptFileChanges(changes: readonly FileChange[], options: PowerCutOptions): FileChange[] {
  const k = keptCount(changes.length, options);
  const kept = changes.slice(0, k);
  const next = changes[k];
  if (next?.kind === 'write' && options.rand && (options.tear ?? true)) {
    kept.push({ kind: 'write', position: next.position, bytes: next.bytes.subarray(0, Math.floor(options.rand() * next.bytes.length)) });
  }
  return kept;
}

function never(): Promise<never> {
  return new Promise<never>(() => {});
}
