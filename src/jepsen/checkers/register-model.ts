/**
 * The register workload's model: one ZooKeeper znode as { value, version } (version is Stat.version,
 * -1 with value null while the znode does not exist). Used by the linearizability checker.
 *
 *  - write v (setData with version -1): value v, version + 1. From a missing znode (-1) that is
 *    version 0, what a create gives, so a harness may record its initial create as a write.
 *  - cas { expectedVersion, value } (setData with a version): only when version === expectedVersion.
 *  - sync-read (sync() then getData): returns the state.
 * An ok carries the resulting { value, version }, which must be what the model computes. An
 * operation whose outcome is unknown (info) has no result to compare; a cas with an unknown outcome
 * attempted at a version it does not expect had no effect.
 */
import type { PairedOp } from '../history.js';

export interface RegisterState {
  value: unknown;
  version: number;
}

export const MISSING_ZNODE: RegisterState = { value: null, version: -1 };

export type RegisterOpKind = 'write' | 'cas' | 'sync-read';

export const LINEARIZABLE_FS: ReadonlySet<string> = new Set<RegisterOpKind>(['write', 'cas', 'sync-read']);

/** An operation as the model steps it. */
export interface RegisterOp {
  kind: RegisterOpKind;
  /** The value a write or cas sets. */
  value: unknown;
  /** A cas's expected version. */
  expectedVersion: number;
  /** The ok's { value, version }; undefined when the outcome is unknown. */
  result: RegisterState | undefined;
}

/** A canonical string for a value (the harness records JSON values: numbers, strings, null). */
export function valueKey(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

export function stateKey(s: RegisterState): string {
  return `${s.version}:${valueKey(s.value)}`;
}

export function showState(s: RegisterState): string {
  return `{value: ${valueKey(s.value)}, version: ${s.version}}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readResult(op: PairedOp): RegisterState {
  const v = op.complete?.value;
  if (!isRecord(v) || typeof v.version !== 'number') {
    throw new Error(`history entry #${op.complete?.index}: ${op.f} ok needs a value { value, version }, got ${JSON.stringify(v)}`);
  }
  return { value: v.value ?? null, version: v.version };
}

/** The model's view of a register operation; throws a clear error on an entry of the wrong shape. */
export function toRegisterOp(op: PairedOp): RegisterOp {
  const known = op.complete?.type === 'ok';
  const result = known ? readResult(op) : undefined;
  const arg = op.invoke.value;
  switch (op.f) {
    case 'write':
      return { kind: 'write', value: arg ?? null, expectedVersion: -1, result };
    case 'cas':
      if (!isRecord(arg) || typeof arg.expectedVersion !== 'number') {
        throw new Error(`history entry #${op.invoke.index}: cas needs a value { expectedVersion, value }, got ${JSON.stringify(arg)}`);
      }
      return { kind: 'cas', value: arg.value ?? null, expectedVersion: arg.expectedVersion, result };
    case 'sync-read':
      return { kind: 'sync-read', value: null, expectedVersion: -1, result };
    default:
      throw new Error(`history entry #${op.invoke.index}: ${op.f} is not a register operation`);
  }
}

function sameState(a: RegisterState, b: RegisterState): boolean {
  return a.version === b.version && valueKey(a.value) === valueKey(b.value);
}

/** The state after `op` takes effect in `s`, or null when it cannot take effect there. */
export function step(s: RegisterState, op: RegisterOp): RegisterState | null {
  if (op.kind === 'sync-read') return op.result !== undefined && sameState(s, op.result) ? s : null;
  // A cas with an unknown outcome, tried at a version it does not expect, failed: no effect.
  if (op.kind === 'cas' && s.version !== op.expectedVersion) return op.result === undefined ? s : null;
  const next = { value: op.value, version: s.version + 1 };
  return op.result === undefined || sameState(next, op.result) ? next : null;
}

/** Why `op` cannot take effect in `s`, in words (only meaningful when step returns null). */
export function whyNot(s: RegisterState, op: RegisterOp): string {
  const result = op.result === undefined ? 'nothing' : showState(op.result);
  if (op.kind === 'sync-read') return `it read ${result} but the register holds ${showState(s)}`;
  if (op.kind === 'cas' && s.version !== op.expectedVersion) return `it succeeded expecting version ${op.expectedVersion} but the register holds ${showState(s)}`;
  return `it returned ${result} but from ${showState(s)} it makes ${showState({ value: op.value, version: s.version + 1 })}`;
}
