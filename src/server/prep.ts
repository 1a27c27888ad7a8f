/**
 * The prep step: decides a write request's outcome against the tree (plus pending changes) and
 * builds its txn, exactly in the order ZooKeeper's PrepRequestProcessor checks things, so that the
 * same bad request fails with the same error code. No IO, no clock: time arrives in the context.
 */
import { CreateFlag, ErrorCode, KeeperError, OpCode, Perms, type MultiOp, type records } from '../jute/index.js';
import {
  CONTAINER_OWNER,
  DataTree,
  ephemeralKind,
  invalidPathReason,
  isValidTtl,
  ttlOwner,
  type TxnBody,
} from '../datatree/index.js';
import { checkAcl, fixupAcl } from './auth.js';
import { ChangeView, type NodeRecord } from './change-view.js';
import { ephemeralsToDelete } from './java-order.js';

type Id = records.Id;
type ACL = records.ACL;

export interface PrepContext {
  view: ChangeView;
  sessionId: bigint;
  /** The caller's identities (auth info). */
  ids: readonly Id[];
  extendedTypesEnabled: boolean;
}

export interface CreateArgs {
  path: string;
  data: Buffer | null;
  acl: ACL[];
  flags: number;
  /** -1 when the request carried no TTL (every create opcode but createTTL). */
  ttl: number;
}

/** A copy of `node` with these fields (built field by field: an object spread here cost most of prep). */
function changed(node: NodeRecord, version: number, cversion: number, aversion: number, childCount: number, acl: ACL[]): NodeRecord {
  return { version, cversion, aversion, ephemeralOwner: node.ephemeralOwner, childCount, acl };
}

function badArguments(): KeeperError {
  return new KeeperError(ErrorCode.BADARGUMENTS);
}

function record(view: ChangeView, path: string) {
  const r = view.get(path);
  if (!r) throw new KeeperError(ErrorCode.NONODE);
  return r;
}

function validatePath(path: string): void {
  if (invalidPathReason(path) !== null) throw badArguments();
}

/** The parent of a path as prep computes it: the text before the last slash, "" standing for the root. */
function parentForCreate(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash === -1 || path.includes('\u0000')) throw badArguments();
  return slash === 0 ? '/' : path.substring(0, slash);
}

function parentForDelete(path: string): string {
  if (DataTree.isSpecialPath(path)) throw badArguments();
  return parentForCreate(path);
}

function checkVersion(current: number, expected: number): number {
  if (expected !== -1 && expected !== current) throw new KeeperError(ErrorCode.BADVERSION);
  return current + 1;
}

const isSequential = (flags: number) =>
  flags === CreateFlag.PERSISTENT_SEQUENTIAL ||
  flags === CreateFlag.EPHEMERAL_SEQUENTIAL ||
  flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL;
const isTtl = (flags: number) => flags === CreateFlag.PERSISTENT_WITH_TTL || flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL;
const isEphemeral = (flags: number) => flags === CreateFlag.EPHEMERAL || flags === CreateFlag.EPHEMERAL_SEQUENTIAL;

