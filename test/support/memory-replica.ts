/**
 * A replica's storage and state in memory, for tests of the ZAB runtime: a real DataTree fed with
 * real txn payloads, a log that "fsyncs" on the next turn, and SNAP streams in ZooKeeper's layout.
 */
import { DataTree } from '../../src/datatree/index.js';
import { decodeTxnEntry, parseSnapshot, serializeSnapshot, type HistoryEntry } from '../../src/zab/index.js';
import type { ReplicaStore } from '../../src/server/zab-runtime.js';

export class MemoryReplica implements ReplicaStore {
  tree = new DataTree();
  log: HistoryEntry[] = [];
  /** The zxid the log starts after (a snapshot installed). */
  base = 0;
  epochs = { acceptedEpoch: 0, currentEpoch: 0 };
  private baseTree: DataTree | undefined;

  async writeEpoch(name: 'acceptedEpoch' | 'currentEpoch', value: number): Promise<void> {
    this.epochs[name] = value;
  }

  async truncate(zxid: number): Promise<void> {
    this.log = this.log.filter((e) => e.zxid <= zxid);
    this.tree = this.baseTree ? reload(this.baseTree) : new DataTree();
    for (const e of this.log) this.apply(e);
  }

  apply(entry: HistoryEntry): void {
    this.tree.apply(decodeTxnEntry(entry.payload).txn);
  }

  async append(entries: HistoryEntry[]): Promise<void> {
    this.log.push(...entries);
    await new Promise((r) => setImmediate(r));
  }

  async snapshot(): Promise<Iterable<Buffer>> {
    return serializeSnapshot(this.tree, { format: 'wire', chunkSize: 4096 });
  }

  async installSnapshot(bytes: Buffer, zxid: number): Promise<void> {
    this.tree = parseSnapshot(bytes, { zxid, format: 'wire' }).tree;
    this.baseTree = reload(this.tree);
    this.log = [];
    this.base = zxid;
  }

  get lastZxid(): number {
    return this.log.at(-1)?.zxid ?? this.base;
  }
}

function reload(tree: DataTree): DataTree {
  const bytes = Buffer.concat([...serializeSnapshot(tree, { format: 'wire' })]);
  return parseSnapshot(bytes, { zxid: tree.lastProcessedZxid, format: 'wire' }).tree;
}
