/**
 * Sessions and ephemerals: an ephemeral znode disappears only when its owner's session is closed or
 * expires; a live session's ephemerals never vanish.
 *
 * Operations: 'create-ephemeral' (key: the path, in the owner's session), 'check-ephemeral' (key: the
 * path, ok with true or false: exists(), usually by another client), 'close-session', and the
 * 'session-expired' events (sessions.ts). exists() is not linearizable: a lagging server may answer
 * "absent" for a znode it has not applied yet. But a session's view never goes back, so once a viewer
 * has seen the ephemeral (a true check, or its own create's ok), a later "absent" in the same
 * session means the delete was committed before that check completed.
 *
 * Flagged, for a path created exactly once and successfully (several incarnations of one path could
 * not be told apart):
 *  - vanished: a viewer saw the ephemeral, then a later check in the same session says absent, and
 *    completed (plus slack) before the owner's session is last proven alive (sessions.ts: an ok write
 *    in it, validated by the leader against a live session; a close or expiry cuts that short). A
 *    delete committed while the session was provably alive is exactly the bug. To give this rule
 *    teeth, owners should write in their session (e.g. setData on their ephemeral, recorded as
 *    'write') now and then.
 *  - phantom: a check says present before the create was even invoked.
 * Checks keyed by session, else by process.
 */
import type { PairedOp } from '../history.js';
import { lifeProofs, provenAliveUntil, sessionEnds, type SessionEvent } from './sessions.js';
import { byKey, describeOp, elapsedMs, opIndexes, sessionOf, type Anomaly, type Verdict } from './verdict.js';

export interface EphemeralOptions {
  /** Time (ns) by which a check must precede the owner's last proof of life to count. Default 0. */
  slack?: number;
}

function viewerOf(op: PairedOp): string {
  const session = sessionOf(op);
  return session === undefined ? `process ${op.process}` : `session ${session}`;
}

function checkResult(op: PairedOp): boolean {
  const v = op.complete!.value;
  if (typeof v !== 'boolean') throw new Error(`history entry #${op.complete!.index}: check-ephemeral ok needs a value true or false, got ${JSON.stringify(v)}`);
  return v;
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
  for (const [path, group] of byKey(ops.filter((op) => op.f === 'create-ephemeral' || op.f === 'check-ephemeral'))) {
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
      if (checkResult(check)) {
        if (check.complete!.time < create.invoke.time) {
          anomalies.push({ kind: 'phantom', ops: [...opIndexes(check), ...opIndexes(create)], explanation: `${describeOp(check)} saw ephemeral ${path} before it was created by ${describeOp(create)}` });
        }
        const viewer = viewerOf(check);
        if (!sawItAt.has(viewer)) sawItAt.set(viewer, { time: check.complete!.time, op: check });
      }
    }
    for (const check of okChecks) {
      if (checkResult(check)) continue;
      const seen = sawItAt.get(viewerOf(check));
      if (seen === undefined || seen.time >= check.invoke.time) continue;
      if (check.complete!.time + slack < aliveUntil) {
        const proof = proofs.get(owner!)!.proof;
        anomalies.push({
          kind: 'vanished',
          ops: [...opIndexes(create), ...opIndexes(seen.op), ...opIndexes(check), ...opIndexes(proof)],
          explanation:
            `ephemeral ${path} of a live session vanished: ${describeOp(check)} found it absent after ${describeOp(seen.op)} had seen it, ` +
            `while its owner's session was still alive, as ${describeOp(proof)} proves`,
        });
      }
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
