/**
 * An exact, polynomial decision of linearizability for the ZooKeeper register, used when the
 * general search (linearizability.ts) runs out of budget, typically on a history with hundreds of
 * indeterminate writes that is not linearizable: the search must then refute every way of placing
 * them, while the znode's version pins every acknowledged operation to one place.
 *
 * Every effective write or cas adds one to the version, and every ok says which version it made or
 * read. So in any legal order the write that made version u comes right after the one that made u-1,
 * and the reads of version u sit between the writes making u and u+1: each acknowledged operation
 * has a rank, 2u for the write making u and 2u+1 for a read of u, and a linearization is exactly an
 * order sorted by rank (reads of one version in any order) that respects real time. Versions no
 * acknowledged write made (gaps up to the highest version seen) must each be made by a distinct
 * indeterminate write or cas: one invoked no later than every acknowledged operation ranked after
 * the gap completed, a cas expecting the version below, with the value the gap's reads saw. That is
 * a bipartite matching. The history is linearizable iff:
 *  1. each acknowledged write/cas made a version above the initial one, a cas the one above what it
 *     expected, with the value it wrote, and no two made the same version;
 *  2. reads of a version made by an acknowledged write saw its value (of the initial version, the
 *     initial value; of a gap, all the same value), and no read saw a version below the initial one;
 *  3. no acknowledged operation completed before another began while ranked after it;
 *  4. the gaps can be matched to distinct indeterminate operations as above.
 */
import type { PairedOp } from '../history.js';
import { showState, valueKey, type RegisterOp, type RegisterState } from './register-model.js';
import { describeOp, opIndexes, type Anomaly } from './verdict.js';

export interface RankedInput {
  paired: PairedOp;
  model: RegisterOp;
  indeterminate: boolean;
}

interface Ranked {
  op: RankedInput;
  version: number;
  rank: number;
}

function anomaly(ops: readonly RankedInput[], explanation: string): Anomaly {
  return { kind: 'nonlinearizable', ops: [...new Set(ops.flatMap((o) => opIndexes(o.paired)))].sort((a, b) => a - b), explanation };
}

