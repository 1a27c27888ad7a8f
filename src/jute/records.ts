/**
 * The records of Apache ZooKeeper's zookeeper.jute that zkts uses, field for field in the same order.
 * Types are derived from the codecs, so a record's wire layout and its TypeScript type cannot drift apart.
 */
import { bool, buffer, int, long, longNumber, path, record, ustring, vector, type Decoded } from './codec.js';

// module org.apache.zookeeper.data
export const Id = record({ scheme: path, id: path });
export type Id = Decoded<typeof Id>;
export const ACL = record({ perms: int, id: Id });
export type ACL = Decoded<typeof ACL>;
export const ACLList = vector(ACL);
export const Stat = record({
  czxid: longNumber,
  mzxid: longNumber,
  ctime: longNumber,
  mtime: longNumber,
  version: int,
  cversion: int,
  aversion: int,
  ephemeralOwner: long,
  dataLength: int,
  numChildren: int,
  pzxid: longNumber,
});
export type Stat = Decoded<typeof Stat>;
export const StatPersisted = record({
  czxid: longNumber,
  mzxid: longNumber,
  ctime: longNumber,
  mtime: longNumber,
  version: int,
  cversion: int,
  aversion: int,
  ephemeralOwner: long,
  pzxid: longNumber,
});
export type StatPersisted = Decoded<typeof StatPersisted>;
export const ClientInfo = record({ authScheme: ustring, user: ustring });
export type ClientInfo = Decoded<typeof ClientInfo>;

// module org.apache.zookeeper.proto
// ConnectRequest/Response may carry a trailing readOnly boolean; see connect.ts.
export const ConnectRequestBase = record({
  protocolVersion: int,
  lastZxidSeen: longNumber,
  timeOut: int,
  sessionId: long,
  passwd: buffer,
});
export const ConnectResponseBase = record({ protocolVersion: int, timeOut: int, sessionId: long, passwd: buffer });
const paths = vector(path);
export const SetWatches = record({ relativeZxid: longNumber, dataWatches: paths, existWatches: paths, childWatches: paths });
export type SetWatches = Decoded<typeof SetWatches>;
export const SetWatches2 = record({
  relativeZxid: longNumber,
  dataWatches: paths,
  existWatches: paths,
  childWatches: paths,
  persistentWatches: paths,
  persistentRecursiveWatches: paths,
});
export type SetWatches2 = Decoded<typeof SetWatches2>;
export const RequestHeader = record({ xid: int, type: int });
export type RequestHeader = Decoded<typeof RequestHeader>;
export const MultiHeader = record({ type: int, done: bool, err: int });
export type MultiHeader = Decoded<typeof MultiHeader>;
export const AuthPacket = record({ type: int, scheme: path, auth: buffer });
export type AuthPacket = Decoded<typeof AuthPacket>;
export const ReplyHeader = record({ xid: int, zxid: longNumber, err: int });
export type ReplyHeader = Decoded<typeof ReplyHeader>;
export const GetDataRequest = record({ path, watch: bool });
export type GetDataRequest = Decoded<typeof GetDataRequest>;
export const SetDataRequest = record({ path, data: buffer, version: int });
export type SetDataRequest = Decoded<typeof SetDataRequest>;
export const ReconfigRequest = record({
  joiningServers: ustring,
  leavingServers: ustring,
  newMembers: ustring,
  curConfigId: longNumber,
});
export type ReconfigRequest = Decoded<typeof ReconfigRequest>;
export const SetDataResponse = record({ stat: Stat });
export const GetSASLRequest = record({ token: buffer });
export const SetSASLRequest = record({ token: buffer });
export const SetSASLResponse = record({ token: buffer });
export const CreateRequest = record({ path, data: buffer, acl: ACLList, flags: int });
export type CreateRequest = Decoded<typeof CreateRequest>;
export const CreateTTLRequest = record({ path, data: buffer, acl: ACLList, flags: int, ttl: longNumber });
export type CreateTTLRequest = Decoded<typeof CreateTTLRequest>;
export const DeleteRequest = record({ path, version: int });
export type DeleteRequest = Decoded<typeof DeleteRequest>;
export const GetChildrenRequest = record({ path, watch: bool });
export const GetAllChildrenNumberRequest = record({ path });
export const GetChildren2Request = record({ path, watch: bool });
export const CheckVersionRequest = record({ path, version: int });
export type CheckVersionRequest = Decoded<typeof CheckVersionRequest>;
export const SyncRequest = record({ path });
export const SyncResponse = record({ path });
export const GetACLRequest = record({ path });
export const SetACLRequest = record({ path, acl: ACLList, version: int });
export type SetACLRequest = Decoded<typeof SetACLRequest>;
export const SetACLResponse = record({ stat: Stat });
export const AddWatchRequest = record({ path, mode: int });
export const WatcherEvent = record({ type: int, state: int, path });
export type WatcherEvent = Decoded<typeof WatcherEvent>;
export const ErrorResponse = record({ err: int });
export const CreateResponse = record({ path });
export const Create2Response = record({ path, stat: Stat });
export const ExistsRequest = record({ path, watch: bool });
export const ExistsResponse = record({ stat: Stat });
export const GetDataResponse = record({ data: buffer, stat: Stat });
export const GetChildrenResponse = record({ children: paths });
export const GetAllChildrenNumberResponse = record({ totalNumber: int });
export const GetChildren2Response = record({ children: paths, stat: Stat });
export const GetACLResponse = record({ acl: ACLList, stat: Stat });
export const CheckWatchesRequest = record({ path, type: int });
export const RemoveWatchesRequest = record({ path, type: int });
export const GetEphemeralsRequest = record({ prefixPath: path });
export const GetEphemeralsResponse = record({ ephemerals: paths });
export const WhoAmIResponse = record({ clientInfo: vector(ClientInfo) });

