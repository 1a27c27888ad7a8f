/**
 * Checks a recorded jepsen-lite history: `node dist/src/jepsen/check-cli.js <workload> <history.jsonl>`.
 * Prints a report and exits 0 when valid, 1 when invalid, 2 when the checkers could not decide
 * (e.g. the linearizability budget ran out), 3 on bad usage or a malformed history.
 * `--max-states N` and `--max-ms N` set the linearizability search's budget per key; `--search-only`
 * leaves a key 'unknown' when the search runs out instead of deciding it by the register's versions.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { checkHistory, formatReport, WORKLOADS } from './checkers/index.js';
import { parseHistory } from './history.js';

const USAGE = `usage: check-cli <workload> <history.jsonl> [--max-states N] [--max-ms N] [--search-only]\n  workloads: ${WORKLOADS.join(', ')}`;

function positiveInteger(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got ${JSON.stringify(text ?? '')}`);
  return n;
}

/** Runs the CLI on `args` (without node and the script); returns the exit code. */
export function runCheckCli(args: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  const positional: string[] = [];
  const budget: { maxStates?: number; maxMs?: number; versionOrderFallback?: boolean } = {};
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--max-states') budget.maxStates = positiveInteger(a, args[++i]);
      else if (a === '--max-ms') budget.maxMs = positiveInteger(a, args[++i]);
      else if (a === '--search-only') budget.versionOrderFallback = false;
      else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
      else positional.push(a);
    }
    if (positional.length !== 2) throw new Error(`expected a workload and a history file, got ${positional.length} argument(s)`);
    const [workload, file] = positional as [string, string];
    const history = parseHistory(readFileSync(file, 'utf8'));
    const result = checkHistory(workload, history, { linearizability: budget });
    out(formatReport(result));
    return result.valid === true ? 0 : result.valid === false ? 1 : 2;
  } catch (e) {
    err(`check-cli: ${(e as Error).message}\n${USAGE}`);
    return 3;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runCheckCli(process.argv.slice(2), (t) => console.log(t), (t) => console.error(t));
}
