import type { Txn } from '../datatree/index.js';

/**
 * Where txns become durable before they are applied. `append` calls `durable` once the txn is safe
 * (fsynced, and later acknowledged by a quorum); calls come back in append order.
 */
export interface TxnLog {
  append(txn: Txn, durable: () => void): void;
  /** Stops accepting txns; resolves when everything appended so far is durable. */
  close(): Promise<void>;
}

/** A log that keeps nothing: every txn is "durable" at once. For tests and --in-memory runs. */
export class MemoryTxnLog implements TxnLog {
  append(_txn: Txn, durable: () => void): void {
    durable();
  }

  async close(): Promise<void> {}
}
