/**
 * Sessions and ephemerals: an ephemeral znode disappears only when its owner's session is closed or
 * expires; a live session's ephemerals never vanish.
 *
 * Operations: 'create-ephemeral' (in the owner's session), 'check-ephemeral' (exists(), usually by
 * another client), 'close-session', and the 'session-expired' events (sessions.ts). The path is the
 * entry's `key`, else its invoke value's `path`; a check's ok value is true/false or
 * { exists, ephemeralOwner? }. A plain exists() is not linearizable: a lagging server may answer
 * "absent" for a znode it has not applied yet. But a session's view never goes back, so once a
 * viewer has seen the ephemeral (a true check, or its own create's ok), a later "absent" in the same
 * session means the delete was committed before that check completed. A check made after sync()
 * (invoke value `synced: true`, or the option `syncedChecks`) sees at least every write completed
 * before it was invoked, so it needs no earlier sighting.
 *
 * Flagged, for a path created exactly once and successfully (several incarnations of one path could
 * not be told apart):
 *  - vanished: the check says absent although its viewer had seen the ephemeral (or, synced, was
 *    invoked after the create's ok), and it completed (plus slack) before the owner's session is
 *    last proven alive (sessions.ts: an ok write in it, validated by the leader against a live
 *    session; a close or recorded expiry cuts that short). A delete committed while the session
 *    was provably alive is exactly the bug. Owners writing in their session now and then (creating
 *    more ephemerals, or setData recorded as 'write') give this rule its teeth.
 *  - phantom: a check says present before the create was even invoked.
 *  - wrong-owner: a check says present with an ephemeralOwner other than the creating session.
 * Checks are keyed by session, else by process.
 */
import type { PairedOp } from '../history.js';
import { lifeProofs, provenAliveUntil, sessionEnds, type SessionEvent } from './sessions.js';
import { byKey, describeOp, elapsedMs, opIndexes, sessionOf, type Anomaly, type Verdict } from './verdict.js';

export interface EphemeralOptions {
  /** Time (ns) by which a check must precede the owner's last proof of life to count. Default 0. */
  slack?: number;
  /** Every check-ephemeral ran sync() before exists() on its connection. Default false. */
  syncedChecks?: boolean;
}

function viewerOf(op: PairedOp): string {
  const session = sessionOf(op);
  return session === undefined ? `process ${op.process}` : `session ${session}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pathOf(op: PairedOp): string {
  if (op.key !== undefined) return op.key;
  const v = op.invoke.value;
  if (isRecord(v) && typeof v.path === 'string') return v.path;
  throw new Error(`history entry #${op.invoke.index}: ${op.f} needs a key or a value { path }, got ${JSON.stringify(v)}`);
}

/** What a check found: whether the znode exists, and its Stat.ephemeralOwner when given. */
function checkResult(op: PairedOp): { exists: boolean; owner?: string } {
  const v = op.complete!.value;
  if (typeof v === 'boolean') return { exists: v };
  if (isRecord(v) && typeof v.exists === 'boolean') return typeof v.ephemeralOwner === 'string' ? { exists: v.exists, owner: v.ephemeralOwner } : { exists: v.exists };
  throw new Error(`history entry #${op.complete!.index}: check-ephemeral ok needs a value true/false or { exists }, got ${JSON.stringify(v)}`);
}

/** Session ids as numbers, so "0x01a" and "0x1A" compare equal; the text itself when not hex. */
function sameSession(a: string, b: string): boolean {
  try {
    return BigInt(a) === BigInt(b);
  } catch {
    return a === b;
  }
}

function synced(op: PairedOp, options: EphemeralOptions): boolean {
  const v = op.invoke.value;
  return options.syncedChecks === true || (isRecord(v) && v.synced === true);
}

export function checkEphemerals(ops: readonly PairedOp[], expirations: readonly SessionEvent[], options: EphemeralOptions = {}): Verdict {
  const start = performance.now();
  const slack = options.slack ?? 0;
  const proofs = lifeProofs(ops);
  const ends = sessionEnds(ops, expirations);
  const anomalies: Anomaly[] = [];
  let paths = 0;
  let skipped = 0;
  let checks = 0;
  const relevant = ops.filter((op) => op.f === 'create-ephemeral' || op.f === 'check-ephemeral').map((op) => ({ ...op, key: pathOf(op) }));
  for (const [path, group] of byKey(relevant)) {
    const creates = group.filter((op) => op.f === 'create-ephemeral');
    if (creates.length !== 1 || creates[0]!.complete?.type !== 'ok') {
      if (creates.length > 0) skipped++;
      continue;
    }
    paths++;
    const create = creates[0]!;
    const owner = sessionOf(create);
    const aliveUntil = provenAliveUntil(owner, proofs, ends);
    const okChecks = group.filter((op) => op.f === 'check-ephemeral' && op.complete?.type === 'ok');
    checks += okChecks.length;
    // Per viewer, the first moment it is known to have seen the ephemeral.
    const sawItAt = new Map<string, { time: number; op: PairedOp }>();
    sawItAt.set(viewerOf(create), { time: create.complete!.time, op: create });
    for (const check of [...okChecks].sort((a, b) => a.complete!.time - b.complete!.time)) {
      const found = checkResult(check);
      if (!found.exists) continue;
      if (check.complete!.time < create.invoke.time) {
        anomalies.push({ kind: 'phantom', ops: [...opIndexes(check), ...opIndexes(create)], explanation: `${describeOp(check)} saw ephemeral ${path} before it was created by ${describeOp(create)}` });
      }
      if (found.owner !== undefined && owner !== undefined && !sameSession(found.owner, owner)) {
        anomalies.push({ kind: 'wrong-owner', ops: [...opIndexes(create), ...opIndexes(check)], explanation: `${describeOp(check)} found ephemeral ${path} owned by session ${found.owner}, but ${describeOp(create)} created it` });
      }
      const viewer = viewerOf(check);
      if (!sawItAt.has(viewer)) sawItAt.set(viewer, { time: check.complete!.time, op: check });
    }
    for (const check of okChecks) {
      if (checkResult(check).exists) continue;
      const seen = sawItAt.get(viewerOf(check));
      const sawIt = seen !== undefined && seen.time < check.invoke.time;
      const mustSee = synced(check, options) && create.complete!.time < check.invoke.time;
      if (!(sawIt || mustSee) || !(check.complete!.time + slack < aliveUntil)) continue;
      const proof = proofs.get(owner!)!.proof;
      const because = sawIt ? `after ${describeOp(seen.op)} had seen it` : `after sync(), invoked once ${describeOp(create)} had completed`;
      anomalies.push({
        kind: 'vanished',
        ops: [...new Set([...opIndexes(create), ...(sawIt ? opIndexes(seen.op) : []), ...opIndexes(check), ...opIndexes(proof)])],
        explanation: `ephemeral ${path} of a live session vanished: ${describeOp(check)} found it absent ${because}, while its owner's session was still alive, as ${describeOp(proof)} proves`,
      });
    }
  }
  const skippedNote = skipped === 0 ? '' : ` (${skipped} path(s) created more than once or without an ok create were not checked)`;
  return {
    checker: 'ephemeral',
    valid: anomalies.length > 0 ? false : paths === 0 ? 'unknown' : true,
    anomalies,
    summary: `${paths} ephemeral(s), ${checks} check(s): ${anomalies.length === 0 ? 'none vanished from a live session' : `${anomalies.length} anomalies`}${skippedNote}`,
    timeMs: elapsedMs(start),
  };
}
