/**
 * The failover workload (ensembles only): kill -9 of the leader, and the time until a client of the
 * survivors gets a write acknowledged. Each kill: wait for a settled ensemble, write once through
 * the survivors (so both kinds start from a serving ensemble), SIGKILL the leader, then try a
 * create on the survivors in turn, each attempt on a new session (connection loss, refused
 * handshakes and "not serving" all mean: next survivor, 5 ms later), until one is acknowledged. The
 * killed server is started again and the ensemble settles before the next kill.
 */
import { ZkClient } from '../client/index.js';
import { ErrorCode, KeeperError } from '../jute/index.js';
import type { BenchEnsemble } from './ensemble.js';
import { now } from './runner.js';
import type { ManagedServer } from './servers.js';

export interface FailoverResult {
  /** ms from the kill to the first acknowledged write, per kill. */
  times: number[];
  /** Attempts that failed before the acknowledged one, over all kills. */
  failedAttempts: number;
}

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

export async function measureFailover(ens: BenchEnsemble, kills: number, prefix: string): Promise<FailoverResult> {
  const times: number[] = [];
  let failedAttempts = 0;
  const parent = `${prefix}/failover-${process.pid}-${Date.now().toString(36)}`;
  for (let k = 0; k < kills; k++) {
    const leader = await ens.settled();
    const survivors = ens.members.filter((m) => m !== leader);
    if (k === 0) await createParents(leader, [prefix, parent]);
    await writeFirstAcknowledged(survivors, (i) => `${parent}/before-${k}-${i}`, 60_000);
    const t0 = now();
    await leader.stop('SIGKILL');
    const { attempts } = await writeFirstAcknowledged(survivors, (i) => `${parent}/after-${k}-${i}`, 120_000);
    times.push(now() - t0);
    failedAttempts += attempts - 1;
    await leader.spawn();
    await ens.settled();
  }
  return { times, failedAttempts };
}

async function createParents(server: ManagedServer, paths: string[]): Promise<void> {
  const c = await ZkClient.connect({ host: '127.0.0.1', port: server.port, connectTimeout: 10_000, timeout: 10_000 });
  try {
    for (const p of paths) {
      await c.create(p, null, OPEN_ACL, 0).catch((e: unknown) => {
        if (!(e instanceof KeeperError) || e.code !== ErrorCode.NODEEXISTS) throw e;
      });
    }
  } finally {
    await c.close().catch(() => c.disconnect());
  }
}

/** Creates `path(i)` on the servers in turn until one create is acknowledged; resolves with the attempts made. */
async function writeFirstAcknowledged(servers: ManagedServer[], path: (attempt: number) => string, timeoutMs: number): Promise<{ attempts: number }> {
  const deadline = now() + timeoutMs;
  let last = '';
  for (let attempt = 0; now() < deadline; attempt++) {
    const s = servers[attempt % servers.length]!;
    let c: ZkClient | undefined;
    try {
      c = await ZkClient.connect({ host: '127.0.0.1', port: s.port, connectTimeout: 1000, timeout: 10_000 });
      await c.create(path(attempt), null, OPEN_ACL, 0);
      return { attempts: attempt + 1 };
    } catch (e) {
      last = (e as Error).message;
      await new Promise((r) => setTimeout(r, 5));
    } finally {
      if (c) await c.close().catch(() => c!.disconnect());
    }
  }
  throw new Error(`no write acknowledged by ${servers.map((s) => s.tag).join(', ')} within ${timeoutMs} ms: ${last}`);
}
