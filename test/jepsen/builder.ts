/** Hand-written histories for the checkers' tests: each entry one time unit after the previous one. */
import type { Op, OpType } from '../../src/jepsen/history.js';

type Extra = Partial<Pick<Op, 'key' | 'session' | 'node' | 'error' | 'time'>>;

export class HistoryBuilder {
  readonly ops: Op[] = [];
  private clock = 0;

  private add(process: number, type: OpType, f: string, value: unknown, extra: Extra): this {
    const time = extra.time ?? (this.clock += 1);
    this.clock = Math.max(this.clock, time);
    const op: Op = { index: this.ops.length, time, process, type, f, ...extra };
    if (value !== undefined) op.value = value;
    this.ops.push(op);
    return this;
  }

  invoke(process: number, f: string, value?: unknown, extra: Extra = {}): this {
    return this.add(process, 'invoke', f, value, extra);
  }
  ok(process: number, f: string, value?: unknown, extra: Extra = {}): this {
    return this.add(process, 'ok', f, value, extra);
  }
  fail(process: number, f: string, value?: unknown, extra: Extra = {}): this {
    return this.add(process, 'fail', f, value, extra);
  }
  info(process: number, f: string, value?: unknown, extra: Extra = {}): this {
    return this.add(process, 'info', f, value, extra);
  }
  /** Moves the clock forward (time units), e.g. to leave room for a session timeout. */
  wait(units: number): this {
    this.clock += units;
    return this;
  }
}
