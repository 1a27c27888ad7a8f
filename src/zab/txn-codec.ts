/**
 * One transaction as Apache ZooKeeper 3.8 persists it: the payload of a txn log entry, which is also
 * what a leader sends in a PROPOSAL. Layout (Util.marshallTxnEntry, SerializeUtils.deserializeTxn):
 *
 *   TxnHeader{clientId long, cxid int, zxid long, time long, type int}
 *   the txn record of that type (none for a closeSession of logs older than 3.6)
 *   TxnDigest{version int, treeDigest long}, present when zookeeper.digest.enabled (3.8's default)
 *
 * A multi's record is MultiTxn: a vector of Txn{type int, data buffer} whose data is each sub-txn's
 * own record, serialized separately.
 */
import type { Txn, TxnBody } from '../datatree/txn.js';
import { JuteError, JuteReader, JuteWriter, OpCode, records } from '../jute/index.js';

/** TxnDigest: the tree digest after applying the txn, as DigestCalculator version `version` computes it. */
export interface TxnDigest {
  version: number;
  treeDigest: bigint;
}

/** What a log entry (or proposal) carries: the txn and, optionally, the tree digest after it. */
export interface TxnEntry {
  txn: Txn;
  digest?: TxnDigest;
}

export interface DecodedTxnEntry extends TxnEntry {
  /** The header's type as stored (the body's type). */
  headerType: number;
}

/** TxnDigest is 12 bytes: int version, long digest. */
const DIGEST_SIZE = 12;

// ---------------------------------------------------------------------------------------------
// encoding

/** Appends the payload of one entry (header, record, optional digest) to `w`. */
export function writeTxnEntry(w: JuteWriter, txn: Txn, digest?: TxnDigest): void {
  w.long(txn.sessionId);
  w.int(txn.cxid);
  w.longNumber(txn.zxid);
  w.longNumber(txn.time);
  w.int(txn.body.type);
  writeBody(w, txn.body);
  if (digest) {
    w.int(digest.version);
    w.long(digest.treeDigest);
  }
}

/** The payload of one entry as a fresh Buffer. */
export function encodeTxnEntry(txn: Txn, digest?: TxnDigest): Buffer {
  const w = new JuteWriter(128);
  writeTxnEntry(w, txn, digest);
  return Buffer.from(w.bytes());
}

function writeBody(w: JuteWriter, body: TxnBody): void {
  switch (body.type) {
    case OpCode.create:
    case OpCode.create2:
      records.CreateTxn.write(w, body.txn);
      return;
    case OpCode.createContainer:
      records.CreateContainerTxn.write(w, body.txn);
      return;
    case OpCode.createTTL:
      records.CreateTTLTxn.write(w, body.txn);
      return;
    case OpCode.delete:
    case OpCode.deleteContainer:
      records.DeleteTxn.write(w, body.txn);
      return;
    case OpCode.setData:
    case OpCode.reconfig:
      records.SetDataTxn.write(w, body.txn);
      return;
    case OpCode.setACL:
      records.SetACLTxn.write(w, body.txn);
      return;
    case OpCode.check:
      records.CheckVersionTxn.write(w, body.txn);
      return;
    case OpCode.createSession:
      records.CreateSessionTxn.write(w, body.txn);
      return;
    case OpCode.closeSession:
      records.CloseSessionTxn.write(w, body.txn);
      return;
    case OpCode.error:
      records.ErrorTxn.write(w, body.txn);
      return;
    case OpCode.multi:
      w.int(body.txns.length);
      for (const sub of body.txns) {
        w.int(subTxnType(sub));
        const frame = w.startFrame();
        writeBody(w, sub);
        w.finishFrame(frame);
      }
      return;
    default:
      throw new Error(`cannot encode txn type ${(body as { type: number }).type}`);
  }
}

/**
 * The type a multi's sub-txn is stored under. ZooKeeper's DataTree can replay only these inside a
 * multi; a create2 op in a multi request becomes a plain create there (Op.create maps create2 to
 * create), so it is stored as create, which replays the same.
 */
function subTxnType(sub: TxnBody): number {
  switch (sub.type) {
    case OpCode.create2:
      return OpCode.create;
    case OpCode.create:
    case OpCode.createContainer:
    case OpCode.createTTL:
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.setData:
    case OpCode.check:
    case OpCode.error:
      return sub.type;
    default:
      throw new Error(`txn type ${sub.type} cannot be part of a multi`);
  }
}

// ---------------------------------------------------------------------------------------------
// decoding

/**
 * Decodes the payload of one entry. Like SerializeUtils.deserializeTxn it also reads a pre-3.3
 * CreateTxn without parentCVersion (as parentCVersion -1, which apply() fixes up) and a closeSession
 * without CloseSessionTxn (as an empty paths2Delete: apply() then deletes all of the session's
 * ephemerals, as ZooKeeper does). Unlike it, it rejects trailing bytes that are not exactly one
 * TxnDigest: the payload is checksummed, so anything else is a writer's bug worth hearing about.
 * Throws JuteError on bytes it cannot decode.
 */