export function prepCreate(ctx: PrepContext, type: number, req: CreateArgs): TxnBody {
  const { flags, ttl } = req;
  if (flags < 0 || flags > 6) throw badArguments();
  if (isTtl(flags) && !ctx.extendedTypesEnabled) throw new KeeperError(ErrorCode.UNIMPLEMENTED);
  if (isTtl(flags) ? !isValidTtl(ttl) : ttl >= 0) throw badArguments();
  // createTTL with a non-TTL mode and no TTL: ZooKeeper 3.8 accepts it in prep and then crashes
  // applying it; refusing it is the only sane answer.
  if (type === OpCode.createTTL && !isTtl(flags)) throw badArguments();
  const parentPath = parentForCreate(req.path);
  const acl = fixupAcl(req.acl, ctx.ids);
  const parent = record(ctx.view, parentPath);
  checkAcl(parent.acl, Perms.CREATE, ctx.ids);
  const path = isSequential(flags) ? req.path + String(parent.cversion).padStart(10, '0') : req.path;
  validatePath(path);
  if (ctx.view.get(path)) throw new KeeperError(ErrorCode.NODEEXISTS);
  if (ephemeralKind(parent.ephemeralOwner, ctx.extendedTypesEnabled) === 'normal') {
    throw new KeeperError(ErrorCode.NOCHILDRENFOREPHEMERALS);
  }
  const parentCVersion = parent.cversion + 1;
  let body: TxnBody;
  let owner = 0n;
  if (type === OpCode.createContainer) {
    body = { type, txn: { path, data: req.data, acl, parentCVersion } };
  } else if (type === OpCode.createTTL) {
    body = { type, txn: { path, data: req.data, acl, parentCVersion, ttl } };
  } else {
    body = { type: type as 1 | 15, txn: { path, data: req.data, acl, ephemeral: isEphemeral(flags), parentCVersion } };
  }
  if (flags === CreateFlag.CONTAINER) owner = CONTAINER_OWNER;
  else if (isTtl(flags)) owner = ttlOwner(ttl);
  else if (isEphemeral(flags)) owner = ctx.sessionId;
  ctx.view.set(parentPath, changed(parent, parent.version, parentCVersion, parent.aversion, parent.childCount + 1, parent.acl));
  ctx.view.set(path, { version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, childCount: 0, acl });
  return body;
}

export function prepDelete(ctx: PrepContext, type: number, req: { path: string; version: number }): TxnBody {
  const parentPath = parentForDelete(req.path);
  const parent = record(ctx.view, parentPath);
  if (type === OpCode.deleteContainer) {
    const node = record(ctx.view, req.path);
    if (node.childCount > 0) throw new KeeperError(ErrorCode.NOTEMPTY);
    if (ephemeralKind(node.ephemeralOwner, ctx.extendedTypesEnabled) === 'normal') throw new KeeperError(ErrorCode.BADVERSION);
  } else {
    checkAcl(parent.acl, Perms.DELETE, ctx.ids);
    const node = record(ctx.view, req.path);
    checkVersion(node.version, req.version);
    if (node.childCount > 0) throw new KeeperError(ErrorCode.NOTEMPTY);
  }
  ctx.view.set(parentPath, changed(parent, parent.version, parent.cversion, parent.aversion, parent.childCount - 1, parent.acl));
  ctx.view.set(req.path, null);
  return { type: type as 2 | 20, txn: { path: req.path } };
}

export function prepSetData(ctx: PrepContext, req: records.SetDataRequest): TxnBody {
  validatePath(req.path);
  const node = record(ctx.view, req.path);
  checkAcl(node.acl, Perms.WRITE, ctx.ids);
  const version = checkVersion(node.version, req.version);
  ctx.view.set(req.path, changed(node, version, node.cversion, node.aversion, node.childCount, node.acl));
  return { type: OpCode.setData, txn: { path: req.path, data: req.data, version } };
}

export function prepSetAcl(ctx: PrepContext, req: records.SetACLRequest): TxnBody {
  validatePath(req.path);
  const acl = fixupAcl(req.acl, ctx.ids);
  const node = record(ctx.view, req.path);
  checkAcl(node.acl, Perms.ADMIN, ctx.ids);
  const version = checkVersion(node.aversion, req.version);
  ctx.view.set(req.path, changed(node, node.version, node.cversion, version, node.childCount, acl));
  return { type: OpCode.setACL, txn: { path: req.path, acl, version } };
}

export function prepCheck(ctx: PrepContext, req: { path: string; version: number }): TxnBody {
  validatePath(req.path);
  const node = record(ctx.view, req.path);
  checkAcl(node.acl, Perms.READ, ctx.ids);
  return { type: OpCode.check, txn: { path: req.path, version: checkVersion(node.version, req.version) } };
}

