/**
 * One logical client's life in a workload: connect (not recorded: a connection that fails to open
 * did nothing), then invoke, await, complete. A definite ZooKeeper error completes with `fail`;
 * a timeout or a lost connection with `info`, after which the client continues as a new process
 * (history.ts's rule) on the same ZkSession, so its session and what it saw carry over.
 */
import type { ZkClient } from '../../client/index.js';
import type { Op } from '../history.js';
import type { Recorder, OpFields } from '../recorder.js';
import { ZkSession, definiteFailure, errorName } from '../zk-session.js';
import { sleep } from './workload.js';

export class ClientLoop {
  process: number;

  constructor(readonly rec: Recorder, readonly session: ZkSession) {
    this.process = rec.newProcess();
  }

  /** Waits (up to `ms`) for a connection; false when there is none yet. */
  async ready(ms = 200): Promise<boolean> {
    try {
      await this.session.connected();
      return true;
    } catch {
      await sleep(ms);
      return false;
    }
  }

  /**
   * Records the invoke, runs `fn`, records the completion: ok with `fn`'s result, fail or info.
   * Returns the completion entry.
   */
  async op<T>(f: string, fields: OpFields, fn: (c: ZkClient) => Promise<T>, result: (r: T) => unknown): Promise<Op> {
    const base = { ...fields, node: this.session.node, session: this.session.sessionHex };
    this.rec.record(this.process, 'invoke', f, base);
    try {
      const r = await this.session.run(fn);
      return this.rec.record(this.process, 'ok', f, { ...base, value: result(r) });
    } catch (e) {
      if (definiteFailure(e)) return this.rec.record(this.process, 'fail', f, { ...base, error: errorName(e) });
      const op = this.rec.record(this.process, 'info', f, { ...base, error: errorName(e) });
      this.process = this.rec.newProcess();
      return op;
    }
  }
}
