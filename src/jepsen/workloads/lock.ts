/**
 * lock: kazoo 2.8's Lock and Election recipes, driven by scripts/jepsen_kazoo.py under
 * /usr/bin/python3 (kazoo is a Python library: these are the clients users write). The script
 * prints history entries as JSON lines with its own CLOCK_MONOTONIC time relative to our run's
 * start (see the script); here they get their index and a process id of ours. An entry's time is
 * never put before the previous record's (the history's times must not go back): that clamp moves
 * an entry later only when a nemesis action was recorded between the event and its line arriving,
 * by at most the pipe's delay (milliseconds).
 * History conventions: 'acquire' and 'release' with `key` the recipe's znode (/jepsen-lock/lock or
 * /jepsen-lock/election) and `session` the kazoo session id; no values.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { distFile } from '../../bench/servers.js';
import type { OpType } from '../history.js';
import type { Workload, WorkloadContext } from './workload.js';

export const KAZOO_PYTHON = '/usr/bin/python3';
/** scripts/jepsen_kazoo.py in the repository (dist/ sits next to scripts/). */
export const KAZOO_SCRIPT = join(distFile('.'), '..', 'scripts', 'jepsen_kazoo.py');

interface ScriptEntry {
  t: number;
  process: number;
  type: OpType | 'log';
  f: string;
  key?: string;
  session?: string;
  error?: string;
}

export class LockWorkload implements Workload {
  readonly name = 'lock';
  readonly root = '/jepsen-lock';
  constructor(private readonly ctx: WorkloadContext) {}

  async setup(): Promise<void> {}

  /** The script runs for the run's time on its own clock (it cannot see `running`). */
  async run(): Promise<void> {
    const { ctx } = this;
    const args = [
      KAZOO_SCRIPT,
      '--hosts', ctx.addresses.map((a) => `${a.host}:${a.port}`).join(','),
      '--clients', String(ctx.clients),
      '--seconds', String(ctx.timeSec),
      '--seed', String(ctx.rng.int(0x7fffffff)),
      '--origin-ns', ctx.rec.origin.toString(),
      '--session-timeout', String(ctx.sessionTimeoutMs / 1000),
      '--op-timeout', String(ctx.opTimeoutMs / 1000),
    ];
    const child = spawn(KAZOO_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.pipe(createWriteStream(join(ctx.outDir, 'kazoo.stderr.log')));
    const pids = new Map<number, number>();
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let e: ScriptEntry;
      try {
        e = JSON.parse(line) as ScriptEntry;
      } catch {
        ctx.log(`kazoo script: not JSON: ${line}`);
        return;
      }
      if (e.type === 'log') {
        ctx.log(`kazoo script: ${e.f}: ${e.error ?? ''}`);
        return;
      }
      let pid = pids.get(e.process);
      if (pid === undefined) pids.set(e.process, (pid = ctx.rec.newProcess()));
      const last = ctx.rec.ops.at(-1)?.time ?? 0;
      ctx.rec.record(pid, e.type, e.f, { key: e.key, session: e.session, error: e.error }, Math.max(e.t, last));
    });
    const closed = new Promise<void>((resolve) => lines.once('close', () => resolve()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    await closed;
    if (code !== 0) throw new Error(`kazoo script exited with ${code} (see ${join(ctx.outDir, 'kazoo.stderr.log')})`);
  }

  async finish(): Promise<void> {}
}