/**
 * closeSession, as ZooKeeper's prep does it: the session's ephemerals are its committed ones less
 * those a pending txn deletes, plus those pending txns create for it; each is recorded as deleted,
 * so that a create of the same path or a delete racing the close is decided as if the close had
 * already been applied. `committed` is the tree's ephemerals of the session in creation order, kept
 * in a Java HashSet of `tableSize` buckets (for ZooKeeper's order of deletion).
 */
export function prepCloseSession(ctx: PrepContext, committed: readonly string[], tableSize: number): TxnBody {
  const gone = new Set<string>();
  const added: string[] = [];
  for (const [path, record] of ctx.view.changed()) {
    if (record !== null && record.ephemeralOwner === ctx.sessionId) added.push(path);
    else gone.add(path);
  }
  const paths2Delete = ephemeralsToDelete(committed, tableSize, gone, added);
  for (const path of paths2Delete) ctx.view.set(path, null);
  return { type: OpCode.closeSession, txn: { paths2Delete } };
}

/**
 * A multi: every op is prepared against a view that sees the earlier ops. The first failure turns
 * that op into an error txn and every later op into RUNTIMEINCONSISTENCY, and none of the changes
 * stick (the child view is dropped).
 */
export function prepMulti(ctx: PrepContext, ops: MultiOp[]): TxnBody {
  const view = new ChangeView(ctx.view);
  view.zxid = ctx.view.zxid;
  const sub: PrepContext = { ...ctx, view };
  const txns: TxnBody[] = [];
  let failed = false;
  for (const op of ops) {
    if (failed) {
      txns.push({ type: OpCode.error, txn: { err: ErrorCode.RUNTIMEINCONSISTENCY } });
      continue;
    }
    try {
      txns.push(prepOne(sub, op));
    } catch (e) {
      if (!(e instanceof KeeperError) || e instanceof RequestMarshallingError) throw e;
      failed = true;
      txns.push({ type: OpCode.error, txn: { err: e.code } });
    }
  }
  if (!failed) view.commitToParent();
  return { type: OpCode.multi, txns };
}

/** Fails a whole request, not just one op of a multi (ZooKeeper: an exception while decoding it). */
class RequestMarshallingError extends KeeperError {
  constructor() {
    super(ErrorCode.MARSHALLINGERROR);
  }
}

/**
 * ZooKeeper rebuilds a multi's create ops from their flags (Op.create), whatever opcode the client
 * put in the op header: TTL modes become createTTL, CONTAINER createContainer, the rest plain create
 * (so a create2 in a multi answers with a path only). Unknown flags pick plain create, and prep
 * then rejects them (BADARGUMENTS).
 */
function normalizeMultiOp(op: MultiOp): MultiOp {
  if (op.type !== OpCode.create && op.type !== OpCode.create2 && op.type !== OpCode.createContainer && op.type !== OpCode.createTTL) {
    return op;
  }
  const flags = op.req.flags;
  if (flags === CreateFlag.PERSISTENT_WITH_TTL || flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL) {
    // A TTL mode without a TTL (not a createTTL op): ZooKeeper fails the whole request decoding it.
    if (op.type !== OpCode.createTTL) throw new RequestMarshallingError();
    return op;
  }
  return { type: flags === CreateFlag.CONTAINER ? OpCode.createContainer : OpCode.create, req: op.req };
}

function prepOne(ctx: PrepContext, raw: MultiOp): TxnBody {
  const op = normalizeMultiOp(raw);
  switch (op.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return prepCreate(ctx, op.type, { path: op.req.path, data: op.req.data, acl: op.req.acl, flags: op.req.flags, ttl: -1 });
    case OpCode.createTTL:
      return prepCreate(ctx, op.type, op.req);
    case OpCode.delete:
      return prepDelete(ctx, op.type, op.req);
    case OpCode.setData:
      return prepSetData(ctx, op.req);
    case OpCode.check:
      return prepCheck(ctx, op.req);
    default:
      // Reads inside a write multi: ZooKeeper rejects the whole request.
      throw new KeeperError(ErrorCode.BADARGUMENTS);
  }
}
