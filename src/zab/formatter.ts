/**
 * Readable dumps of log and snapshot files for operators, in the spirit of ZooKeeper's
 * LogFormatter and SnapshotFormatter: one line per txn, one block per znode.
 */
import { OpCode } from '../jute/index.js';
import type { TxnBody } from '../datatree/index.js';
import { readSnapshotFile } from './snapshot-file.js';
import { streamLogFile } from './txn-log-file.js';

const OP_NAMES = new Map<number, string>(Object.entries(OpCode).map(([k, v]) => [v, k]));
const hex = (n: number | bigint) => '0x' + (typeof n === 'bigint' ? BigInt.asUintN(64, n) : n).toString(16);

function describeBody(body: TxnBody): string {
  switch (body.type) {
    case OpCode.create:
    case OpCode.create2:
      return `${body.txn.path} ephemeral=${body.txn.ephemeral} data=${dataText(body.txn.data)} acl=${aclText(body.txn.acl)} parentCVersion=${body.txn.parentCVersion}`;
    case OpCode.createContainer:
      return `${body.txn.path} data=${dataText(body.txn.data)} acl=${aclText(body.txn.acl)} parentCVersion=${body.txn.parentCVersion}`;
    case OpCode.createTTL:
      return `${body.txn.path} ttl=${body.txn.ttl} data=${dataText(body.txn.data)} acl=${aclText(body.txn.acl)} parentCVersion=${body.txn.parentCVersion}`;
    case OpCode.delete:
    case OpCode.deleteContainer:
      return body.txn.path;
    case OpCode.setData:
    case OpCode.reconfig:
      return `${body.txn.path} version=${body.txn.version} data=${dataText(body.txn.data)}`;
    case OpCode.setACL:
      return `${body.txn.path} aversion=${body.txn.version} acl=${aclText(body.txn.acl)}`;
    case OpCode.check:
      return `${body.txn.path} version=${body.txn.version}`;
    case OpCode.createSession:
      return `timeout=${body.txn.timeOut}`;
    case OpCode.closeSession:
      return `delete=[${body.txn.paths2Delete.join(',')}]`;
    case OpCode.error:
      return `err=${body.txn.err}`;
    case OpCode.multi:
      return '[' + body.txns.map((t) => `${OP_NAMES.get(t.type) ?? t.type} ${describeBody(t)}`).join('; ') + ']';
  }
}

function dataText(data: Buffer | null): string {
  if (data === null) return 'null';
  const printable = /^[\x20-\x7e]*$/.test(data.toString('latin1'));
  const shown = data.subarray(0, 64);
  return (printable ? JSON.stringify(shown.toString('latin1')) : '#' + shown.toString('hex')) + (data.length > 64 ? `...(${data.length} bytes)` : '');
}

function aclText(acl: { perms: number; id: { scheme: string; id: string } }[]): string {
  return acl.map((a) => `${a.id.scheme}:${a.id.id}:${a.perms}`).join(',');
}

/** Writes one line per txn of a log file, then how the file ends. */
export async function dumpLogFile(path: string, out: (line: string) => void): Promise<void> {
  const entries = streamLogFile(path);
  let n = 0;
  let r = await entries.next();
  for (; !r.done; r = await entries.next()) {
    for (const { txn, headerType } of r.value) {
      n++;
      out(
        `${new Date(txn.time).toISOString()} session ${hex(txn.sessionId)} cxid ${hex(txn.cxid)} zxid ${hex(txn.zxid)} ` +
          `${OP_NAMES.get(headerType) ?? headerType} ${describeBody(txn.body)}`,
      );
    }
  }
  const end = r.value;
  out(`EOF reached after ${n} txns (${end.kind} at offset ${end.offset}${end.reason ? `: ${end.reason}` : ''})`);
}

/** Writes the sessions and every znode of a snapshot file with its Stat. */
export async function dumpSnapshotFile(path: string, out: (line: string) => void): Promise<void> {
  const snap = await readSnapshotFile(path);
  out(`ZNode Details (count=${snap.nodes}) zxid ${hex(snap.zxid)}:`);
  const tree = snap.tree;
  for (const p of [...tree.paths()].sort()) {
    const node = tree.getNode(p)!;
    const s = node.stat();
    out('----');
    out(p);
    out(`  cZxid = ${hex(s.czxid)}`);
    out(`  ctime = ${new Date(s.ctime).toISOString()}`);
    out(`  mZxid = ${hex(s.mzxid)}`);
    out(`  mtime = ${new Date(s.mtime).toISOString()}`);
    out(`  pZxid = ${hex(s.pzxid)}`);
    out(`  cversion = ${s.cversion}`);
    out(`  dataVersion = ${s.version}`);
    out(`  aclVersion = ${s.aversion}`);
    out(`  ephemeralOwner = ${hex(node.ephemeralOwner)}`);
    out(`  dataLength = ${s.dataLength}`);
    out(`  acl = ${aclText(tree.aclOf(node))}`);
  }
  out('----');
  out(`Session Details (sid, timeout, ephemeralCount): ${snap.sessions.size}`);
  for (const [id, timeout] of snap.sessions) out(`${hex(id)}, ${timeout}, ${tree.ephemeralsOf(id).size}`);
  if (snap.digest) out(`Digest: zxid ${hex(snap.digest.zxid)} version ${snap.digest.digestVersion} value ${snap.digest.digest}`);
}
