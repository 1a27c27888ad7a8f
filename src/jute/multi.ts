/**
 * Multi (opcode 14) and multiRead (22) bodies: a sequence of (MultiHeader, op record) pairs ended by a
 * header with done=true. This is MultiOperationRecord / MultiResponse of the Java sources.
 */
import { OpCode } from './constants.js';
import { JuteError } from './errors.js';
import type { JuteReader } from './reader.js';
import {
  CheckVersionRequest,
  CreateRequest,
  CreateTTLRequest,
  DeleteRequest,
  GetChildrenRequest,
  GetDataRequest,
  MultiHeader,
  SetDataRequest,
  Stat,
  type CheckVersionRequest as CheckVersionRequestT,
  type CreateRequest as CreateRequestT,
  type CreateTTLRequest as CreateTTLRequestT,
  type DeleteRequest as DeleteRequestT,
  type SetDataRequest as SetDataRequestT,
} from './records.js';
import type { JuteWriter } from './writer.js';

export type MultiOp =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer; req: CreateRequestT }
  | { type: typeof OpCode.createTTL; req: CreateTTLRequestT }
  | { type: typeof OpCode.delete; req: DeleteRequestT }
  | { type: typeof OpCode.setData; req: SetDataRequestT }
  | { type: typeof OpCode.check; req: CheckVersionRequestT }
  | { type: typeof OpCode.getData | typeof OpCode.getChildren; req: { path: string; watch: boolean } };

export function readMultiRequest(r: JuteReader): MultiOp[] {
  const ops: MultiOp[] = [];
  for (;;) {
    const h = MultiHeader.read(r);
    if (h.done) return ops;
    switch (h.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        ops.push({ type: h.type, req: CreateRequest.read(r) });
        break;
      case OpCode.createTTL:
        ops.push({ type: h.type, req: CreateTTLRequest.read(r) });
        break;
      case OpCode.delete:
        ops.push({ type: h.type, req: DeleteRequest.read(r) });
        break;
      case OpCode.setData:
        ops.push({ type: h.type, req: SetDataRequest.read(r) });
        break;
      case OpCode.check:
        ops.push({ type: h.type, req: CheckVersionRequest.read(r) });
        break;
      case OpCode.getData:
        ops.push({ type: h.type, req: GetDataRequest.read(r) });
        break;
      case OpCode.getChildren:
        ops.push({ type: h.type, req: GetChildrenRequest.read(r) });
        break;
      default:
        throw new JuteError(`invalid op type ${h.type} in multi`);
    }
  }
}

export function writeMultiRequest(w: JuteWriter, ops: MultiOp[]): void {
  for (const op of ops) {
    MultiHeader.write(w, { type: op.type, done: false, err: -1 });
    switch (op.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        CreateRequest.write(w, op.req);
        break;
      case OpCode.createTTL:
        CreateTTLRequest.write(w, op.req);
        break;
      case OpCode.delete:
        DeleteRequest.write(w, op.req);
        break;
      case OpCode.setData:
        SetDataRequest.write(w, op.req);
        break;
      case OpCode.check:
        CheckVersionRequest.write(w, op.req);
        break;
      case OpCode.getData:
      case OpCode.getChildren:
        GetDataRequest.write(w, op.req);
        break;
    }
  }
  MultiHeader.write(w, { type: -1, done: true, err: -1 });
}

/** One result of a multi or multiRead, as OpResult's subclasses carry them. */
export type MultiResult =
  | { type: typeof OpCode.create; path: string }
  | { type: typeof OpCode.create2; path: string; stat: Stat }
  | { type: typeof OpCode.delete | typeof OpCode.check }
  | { type: typeof OpCode.setData; stat: Stat }
  | { type: typeof OpCode.getData; data: Buffer | null; stat: Stat }
  | { type: typeof OpCode.getChildren; children: string[] }
  | { type: typeof OpCode.error; err: number };

export function writeMultiResponse(w: JuteWriter, results: MultiResult[]): void {
  for (const res of results) {
    const err = res.type === OpCode.error ? res.err : 0;
    MultiHeader.write(w, { type: res.type, done: false, err });
    switch (res.type) {
      case OpCode.create:
        w.ustring(res.path);
        break;
      case OpCode.create2:
        w.ustring(res.path);
        Stat.write(w, res.stat);
        break;
      case OpCode.setData:
        Stat.write(w, res.stat);
        break;
      case OpCode.getData:
        w.buffer(res.data);
        Stat.write(w, res.stat);
        break;
      case OpCode.getChildren:
        w.int(res.children.length);
        for (const c of res.children) w.ustring(c);
        break;
      case OpCode.error:
        w.int(res.err);
        break;
      default:
        break;
    }
  }
  MultiHeader.write(w, { type: -1, done: true, err: -1 });
}

export function readMultiResponse(r: JuteReader): MultiResult[] {
  const results: MultiResult[] = [];
  for (;;) {
    const h = MultiHeader.read(r);
    if (h.done) return results;
    switch (h.type) {
      case OpCode.create:
        results.push({ type: h.type, path: r.ustring() ?? '' });
        break;
      case OpCode.create2:
        results.push({ type: h.type, path: r.ustring() ?? '', stat: Stat.read(r) });
        break;
      case OpCode.delete:
      case OpCode.check:
        results.push({ type: h.type });
        break;
      case OpCode.setData:
        results.push({ type: h.type, stat: Stat.read(r) });
        break;
      case OpCode.getData:
        results.push({ type: h.type, data: r.buffer(), stat: Stat.read(r) });
        break;
      case OpCode.getChildren: {
        const n = r.vectorLength();
        const children: string[] = [];
        for (let i = 0; i < n; i++) children.push(r.ustring() ?? '');
        results.push({ type: h.type, children });
        break;
      }
      case OpCode.error:
        results.push({ type: h.type, err: r.int() });
        break;
      default:
        throw new JuteError(`invalid result type ${h.type} in multi response`);
    }
  }
}
