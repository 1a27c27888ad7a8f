/**
 * What a history proves about ZooKeeper sessions, shared by the lock and ephemeral checkers.
 *
 * A session's ephemerals (and so a lock recipe's node) exist exactly while the session lives at the
 * leader; the client cannot see when the leader expires it. What the history does prove: an `ok`
 * write made in the session (create, delete, setData) was validated by the leader against a live
 * session (ZooKeeper's PrepRequestProcessor checks the session before any write, and even a write
 * refused with NONODE proves it), at some instant after the operation was invoked. Sessions never
 * come back, so the session was alive from its start up to that operation's invoke time at least.
 * Reads do not prove it (a follower cut from the leader may keep answering reads for a while after
 * the leader expired the session), nor does an ok close (a client library may "close" an already
 * expired session locally). We deliberately do not extend a proof by the session timeout: the leader's
 * expiry clock is reset by follower pings, so the client cannot know when it really started.
 */
import { NEMESIS, pairOps, type Op, type PairedOp } from '../history.js';
import { sessionOf } from './verdict.js';

/** The `f` of a history entry saying a client learned its session expired. */
export const SESSION_EXPIRED = 'session-expired';

/** Operations whose `ok` is a write the leader validated against the session (see the file comment). */
const LEADER_VALIDATED_WRITES = new Set(['write', 'cas', 'add', 'acquire', 'release', 'create-ephemeral']);

export interface SessionEvent {
  session: string;
  /** Time of the earliest entry reporting it: the expiry happened no later than this. */
  time: number;
  index: number;
}

/**
 * Pairs the history's operations, setting aside 'session-expired' entries: the harness may record
 * those as a lone entry or as an invoke/ok pair, and either way they are events, not operations.
 * An entry without a session is attributed to the last session its process used.
 */
export function pairWithSessionEvents(history: readonly Op[]): { ops: PairedOp[]; expirations: SessionEvent[] } {
  const lastSessionOfProcess = new Map<number, string>();
  const expirations = new Map<string, SessionEvent>();
  const rest: Op[] = [];
  for (const op of history) {
    if (op.process === NEMESIS) continue;
    if (op.f !== SESSION_EXPIRED) {
      rest.push(op);
      if (op.session !== undefined) lastSessionOfProcess.set(op.process, op.session);
      continue;
    }
    const session = op.session ?? lastSessionOfProcess.get(op.process);
    if (session === undefined || expirations.has(session)) continue;
    expirations.set(session, { session, time: op.time, index: op.index });
  }
  return { ops: pairOps(rest), expirations: [...expirations.values()] };
}

/** Per session, the latest time it is proven alive at the leader, and the operation proving it. */
export interface LifeProof {
  aliveUntil: number;
  proof: PairedOp;
}

export function lifeProofs(ops: readonly PairedOp[]): Map<string, LifeProof> {
  const proofs = new Map<string, LifeProof>();
  for (const op of ops) {
    if (op.complete?.type !== 'ok' || !LEADER_VALIDATED_WRITES.has(op.f)) continue;
    const session = sessionOf(op);
    if (session === undefined) continue;
    const known = proofs.get(session);
    if (known === undefined || op.invoke.time > known.aliveUntil) proofs.set(session, { aliveUntil: op.invoke.time, proof: op });
  }
  return proofs;
}

/**
 * The time after which a session may be gone: the earliest of its close's invoke and a recorded
 * expiry. Infinity when neither is recorded.
 */
export function sessionEnds(ops: readonly PairedOp[], expirations: readonly SessionEvent[]): Map<string, number> {
  const ends = new Map<string, number>();
  const lower = (session: string, time: number): void => {
    ends.set(session, Math.min(ends.get(session) ?? Infinity, time));
  };
  for (const op of ops) {
    const session = sessionOf(op);
    if (op.f === 'close-session' && session !== undefined) lower(session, op.invoke.time);
  }
  for (const e of expirations) lower(e.session, e.time);
  return ends;
}

/**
 * Until when a session is proven alive: its last leader-validated write's invoke time, cut at its
 * close or recorded expiry. -Infinity when nothing proves it alive.
 */
export function provenAliveUntil(session: string | undefined, proofs: Map<string, LifeProof>, ends: Map<string, number>): number {
  if (session === undefined) return -Infinity;
  const proof = proofs.get(session);
  if (proof === undefined) return -Infinity;
  return Math.min(proof.aliveUntil, ends.get(session) ?? Infinity);
}
