import { join } from 'node:path';
import type { Txn } from '../datatree/index.js';
import { JuteWriter } from '../jute/index.js';
import { mkdirDurable, nodeStorage, writeThenSync, type Storage, type StorageFile } from '../storage/storage.js';
import type { TxnLog } from './txn-log.js';
import { DEFAULT_PREALLOC_SIZE, encodeLogFileHeader, FILE_HEADER_SIZE, logFileName, paddedFileSize, SPARE_LOG_FILE, writeEncodedLogEntry, writeLogEntry } from './txn-log-file.js';

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
  position: number;
  size: number;
  /** A new file's rename to its log name, then its directory entry made durable; its batches' acks wait for it. Cleared once done. */
  named: Promise<void> | undefined;
}

/** A log file made ahead of time under SPARE_LOG_FILE: header written, preallocated, not yet named. */
interface SpareFile {
  handle: StorageFile;
  size: number;
}

/**
 * The transaction log in ZooKeeper's format, with group commit: txns appended while a write+fsync
 * is in flight go out together in the next one, so one fsync covers many txns under load and an
 * idle server still acknowledges a lone write after a single fsync. A txn is acknowledged (its
 * `durable` callback runs) only after the fsync that covers it.
 */
export class FileTxnLog implements TxnLog {
  private file: OpenFile | undefined;
  /**
   * The next log file, made while the current one is in use (undefined when making it failed: the
   * roll then makes one itself and meets the error). At a roll, the batches in flight would
   * otherwise wait on an open, a header write, a preallocation and a rename in series, through
   * the same thread pool as the snapshot that the roll goes with: 10-20 ms with no batch under way.
   */
  private spare: Promise<SpareFile | undefined> | undefined;
  private pending = new JuteWriter(64 * 1024);
  /**
   * The buffer of the last batch, reused once its write is done: a fresh 64 KiB buffer per batch
   * is external memory that V8 answers with frequent full GCs, which stall every request.
   */
  private spareBuffer: JuteWriter | undefined;
  private pendingCallbacks: (() => void)[] = [];
  private pendingFirstZxid = 0;
  private flushing = false;
  private rollRequested = false;
  private failed: Error | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** The last acknowledgement waiting for a new file's name to be durable (see flushLoop). */
  private acksWaiting: Promise<void> | undefined;

  private readonly storage: Storage;
  private readonly preAllocSize: number;

  constructor(private readonly options: FileTxnLogOptions) {
    this.storage = options.storage ?? nodeStorage;
    this.preAllocSize = options.preAllocSize ?? DEFAULT_PREALLOC_SIZE;
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
        this.pending = this.spareBuffer ?? new JuteWriter(64 * 1024);
        this.spareBuffer = undefined;
        this.pendingCallbacks = [];
        // The open file as it is, without an await (a promise per batch); a new one only to start or roll.
        const file = this.file && !this.rollRequested ? this.file : await this.startFile(firstZxid);
        const target = paddedFileSize(file.position, file.size, this.preAllocSize);
        if (target !== file.size) {
          await file.handle.truncate(target); // preallocate with zeros, as ZooKeeper's FilePadding
          file.size = target;
        }
        // One fdatasync covers the batch and, in a new file, its header and size.
        const fsyncMs = await writeThenSync(file.handle, bytes, bytes.length, file.position, this.options.forceSync);
        if (this.options.forceSync) this.options.metrics?.fsynced(Math.floor(fsyncMs));
        file.position += bytes.length;
        batch.offset = 0;
        // A batch far larger than usual (large values) does not keep its buffer.
        if (batch.buf.length <= 1 << 20) this.spareBuffer = batch;
        this.options.metrics?.flushed(callbacks.length);
        // A new file is renamed to its log name and its directory entry synced beside the batches'
        // writes and fdatasyncs: in series they would stall every write in flight at each roll.
        // Until the name is durable, the file's batches are acknowledged only once it is, in
        // order, while the next batches go to the disk. A crash before then leaves them, never
        // acknowledged, in the spare, which recovery removes.
        const named = file.named;
        if (named) this.acksWaiting = named.then(() => this.acknowledge(callbacks), () => {});
        else this.acknowledge(callbacks);
      }
    } catch (e) {
      this.fail(e as Error);
    } finally {
      this.flushing = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Runs a durable batch's callbacks (unless the log has failed since: then nothing more is acknowledged). */
  private acknowledge(callbacks: (() => void)[]): void {
    if (this.failed) return;
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

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.options.onFailure(err);
  }

  /** Starts the log file whose first txn is `firstZxid` (the first one, or the next at a roll) from the spare. */
  private async startFile(firstZxid: number): Promise<OpenFile> {
    this.rollRequested = false;
    if (this.file) {
      // Everything in it is durable already: closing it need not hold up the next batch.
      const old = this.file.handle;
      old.close().catch(() => {});
    } else {
      await mkdirDurable(this.storage, this.options.dir);
    }
    // The spare is made only once the current file's name is durable (they share the spare's name),
    // so this file's batches are acknowledged before any of the next one's.
    const spare = (await this.spare) ?? (await this.makeSpare());
    // A file of this name can only be one a crash left without a single whole txn (recovery replayed
    // every sound txn, and this zxid comes after them): the rename replaces it, losing nothing.
    const named = this.storage
      .rename(join(this.options.dir, SPARE_LOG_FILE), join(this.options.dir, logFileName(firstZxid)))
      .then(() => this.storage.syncDir(this.options.dir));
    // Registered before any batch's acknowledgement: a failure fails the log first, and once the name
    // is durable the batches after it are acknowledged as soon as they are.
    named.then(
      () => {
        if (this.file?.named === named) this.file.named = undefined;
      },
      (e) => this.fail(e as Error),
    );
    this.spare = named.then(
      () => this.makeSpare().catch(() => undefined),
      () => undefined,
    );
    this.file = { handle: spare.handle, position: FILE_HEADER_SIZE, size: spare.size, named };
    return this.file;
  }

  /**
   * Makes the next log file under a name no reader takes for a log (not "log.*"): a crash must not
   * leave a log without a header, which ZooKeeper cannot start on. Preallocated as its first batch
   * would make it (ZooKeeper's FilePadding).
   */
  private async makeSpare(): Promise<SpareFile> {
    const handle = await this.storage.open(join(this.options.dir, SPARE_LOG_FILE), 'w');
    const header = encodeLogFileHeader();
    await handle.write(header, 0, header.length, 0);
    // From a size of 0, as ZooKeeper pads a new file: to one whole preallocation step (64 MiB).
    const size = Math.max(FILE_HEADER_SIZE, paddedFileSize(FILE_HEADER_SIZE, 0, this.preAllocSize));
    if (size !== FILE_HEADER_SIZE) await handle.truncate(size);
    return { handle, size };
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
    await this.acksWaiting;
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    await this.file?.handle.close();
    this.file = undefined;
    // The spare holds no txn: a stopped server leaves only logs behind. Best effort (a failing disk
    // must not fail the stop): a spare left behind is removed by the next recovery.
    const spare = await this.spare;
    this.spare = undefined;
    if (spare) {
      await spare.handle.close().catch(() => {});
      await this.storage.unlink(join(this.options.dir, SPARE_LOG_FILE)).catch(() => {});
    }
  }
}