export function decodeTxnEntry(payload: Buffer): DecodedTxnEntry {
  const r = new JuteReader(payload);
  const hdr = records.TxnHeader.read(r);
  const bodyStart = r.offset;
  let body: TxnBody;
  switch (hdr.type) {
    case OpCode.create:
      try {
        body = { type: hdr.type, txn: records.CreateTxn.read(r) };
        if (!digestFits(r)) throw new JuteError('not a CreateTxn');
      } catch (e) {
        if (!(e instanceof JuteError)) throw e;
        r.offset = bodyStart;
        const v0 = CreateTxnV0.read(r);
        body = { type: hdr.type, txn: { ...v0, parentCVersion: -1 } };
      }
      break;
    case OpCode.closeSession:
      try {
        body = { type: hdr.type, txn: records.CloseSessionTxn.read(r) };
        if (!digestFits(r)) throw new JuteError('not a CloseSessionTxn');
      } catch (e) {
        if (!(e instanceof JuteError)) throw e;
        r.offset = bodyStart;
        body = { type: hdr.type, txn: { paths2Delete: [] } };
      }
      break;
    case OpCode.reconfig:
      body = { type: OpCode.reconfig, txn: records.SetDataTxn.read(r) };
      break;
    default:
      body = readBody(r, hdr.type, false);
  }
  let digest: TxnDigest | undefined;
  if (r.remaining > 0) {
    if (r.remaining !== DIGEST_SIZE) {
      throw new JuteError(`${r.remaining} unexpected bytes after a txn of type ${hdr.type} (zxid 0x${hdr.zxid.toString(16)})`);
    }
    digest = records.TxnDigest.read(r);
  }
  const txn: Txn = { sessionId: hdr.clientId, cxid: hdr.cxid, zxid: hdr.zxid, time: hdr.time, body };
  return digest ? { txn, digest, headerType: hdr.type } : { txn, headerType: hdr.type };
}

function digestFits(r: JuteReader): boolean {
  return r.remaining === 0 || r.remaining === DIGEST_SIZE;
}

/** org.apache.zookeeper.txn.CreateTxnV0: CreateTxn without parentCVersion (logs before 3.3). */
const CreateTxnV0 = {
  read(r: JuteReader): Omit<records.CreateTxn, 'parentCVersion'> {
    const path = r.ustring() ?? '';
    const data = r.buffer();
    const acl = records.ACLList.read(r);
    return { path, data, acl, ephemeral: r.bool() };
  },
};

function readBody(r: JuteReader, type: number, inMulti: boolean): TxnBody {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
      return { type, txn: records.CreateTxn.read(r) };
    case OpCode.createContainer:
      return { type, txn: records.CreateContainerTxn.read(r) };
    case OpCode.createTTL:
      return { type, txn: records.CreateTTLTxn.read(r) };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type, txn: records.DeleteTxn.read(r) };
    case OpCode.setData:
      return { type, txn: records.SetDataTxn.read(r) };
    case OpCode.check:
      // ZooKeeper 3.8 writes a top-level check (PrepRequestProcessor logs it) but cannot read it
      // back (SerializeUtils.deserializeTxn has no case for it). We read it.
      return { type, txn: records.CheckVersionTxn.read(r) };
    case OpCode.error:
      return { type, txn: records.ErrorTxn.read(r) };
  }
  if (!inMulti) {
    switch (type) {
      case OpCode.setACL:
        return { type, txn: records.SetACLTxn.read(r) };
      case OpCode.createSession:
        return { type, txn: records.CreateSessionTxn.read(r) };
      case OpCode.closeSession:
        return { type, txn: records.CloseSessionTxn.read(r) };
      case OpCode.multi:
        return readMulti(r);
    }
  }
  throw new JuteError(inMulti ? `invalid txn type ${type} in a multi` : `unsupported txn type ${type}`);
}

function readMulti(r: JuteReader): TxnBody {
  const n = r.vectorLength();
  const txns: TxnBody[] = [];
  for (let i = 0; i < n; i++) {
    const type = r.int();
    const len = r.int();
    if (len < 0) throw new JuteError(`multi sub-txn ${i} has no data`);
    if (len > r.remaining) throw new JuteError(`multi sub-txn ${i} is truncated`);
    const sub = new JuteReader(r.buf, r.offset, r.offset + len);
    r.offset += len;
    txns.push(readBody(sub, type, true));
    if (sub.remaining !== 0) throw new JuteError(`multi sub-txn ${i} (type ${type}) has ${sub.remaining} trailing bytes`);
  }
  return { type: OpCode.multi, txns };
}