// module org.apache.zookeeper.server.persistence
export const FileHeader = record({ magic: int, version: int, dbid: long });

// module org.apache.zookeeper.txn
export const TxnDigest = record({ version: int, treeDigest: long });
export const TxnHeader = record({ clientId: long, cxid: int, zxid: longNumber, time: longNumber, type: int });
export type TxnHeader = Decoded<typeof TxnHeader>;
export const CreateTxn = record({ path, data: buffer, acl: ACLList, ephemeral: bool, parentCVersion: int });
export type CreateTxn = Decoded<typeof CreateTxn>;
export const CreateTTLTxn = record({ path, data: buffer, acl: ACLList, parentCVersion: int, ttl: longNumber });
export type CreateTTLTxn = Decoded<typeof CreateTTLTxn>;
export const CreateContainerTxn = record({ path, data: buffer, acl: ACLList, parentCVersion: int });
export type CreateContainerTxn = Decoded<typeof CreateContainerTxn>;
export const DeleteTxn = record({ path });
export type DeleteTxn = Decoded<typeof DeleteTxn>;
export const SetDataTxn = record({ path, data: buffer, version: int });
export type SetDataTxn = Decoded<typeof SetDataTxn>;
export const CheckVersionTxn = record({ path, version: int });
export type CheckVersionTxn = Decoded<typeof CheckVersionTxn>;
export const SetACLTxn = record({ path, acl: ACLList, version: int });
export type SetACLTxn = Decoded<typeof SetACLTxn>;
export const CreateSessionTxn = record({ timeOut: int });
export type CreateSessionTxn = Decoded<typeof CreateSessionTxn>;
export const CloseSessionTxn = record({ paths2Delete: paths });
export type CloseSessionTxn = Decoded<typeof CloseSessionTxn>;
export const ErrorTxn = record({ err: int });
export type ErrorTxn = Decoded<typeof ErrorTxn>;
export const Txn = record({ type: int, data: buffer });
export const MultiTxn = record({ txns: vector(Txn) });
