/**
 * zkts embedded in a test suite (src/embed.ts), used as the README's vitest example uses it: a
 * standalone server in this process on a port of its own, and a 3-server ensemble of processes
 * whose leader is killed and restarted.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnsemble, startServer, ZkClient, type Ensemble } from '../../src/index.js';
import { DIST, skipWithout } from '../support/requirements.js';

/** A client of the server at `connectString`'s first (or `i`-th) host. */
function connect(connectString: string, i = 0): Promise<ZkClient> {
  const [host, port] = connectString.split(',')[i]!.split(':') as [string, string];
  return ZkClient.connect({ host, port: Number(port) });
}

describe('startServer: a standalone server in this process', () => {
  it('two servers started at once get ports of their own and separate data', async () => {
    const [a, b] = await Promise.all([startServer(), startServer()]);
    try {
      expect(a.port).toBeGreaterThan(0);
      expect(a.port).not.toBe(b.port);
      expect(a.connectString).toBe(`127.0.0.1:${a.port}`);
      const ca = await connect(a.connectString);
      const cb = await connect(b.connectString);
      await ca.create('/only-on-a', Buffer.from('a'));
      expect((await ca.getData('/only-on-a')).data?.toString()).toBe('a');
      expect(await cb.exists('/only-on-a')).toBeNull();
      await Promise.all([ca.close(), cb.close()]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('stop() removes the temp dataDir; a dataDir given is kept, and a restart recovers it', async () => {
    const temp = await startServer();
    await temp.stop();
    expect(existsSync(temp.dataDir)).toBe(false);

    const dataDir = mkdtempSync(join(tmpdir(), 'zkts-embed-test-'));
    try {
      const first = await startServer({ dataDir, config: { '4lw.commands.whitelist': '*' } });
      const c = await connect(first.connectString);
      await c.create('/kept', Buffer.from('v1'));
      await c.close();
      await first.stop();
      const second = await startServer({ dataDir });
      const c2 = await connect(second.connectString);
      expect((await c2.getData('/kept')).data?.toString()).toBe('v1');
      await c2.close();
      await second.stop();
      expect(existsSync(join(dataDir, 'version-2'))).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a bad setting is an error naming it, not a crash, and leaves no temp dir behind', async () => {
    // A temp dir of our own for the temp dataDirs (os.tmpdir() reads TMPDIR), to see that none is left.
    const scratch = mkdtempSync(join(tmpdir(), 'zkts-embed-test-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    try {
      await expect(startServer({ config: { tickTime: 'soon' } })).rejects.toThrowError(/tickTime must be an integer/);
      await expect(startServer({ config: { 'a\nb': 1 } })).rejects.toThrowError(/line break/);
      expect(readdirSync(scratch)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skipWithout(DIST))('startEnsemble: three server processes', () => {
  let ens: Ensemble;

  beforeAll(async () => {
    ens = await startEnsemble({ servers: 3 });
  }, 120_000);

  afterAll(async () => {
    await ens?.stop();
  }, 60_000);

  it('serves one tree through every server, on distinct ports', async () => {
    expect(ens.servers.map((s) => s.id)).toEqual([1, 2, 3]);
    expect(new Set(ens.servers.map((s) => s.port)).size).toBe(3);
    expect(ens.connectString.split(',')).toHaveLength(3);
    const modes = await Promise.all(ens.servers.map((s) => s.mode()));
    expect(modes.filter((m) => m === 'leader')).toHaveLength(1);
    expect(modes.filter((m) => m === 'follower')).toHaveLength(2);
    const c1 = await connect(ens.connectString, 0);
    const c3 = await connect(ens.connectString, 2);
    await c1.create('/shared', Buffer.from('x'));
    await c3.sync('/shared');
    expect((await c3.getData('/shared')).data?.toString()).toBe('x');
    await Promise.all([c1.close(), c3.close()]);
  }, 60_000);

  it('kill(leader) is a kill -9: the others elect a new leader; restart(id) brings it back with the data', async () => {
    const leader = await ens.settled();
    const pid = ens.servers[leader - 1]!.pid!;
    await ens.kill(leader);
    expect(ens.servers[leader - 1]!.running).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(); // the process is gone
    const newLeader = await ens.settled();
    expect(newLeader).not.toBe(leader);
    const other = ens.servers.findIndex((s) => s.running);
    const c = await connect(ens.connectString, other);
    await c.create('/after-kill', Buffer.from('y'));
    await c.close();

    await ens.restart(leader);
    expect(ens.servers[leader - 1]!.running).toBe(true);
    expect(await ens.servers[leader - 1]!.mode()).toBe('follower');
    const back = await connect(ens.connectString, leader - 1);
    await back.sync('/');
    expect((await back.getData('/after-kill')).data?.toString()).toBe('y');
    expect((await back.getData('/shared')).data?.toString()).toBe('x');
    await back.close();
  }, 120_000);

  it('stop() ends every process and removes the temp dir', async () => {
    const small = await startEnsemble({ servers: 1 });
    const pid = small.servers[0]!.pid!;
    const dir = join(small.servers[0]!.dataDir, '..', '..');
    await small.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(dir)).toBe(false);
  }, 60_000);
});
