/**
 * The history a jepsen-lite run records and its checkers read: the contract between the harness
 * (which drives clients and writes operations) and the checkers (which judge them).
 *
 * As in Jepsen, every client operation appears twice: an `invoke` entry when the client sends it,
 * then one completion by the same process: `ok` (it happened, with its result), `fail` (it
 * certainly did not happen: ZooKeeper answered with an error that means "not applied", such as
 * BADVERSION or NODEEXISTS), or `info` (unknown: a timeout or a connection loss; it may or may not
 * have taken effect, possibly much later). A process is one logical client with at most one
 * operation in flight; after an `info` the process never issues another operation (the harness
 * continues with a fresh process id), because its pending operation may still take effect at any
 * later time. Nemesis actions (faults) are recorded with process `NEMESIS` so reports can show
 * them next to the operations they disturbed; checkers ignore them.
 */

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

/** The process id of nemesis (fault) entries. */
export const NEMESIS = -1;

export interface Op {
  /** Position in the history, 0-based, strictly increasing in record order. */
  index: number;
  /** Monotonic time of the record in nanoseconds since the run started (process.hrtime.bigint based). */
  time: number;
  process: number;
  type: OpType;
  /**
   * What the operation does. Workloads use:
   *  register: 'read' (plain getData), 'sync-read' (sync() then getData, same connection),
   *            'write' (setData with version -1), 'cas' (setData with an expected version);
   *  set:      'add' (sequential create), 'read-all' (final getChildren);
   *  lock:     'acquire', 'release';
   *  session:  'create-ephemeral', 'check-ephemeral', 'close-session', 'session-expired';
   *  nemesis:  free text such as 'kill', 'restart', 'partition', 'heal', 'pause', 'resume'.
   */
  f: string;
  /** The key (znode) the operation is about, when the workload has several. */
  key?: string;
  /**
   * The argument on `invoke`, the result on `ok` (for 'fail' and 'info', the invoke's argument).
   * register: the value is { value: number | null, version: number } on a read's ok (version is the
   * znode's Stat.version, -1 and value null when it does not exist); a write's argument is the
   * number written and its ok carries { value, version } with the version the server returned; a
   * cas's argument is { expectedVersion, value } and its ok carries { value, version } likewise.
   */
  value?: unknown;
  /** The server (e.g. "127.0.0.1:2181" or "zk2") the client was connected to, when known. */
  node?: string;
  /** The session id (hex) the operation ran in, when the workload cares (locks, ephemerals). */
  session?: string;
  /** ZooKeeper's error name (e.g. 'BADVERSION', 'CONNECTIONLOSS') or another reason, for fail/info. */
  error?: string;
}

/** An operation as the checkers see it: the invoke paired with its completion (or none yet). */
export interface PairedOp {
  process: number;
  f: string;
  key?: string;
  invoke: Op;
  /** The ok/fail/info entry; undefined when the run ended first (treated like info). */
  complete?: Op;
}

/** Pairs every invoke with its process's next completion, in invoke order. Nemesis entries are left out. */
export function pairOps(history: readonly Op[]): PairedOp[] {
  const open = new Map<number, PairedOp>();
  const paired: PairedOp[] = [];
  for (const op of history) {
    if (op.process === NEMESIS) continue;
    if (op.type === 'invoke') {
      if (open.has(op.process)) throw new Error(`history: process ${op.process} invoked op ${op.index} with op ${open.get(op.process)!.invoke.index} still open`);
      const entry: PairedOp = { process: op.process, f: op.f, invoke: op, ...(op.key === undefined ? {} : { key: op.key }) };
      open.set(op.process, entry);
      paired.push(entry);
      continue;
    }
    const entry = open.get(op.process);
    if (entry === undefined) throw new Error(`history: op ${op.index} completes process ${op.process}, which has nothing open`);
    entry.complete = op;
    open.delete(op.process);
  }
  return paired;
}

/** Parses a history written one JSON object per line (the harness's history.jsonl). */
export function parseHistory(text: string): Op[] {
  return text.split('\n').filter((line) => line.trim() !== '').map((line, i) => {
    try {
      return JSON.parse(line) as Op;
    } catch (e) {
      throw new Error(`history line ${i + 1}: ${(e as Error).message}`);
    }
  });
}
