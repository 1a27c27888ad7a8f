/**
 * set / queue: many clients add elements as sequential znodes (data = the element); after the run
 * and the healing, one client syncs and reads them all. History conventions beyond history.ts:
 * 'add' invokes with the element (a number) and its ok carries { value: element, seq, path }, seq
 * being the sequence number ZooKeeper appended; 'read-all' is ok with [{ value, seq }] in seq order.
 */
import { ZkClient } from '../../client/index.js';
import { CreateFlag } from '../../jute/index.js';
import { ZkSession } from '../zk-session.js';
import { ClientLoop } from './client-loop.js';
import { sleep, type Workload, type WorkloadContext } from './workload.js';

const ROOT = '/jepsen-set';
const seqOf = (path: string) => Number(path.slice(-10));

export class SetWorkload implements Workload {
  readonly name = 'set';
  readonly root = ROOT;
  private nextElement = 1;

  constructor(private readonly ctx: WorkloadContext) {}

  async setup(): Promise<void> {
    const a = this.ctx.addresses[0]!;
    const c = await ZkClient.connect({ host: a.host, port: a.port, timeout: this.ctx.sessionTimeoutMs });
    try {
      await c.create(ROOT, null);
    } finally {
      await c.close();
    }
  }

  async run(running: () => boolean): Promise<void> {
    const { ctx } = this;
    await Promise.all(
      Array.from({ length: ctx.clients }, async (_, i) => {
        const rng = ctx.rng.fork();
        const session = new ZkSession({ addresses: ctx.addresses, home: i, moving: i % 2 === 0, sessionTimeoutMs: ctx.sessionTimeoutMs, opTimeoutMs: ctx.opTimeoutMs });
        const loop = new ClientLoop(ctx.rec, session);
        while (running()) {
          if (!(await loop.ready())) continue;
          const element = this.nextElement++;
          await loop.op('add', { value: element }, (c) => c.create(`${ROOT}/e-`, Buffer.from(String(element)), undefined, CreateFlag.PERSISTENT_SEQUENTIAL), (r) => ({ value: element, seq: seqOf(r.path), path: r.path }));
          await sleep(10 + rng.int(50));
        }
        await session.close();
      }),
    );
  }

  /** Reads every element (sync first), retrying as a new process after a loss, for up to a minute. */
  async finish(): Promise<void> {
    const { ctx } = this;
    const session = new ZkSession({ addresses: ctx.addresses, home: 0, moving: true, sessionTimeoutMs: ctx.sessionTimeoutMs, opTimeoutMs: ctx.opTimeoutMs * 4 });
    const loop = new ClientLoop(ctx.rec, session);
    const deadline = Date.now() + 60_000;
    try {
      while (Date.now() < deadline) {
        if (!(await loop.ready())) continue;
        const done = await loop.op(
          'read-all',
          {},
          async (c) => {
            await c.sync(ROOT);
            const children = (await c.getChildren(ROOT)).sort((x, y) => seqOf(x) - seqOf(y));
            const out: { value: number; seq: number }[] = [];
            for (const child of children) out.push({ value: Number((await c.getData(`${ROOT}/${child}`)).data?.toString()), seq: seqOf(child) });
            return out;
          },
          (r) => r,
        );
        if (done.type === 'ok') return;
      }
      throw new Error('set: the final read-all did not succeed within a minute');
    } finally {
      await session.close();
    }
  }
}
