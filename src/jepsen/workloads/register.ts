/**
 * register: a few keys, each a znode holding a number. Clients write (setData, version -1),
 * compare-and-set (setData with the version they last saw), read after sync() on the same
 * connection (linearizable), and read plainly (only never older than what the session saw).
 * Half the clients are pinned to a server, half move to the next one after a connection loss,
 * re-attaching their session. History conventions: see history.ts.
 */
import { ZkClient } from '../../client/index.js';
import type { records } from '../../jute/index.js';
import { ZkSession } from '../zk-session.js';
import { ClientLoop } from './client-loop.js';
import { sleep, type Workload, type WorkloadContext } from './workload.js';

const ROOT = '/jepsen-register';
/** Reads outnumber writes, as in most ZooKeeper uses: 25% plain reads, 35% sync-reads, 20% writes, 20% cas. */
const OP_MIX = ['read', 'read', 'read', 'read', 'read', 'sync-read', 'sync-read', 'sync-read', 'sync-read', 'sync-read', 'sync-read', 'sync-read', 'write', 'write', 'write', 'write', 'cas', 'cas', 'cas', 'cas'];

const decode = (data: Buffer | null, stat: records.Stat) => ({ value: data === null || data.length === 0 ? null : Number(data.toString()), version: stat.version });

export class RegisterWorkload implements Workload {
  readonly name = 'register';
  readonly root = ROOT;
  readonly keys: string[];
  private nextValue = 1;

  constructor(private readonly ctx: WorkloadContext, keyCount = 3) {
    this.keys = Array.from({ length: keyCount }, (_, i) => `${ROOT}/r${i}`);
  }

  async setup(): Promise<void> {
    const a = this.ctx.addresses[0]!;
    const c = await ZkClient.connect({ host: a.host, port: a.port, timeout: this.ctx.sessionTimeoutMs });
    try {
      await c.create(ROOT, null);
      // Each key starts as a recorded write of 0 (a create: version 0), so checkers start from
      // "absent" (null, version -1) as history.ts says, and every later write adds one to the version.
      const p = this.ctx.rec.newProcess();
      for (const key of this.keys) {
        this.ctx.rec.record(p, 'invoke', 'write', { key, value: 0, node: `s${a.sid}` });
        const { stat } = await c.create(key, Buffer.from('0'));
        this.ctx.rec.record(p, 'ok', 'write', { key, value: { value: 0, version: stat.version }, node: `s${a.sid}` });
      }
    } finally {
      await c.close();
    }
  }

  async run(running: () => boolean): Promise<void> {
    const { ctx } = this;
    await Promise.all(
      Array.from({ length: ctx.clients }, async (_, i) => {
        const rng = ctx.rng.fork();
        const session = new ZkSession({ addresses: ctx.addresses, home: i, moving: i % 2 === 1, sessionTimeoutMs: ctx.sessionTimeoutMs, opTimeoutMs: ctx.opTimeoutMs });
        const loop = new ClientLoop(ctx.rec, session);
        /** The version this client last saw per key: its cas guesses. */
        const seen = new Map<string, number>();
        while (running()) {
          if (!(await loop.ready())) continue;
          const key = rng.pick(this.keys);
          const f = rng.pick(OP_MIX);
          const done = await (f === 'read'
            ? loop.op(f, { key }, (c) => c.getData(key), (r) => decode(r.data, r.stat))
            : f === 'sync-read'
              ? loop.op(f, { key }, async (c) => { await c.sync(key); return c.getData(key); }, (r) => decode(r.data, r.stat))
              : f === 'write'
                ? this.write(loop, key)
                : this.cas(loop, key, seen.get(key) ?? 0));
          const v = done.type === 'ok' ? (done.value as { version: number }).version : undefined;
          if (v !== undefined) seen.set(key, v);
          await sleep(10 + rng.int(50));
        }
        await session.close();
      }),
    );
  }

  private write(loop: ClientLoop, key: string) {
    const value = this.nextValue++;
    return loop.op('write', { key, value }, (c) => c.setData(key, Buffer.from(String(value)), -1), (stat) => ({ value, version: stat.version }));
  }

  private cas(loop: ClientLoop, key: string, expectedVersion: number) {
    const value = this.nextValue++;
    return loop.op('cas', { key, value: { expectedVersion, value } }, (c) => c.setData(key, Buffer.from(String(value)), expectedVersion), (stat) => ({ value, version: stat.version }));
  }

  async finish(): Promise<void> {}
}
