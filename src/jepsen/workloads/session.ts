/**
 * session: owners create ephemeral znodes in their sessions, sometimes close the session (and open
 * a new one); other clients check (sync, then exists) ephemerals created so far, live or not. An
 * owner that finds its session expired on reconnecting records 'session-expired' (observed then:
 * the expiry itself happened earlier). History conventions beyond history.ts, `session` being the
 * owner's session id (hex) on the owner's ops:
 *   'create-ephemeral' invoke { path } ok { path };  'close-session' invoke/ok { session };
 *   'session-expired' invoke/ok { session };
 *   'check-ephemeral' invoke { path, owner, synced: true } ok { path, owner, exists, ephemeralOwner }
 *   where ephemeralOwner is the znode's Stat.ephemeralOwner (hex) when it exists.
 */
import { ZkClient } from '../../client/index.js';
import { CreateFlag } from '../../jute/index.js';
import { ZkSession } from '../zk-session.js';
import { ClientLoop } from './client-loop.js';
import { sleep, type Workload, type WorkloadContext } from './workload.js';

const ROOT = '/jepsen-session';

export class SessionWorkload implements Workload {
  readonly name = 'session';
  readonly root = ROOT;
  /** Every ephemeral ever acknowledged, with its owner's session: what checkers look at. */
  private readonly created: { path: string; owner: string }[] = [];

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

  private newSession(i: number): ZkSession {
    const { ctx } = this;
    return new ZkSession({ addresses: ctx.addresses, home: i, moving: i % 2 === 1, sessionTimeoutMs: ctx.sessionTimeoutMs, opTimeoutMs: ctx.opTimeoutMs });
  }

  async run(running: () => boolean): Promise<void> {
    const owners = Math.max(2, Math.ceil(this.ctx.clients / 2));
    const checkers = Math.max(1, this.ctx.clients - owners);
    await Promise.all([...Array.from({ length: owners }, (_, i) => this.owner(i, running)), ...Array.from({ length: checkers }, (_, i) => this.checker(owners + i, running))]);
  }

  private async owner(i: number, running: () => boolean): Promise<void> {
    const { ctx } = this;
    const rng = ctx.rng.fork();
    let n = 0;
    while (running()) {
      const session = this.newSession(i);
      const loop = new ClientLoop(ctx.rec, session);
      let expired = false;
      session.onExpired = (hex) => {
        expired = true;
        const p = ctx.rec.newProcess();
        ctx.rec.record(p, 'invoke', 'session-expired', { value: { session: hex }, session: hex });
        ctx.rec.record(p, 'ok', 'session-expired', { value: { session: hex }, session: hex });
      };
      while (running() && !expired) {
        if (!(await loop.ready())) continue;
        if (rng.next() < 0.1) {
          const hex = session.sessionHex;
          await loop.op('close-session', { value: { session: hex } }, (c) => c.close(), () => ({ session: hex }));
          break;
        }
        const path = `${ROOT}/o${i}-${n++}`;
        const done = await loop.op('create-ephemeral', { value: { path } }, (c) => c.create(path, null, undefined, CreateFlag.EPHEMERAL), () => ({ path }));
        if (done.type === 'ok') this.created.push({ path, owner: done.session! });
        await sleep(50 + rng.int(100));
      }
      await session.close();
    }
  }

  private async checker(i: number, running: () => boolean): Promise<void> {
    const { ctx } = this;
    const rng = ctx.rng.fork();
    const session = this.newSession(i);
    const loop = new ClientLoop(ctx.rec, session);
    while (running()) {
      if (this.created.length === 0 || !(await loop.ready())) {
        await sleep(50);
        continue;
      }
      // Mostly recent ones (most likely alive), sometimes any.
      const pick = rng.next() < 0.7 ? this.created[Math.max(0, this.created.length - 1 - rng.int(10))]! : rng.pick(this.created);
      await loop.op(
        'check-ephemeral',
        { value: { path: pick.path, owner: pick.owner, synced: true } },
        async (c) => {
          await c.sync(pick.path);
          return c.exists(pick.path);
        },
        (stat) => ({ path: pick.path, owner: pick.owner, exists: stat !== null, ...(stat ? { ephemeralOwner: `0x${BigInt.asUintN(64, BigInt(stat.ephemeralOwner)).toString(16)}` } : {}) }),
      );
      await sleep(20 + rng.int(40));
    }
    await session.close();
  }

  async finish(): Promise<void> {}
}
