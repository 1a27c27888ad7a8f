import { OpCode, type records } from '../jute/index.js';

/**
 * A transaction: every change of state (a client's write as much as a session's close) becomes one,
 * with the header fields of ZooKeeper's TxnHeader and a body that is one of its txn records. The
 * bodies mirror zookeeper.jute so that the log and snapshots can use ZooKeeper's formats.
 */
export type TxnBody =
  | { type: typeof OpCode.create | typeof OpCode.create2; txn: records.CreateTxn }
  | { type: typeof OpCode.createContainer; txn: records.CreateContainerTxn }
  | { type: typeof OpCode.createTTL; txn: records.CreateTTLTxn }
  | { type: typeof OpCode.delete | typeof OpCode.deleteContainer; txn: records.DeleteTxn }
  | { type: typeof OpCode.setData; txn: records.SetDataTxn }
  /** A committed reconfiguration: /zookeeper/config's new data, stored and replayed as a setData (version -1). */
  | { type: typeof OpCode.reconfig; txn: records.SetDataTxn }
  | { type: typeof OpCode.setACL; txn: records.SetACLTxn }
  | { type: typeof OpCode.check; txn: records.CheckVersionTxn }
  | { type: typeof OpCode.multi; txns: TxnBody[] }
  | { type: typeof OpCode.createSession; txn: records.CreateSessionTxn }
  | { type: typeof OpCode.closeSession; txn: records.CloseSessionTxn }
  | { type: typeof OpCode.error; txn: records.ErrorTxn };

export interface Txn {
  /** The session the txn belongs to (TxnHeader.clientId). */
  sessionId: bigint;
  cxid: number;
  zxid: number;
  /** Wall-clock milliseconds chosen when the txn was prepared: apply() never reads a clock. */
  time: number;
  body: TxnBody;
}
