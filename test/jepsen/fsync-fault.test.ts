/**
 * A zkts ensemble member whose transaction log fails (fdatasync EIO, injected by jepsen-lite's
 * fsync-fault preload) must stop, so that it can be restarted from its disk, and then rejoin with
 * everything committed. Found by jepsen-lite's fsync nemesis: the member used to stay up for ever,
 * neither serving nor electing (leaving its role waited for appends the failed log never acknowledges).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { Cluster } from '../../src/jepsen/cluster.js';
import { DIST, skipWithout } from '../support/requirements.js';

it.skipIf(skipWithout(DIST))('a follower whose fsync fails exits, and rejoins with every write after a restart', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-fsync-fault-'));
  const cluster = await Cluster.create({ kinds: ['zkts', 'zkts', 'zkts'], dir, tickTime: 500, initLimit: 10, syncLimit: 5 });
  try {
    await cluster.startAll();
    const leader = await cluster.settled(90_000);
    const faulty = cluster.sids.find((s) => s !== leader)!;
    const exited = new Promise<number | null>((resolve) => cluster.node(faulty).child!.once('exit', (code) => resolve(code)));
    cluster.setFsyncFault(faulty, 'fail');
    const c = await ZkClient.connect({ port: cluster.node(leader).clientPort });
    try {
      await c.create('/a', Buffer.from('1'));
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
      expect(code).toBe(1);
      cluster.setFsyncFault(faulty, '');
      cluster.start(faulty);
      await cluster.settled(90_000);
      await c.create('/b', Buffer.from('2'));
      const f = await ZkClient.connect({ port: cluster.node(faulty).clientPort });
      try {
        await f.sync('/');
        expect((await f.getData('/a')).data?.toString()).toBe('1');
        expect((await f.getData('/b')).data?.toString()).toBe('2');
      } finally {
        await f.close();
      }
    } finally {
      await c.close();
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
