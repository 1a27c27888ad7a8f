/**
 * The one seam between the harness and the checkers (src/jepsen/checkers/): the runner asks for a
 * verdict here and nowhere else, so adapting to the checkers' exports touches only this file.
 */
import type { Op } from './history.js';
import { checkHistory, type CheckResult } from './checkers/index.js';

export interface RunVerdict {
  valid: boolean | 'unknown';
  /** The checkers' own result (each verdict, every anomaly with the history indexes it names). */
  details: CheckResult;
  checkerMs: number;
}

export function judge(workload: string, history: Op[]): RunVerdict {
  const result = checkHistory(workload, history);
  return { valid: result.valid, details: result, checkerMs: result.timeMs };
}
