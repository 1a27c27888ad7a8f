import { join } from 'node:path';
import type { Txn } from '../datatree/index.js';
import { JuteWriter } from '../jute/index.js';
import { mkdirDurable, nodeStorage, writeThenSync, type Storage, type StorageFile } from '../storage/storage.js';
import type { TxnLog } from './txn-log.js';
import { DEFAULT_PREALLOC_SIZE, encodeLogFileHeader, logFileName, paddedFileSize, writeEncodedLogEntry, writeLogEntry } from './txn-log-file.js';

export interface FileTxnLogOptions {
  /** The log directory (dataLogDir/version-2). */
  dir: string;
  /** fsync each batch before acknowledging it (zoo.cfg forceSync, default yes). */
  forceSync: boolean;
  preAllocSize?: number;
  /** Where the files go (default: the real file system). */
  storage?: Storage;
  /** Called once when a write or fsync fails; from then on nothing more is acknowledged. */
  onFailure(err: Error): void;
  /** Called when a `durable` callback throws (a bug in what follows the log, not an IO error). */
  onCallbackError?(err: Error): void;
  metrics?: TxnLogMetrics;
  /** Called after each batch's `durable` callbacks have run, with the number of txns in it. */
  afterBatch?(txns: number): void;
}

/** What the log measures, for mntr (ZooKeeper's fsynctime and sync_processor_batch_size). */
export interface TxnLogMetrics {
  /** One fsync of the log took `ms` whole milliseconds (truncated, as ZooKeeper's FileTxnLog.commit). */
  fsynced(ms: number): void;
  /** One write of the log carried `txns` txns (group commit). */
  flushed(txns: number): void;
}

interface OpenFile {
  handle: StorageFile;
  name: string;
  position: number;
  size: number;
  /** A new file's directory entry being made durable; the first batch's ack waits for it too. */
  dirSync: Promise<void> | undefined;
}

/**
 * The transaction log in ZooKeeper's format, with group commit: txns appended while a write+fsync
 * is in flight go out together in the next one, so one fsync covers many txns under load and an
 * idle server still acknowledges a lone write after a single fsync. A txn is acknowledged (its
 * `durable` callback runs) only after the fsync that covers it.
 */
export class FileTxnLog implements TxnLog {
  private file: OpenFile | undefined;
  private pending = new JuteWriter(64 * 1024);
  /**
   * The buffer of the last batch, reused once its write is done: a fresh 64 KiB buffer per batch
   * is external memory that V8 answers with frequent full GCs, which stall every request.
   */
  private spare: JuteWriter | undefined;
  private pendingCallbacks: (() => void)[] = [];
  private pendingFirstZxid = 0;
  private flushing = false;
  private rollRequested = false;
  private failed: Error | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  private readonly storage: Storage;

  constructor(private readonly options: FileTxnLogOptions) {
    this.storage = options.storage ?? nodeStorage;
  }

  append(txn: Txn, durable: () => void): void {
    if (this.failed || this.closed) return; // never acknowledged: the server is stopping
    if (this.pendingCallbacks.length === 0) this.pendingFirstZxid = txn.zxid;
    writeLogEntry(this.pending, { txn });
    this.queued(durable);
  }

  /** As append, for a txn already encoded (TxnHeader, record and digest): a PROPOSAL's payload. */
  appendEncoded(zxid: number, payload: Buffer, durable: () => void): void {
    if (this.failed || this.closed) return;
    if (this.pendingCallbacks.length === 0) this.pendingFirstZxid = zxid;
    writeEncodedLogEntry(this.pending, payload);
    this.queued(durable);
  }

  private queued(durable: () => void): void {
    this.pendingCallbacks.push(durable);
    if (!this.flushing) {
      this.flushing = true;
      // Let the rest of this event-loop turn append too: they share the first write.
      queueMicrotask(() => void this.flushLoop());
    }
  }