/** Null when linearizable, else what makes it not. */
export function versionOrderAnomaly(key: string, ops: readonly RankedInput[], initial: RegisterState): Anomaly | null {
  const at = `key ${JSON.stringify(key)}: `;
  const ranked: Ranked[] = [];
  const makers = new Map<number, Ranked>();
  const readsOf = new Map<number, Ranked[]>();
  for (const op of ops) {
    const result = op.model.result;
    if (op.indeterminate || result === undefined) continue;
    const version = result.version;
    if (op.model.kind === 'sync-read') {
      const r = { op, version, rank: 2 * version + 1 };
      if (version < initial.version) return anomaly([op], `${at}${describeOp(op.paired)} read version ${version}, older than the initial ${showState(initial)}`);
      ranked.push(r);
      const reads = readsOf.get(version);
      if (reads === undefined) readsOf.set(version, [r]);
      else reads.push(r);
      continue;
    }
    const r = { op, version, rank: 2 * version };
    if (version <= initial.version) return anomaly([op], `${at}${describeOp(op.paired)} made version ${version}, not above the initial ${showState(initial)}`);
    if (valueKey(result.value) !== valueKey(op.model.value)) return anomaly([op], `${at}${describeOp(op.paired)} returned a value other than the one it wrote`);
    if (op.model.kind === 'cas' && version !== op.model.expectedVersion + 1) {
      return anomaly([op], `${at}${describeOp(op.paired)} succeeded expecting version ${op.model.expectedVersion} but made version ${version}`);
    }
    const other = makers.get(version);
    if (other !== undefined) return anomaly([other.op, op], `${at}both ${describeOp(other.op.paired)} and ${describeOp(op.paired)} made version ${version}`);
    makers.set(version, r);
    ranked.push(r);
  }

  // 2. What each version's reads saw.
  const pinned = new Map<number, string>();
  for (const [version, reads] of readsOf) {
    const maker = makers.get(version);
    const expected = maker !== undefined ? valueKey(maker.op.model.value) : version === initial.version ? valueKey(initial.value) : valueKey(reads[0]!.op.model.result!.value);
    const odd = reads.find((r) => valueKey(r.op.model.result!.value) !== expected);
    if (odd !== undefined) {
      const source = maker !== undefined ? `version ${version} was made by ${describeOp(maker.op.paired)}` : version === initial.version ? `version ${version} is the initial ${showState(initial)}` : `${describeOp(reads[0]!.op.paired)} read ${expected} at that version`;
      return anomaly([odd.op, ...(maker === undefined ? [reads[0]!.op] : [maker.op])], `${at}${describeOp(odd.op.paired)} read version ${version} with another value: ${source}`);
    }
    if (maker === undefined && version !== initial.version) pinned.set(version, expected);
  }

  // 3. Real time against rank.
  const byCompletion = [...ranked].sort((a, b) => a.op.paired.complete!.time - b.op.paired.complete!.time);
  const byInvoke = [...ranked].sort((a, b) => a.op.paired.invoke.time - b.op.paired.invoke.time);
  let next = 0;
  let highest: Ranked | undefined;
  for (const b of byInvoke) {
    while (next < byCompletion.length && byCompletion[next]!.op.paired.complete!.time < b.op.paired.invoke.time) {
      const a = byCompletion[next++]!;
      if (highest === undefined || a.rank > highest.rank) highest = a;
    }
    if (highest !== undefined && highest.rank > b.rank) {
      const what = (r: Ranked) => (r.rank % 2 === 0 ? `made version ${r.version}` : `read version ${r.version}`);
      return anomaly(
        [highest.op, b.op],
        `${at}${describeOp(highest.op.paired)} ${what(highest)} and completed before ${describeOp(b.op.paired)} began, which ${what(b)}: time would run backwards`,
      );
    }
  }

  // 4. Gaps, each to be made by a distinct indeterminate write or cas.
  const top = ranked.reduce((m, r) => Math.max(m, r.version), initial.version);
  const gaps: number[] = [];
  for (let u = initial.version + 1; u <= top; u++) if (!makers.has(u)) gaps.push(u);
  if (gaps.length === 0) return null;
  // deadline(u): the earliest completion among acknowledged operations ranked after 2u.
  const byRank = [...ranked].sort((a, b) => b.rank - a.rank);
  const deadline = new Map<number, number>();
  let earliest = Infinity;
  let i = 0;
  for (const u of [...gaps].reverse()) {
    while (i < byRank.length && byRank[i]!.rank > 2 * u) earliest = Math.min(earliest, byRank[i++]!.op.paired.complete!.time);
    deadline.set(u, earliest);
  }
  const candidates = ops.filter((o) => o.indeterminate && o.model.kind !== 'sync-read');
  const fits = (c: RankedInput, u: number): boolean =>
    c.paired.invoke.time <= deadline.get(u)! &&
    (c.model.kind === 'write' || c.model.expectedVersion === u - 1) &&
    (!pinned.has(u) || pinned.get(u) === valueKey(c.model.value));
  const unmatched = matchGaps(gaps, candidates, fits);
  if (unmatched === undefined) return null;
  const blockers = byRank.filter((r) => r.rank > 2 * unmatched && r.op.paired.complete!.time === deadline.get(unmatched)).map((r) => r.op);
  const readers = readsOf.get(unmatched)?.map((r) => r.op) ?? [];
  return anomaly(
    [...readers, ...blockers],
    `${at}version ${unmatched} must have been made by an operation whose outcome is unknown (no acknowledged write made it), ` +
      `but not enough such writes fit: invoked before ${blockers.length > 0 ? describeOp(blockers[0]!.paired) : 'the operations after it'} completed` +
      (pinned.has(unmatched) ? `, writing ${pinned.get(unmatched)} as ${describeOp(readers[0]!.paired)} read` : '') +
      ` (${candidates.length} indeterminate write/cas in all, ${gaps.length} version(s) to make)`,
  );
}

/**
 * Kuhn's augmenting paths, after a greedy pass (usually enough). Returns a gap left unmatched, or
 * undefined when every gap gets its own candidate.
 */
function matchGaps(gaps: readonly number[], candidates: readonly RankedInput[], fits: (c: RankedInput, u: number) => boolean): number | undefined {
  const owner = new Array<number>(candidates.length).fill(-1);
  const eligible = gaps.map((u) => candidates.flatMap((c, j) => (fits(c, u) ? [j] : [])));
  const tryGap = (g: number, visited: Uint8Array): boolean => {
    for (const j of eligible[g]!) {
      if (visited[j]) continue;
      visited[j] = 1;
      if (owner[j] === -1 || tryGap(owner[j]!, visited)) {
        owner[j] = g;
        return true;
      }
    }
    return false;
  };
  const matched = new Uint8Array(gaps.length);
  gaps.forEach((_, g) => {
    const free = eligible[g]!.find((j) => owner[j] === -1);
    if (free !== undefined) {
      owner[free] = g;
      matched[g] = 1;
    }
  });
  for (let g = 0; g < gaps.length; g++) {
    if (!matched[g] && !tryGap(g, new Uint8Array(candidates.length))) return gaps[g];
  }
  return undefined;
}
