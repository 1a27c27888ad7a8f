/**
 * Records a run's history (see history.ts) as it happens: each entry gets the next index and the
 * monotonic time since the run started, and is appended to history.jsonl at once, so a run that
 * dies still leaves what it did.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { NEMESIS, type Op, type OpType } from './history.js';

export type OpFields = Pick<Op, 'key' | 'value' | 'node' | 'session' | 'error'>;

export class Recorder {
  readonly ops: Op[] = [];
  /** The run's start: process.hrtime.bigint(), i.e. CLOCK_MONOTONIC in ns (the kazoo script gets it). */
  readonly origin = process.hrtime.bigint();
  private lastProcess = 0;

  constructor(private readonly file: string) {
    writeFileSync(file, '');
  }

  /** A fresh process id (a logical client; a new one after every indeterminate operation). */
  newProcess(): number {
    return ++this.lastProcess;
  }

  /** Nanoseconds since the run started. */
  now(): number {
    return Number(process.hrtime.bigint() - this.origin);
  }

  record(process: number, type: OpType, f: string, fields: OpFields = {}, time = this.now()): Op {
    const op: Op = { index: this.ops.length, time, process, type, f };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (op as unknown as Record<string, unknown>)[k] = v;
    this.ops.push(op);
    appendFileSync(this.file, JSON.stringify(op) + '\n');
    return op;
  }

  nemesis(f: string, value: unknown): Op {
    return this.record(NEMESIS, 'info', f, { value });
  }
}