  /** The next txn starts a new log file (after a snapshot, as ZooKeeper rolls its log). */
  roll(): void {
    this.rollRequested = true;
  }

  get hasFailed(): boolean {
    return this.failed !== undefined;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pendingCallbacks.length > 0 && !this.failed) {
        const batch = this.pending;
        const bytes = batch.bytes();
        const callbacks = this.pendingCallbacks;
        const firstZxid = this.pendingFirstZxid;
        this.pending = this.spare ?? new JuteWriter(64 * 1024);
        this.spare = undefined;
        this.pendingCallbacks = [];
        // The open file as it is, without an await (a promise per batch); a new one only to start or roll.
        const file = this.file && !this.rollRequested ? this.file : await this.startFile(firstZxid);
        const target = paddedFileSize(file.position, file.size, this.options.preAllocSize ?? DEFAULT_PREALLOC_SIZE);
        if (target !== file.size) {
          await file.handle.truncate(target); // preallocate with zeros, as ZooKeeper's FilePadding
          file.size = target;
        }
        // A new file's directory entry is synced beside the batch's fdatasync (a second fsync in
        // series would stall every write in flight at each log roll); the batch waits for both.
        const dirSync = file.dirSync;
        file.dirSync = undefined;
        // One fdatasync covers the batch and, in a new file, its header and size.
        const fsyncMs = await writeThenSync(file.handle, bytes, bytes.length, file.position, this.options.forceSync);
        if (this.options.forceSync) this.options.metrics?.fsynced(Math.floor(fsyncMs));
        if (dirSync) await dirSync;
        file.position += bytes.length;
        batch.offset = 0;
        // A batch far larger than usual (large values) does not keep its buffer.
        if (batch.buf.length <= 1 << 20) this.spare = batch;
        this.options.metrics?.flushed(callbacks.length);
        for (const cb of callbacks) {
          try {
            cb();
          } catch (e) {
            // A bug past the log (applying, replying) is not a log failure: report it, go on.
            this.options.onCallbackError?.(e as Error);
          }
        }
        this.options.afterBatch?.(callbacks.length);
      }
    } catch (e) {
      this.failed = e as Error;
      this.options.onFailure(this.failed);
    } finally {
      this.flushing = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Opens the log file whose first txn is `firstZxid` (the first one, or the next at a roll). */
  private async startFile(firstZxid: number): Promise<OpenFile> {
    this.rollRequested = false;
    if (this.file) {
      // Everything in it is durable already: closing it need not hold up the next batch.
      const old = this.file.handle;
      old.close().catch(() => {});
    } else {
      await mkdirDurable(this.storage, this.options.dir);
    }
    const name = logFileName(firstZxid);
    // A file of this name can only be one a crash left without a single whole txn (recovery replayed
    // every sound txn, and this zxid comes after them): starting it afresh loses nothing.
    // Created under a name no reader takes for a log (not "log.*"), and renamed once the header is
    // in: a crash in between must not leave a log without a header, which ZooKeeper cannot start on.
    const tmp = join(this.options.dir, `tmp.${name}`);
    const handle = await this.storage.open(tmp, 'w');
    const header = encodeLogFileHeader();
    await handle.write(header, 0, header.length, 0);
    await this.storage.rename(tmp, join(this.options.dir, name));
    const dirSync = this.storage.syncDir(this.options.dir);
    dirSync.catch(() => {}); // awaited with the first batch, which reports its failure
    this.file = { handle, name, position: header.length, size: header.length, dirSync };
    return this.file;
  }

  /** Resolves once everything appended so far is durable (or the log has failed). */
  async drain(): Promise<void> {
    while (this.flushing || (this.pendingCallbacks.length > 0 && !this.failed)) {
      if (!this.flushing) {
        this.flushing = true;
        void this.flushLoop();
      }
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    await this.file?.handle.close();
    this.file = undefined;
  }
}
