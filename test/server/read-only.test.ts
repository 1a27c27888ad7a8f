/**
 * Read-only mode (readonlymode.enabled), differentially: the same scenario on a 3-server zkts
 * ensemble and on an Apache ZooKeeper 3.8.0 one. Two servers are killed; the survivor, cut off from
 * its quorum, goes read-only: it answers readOnly clients from its last state, refuses their writes
 * with NOTREADONLY, closes clients that did not ask for read-only, and says so in isro, srvr and
 * mntr. When the others come back it joins the quorum, closes its read-only clients, and serves
 * read-write again.
 *
 * One difference is deliberate (see docs/read-only-mode.md): a session created while the quorum was
 * up may re-attach read-only to zkts, where ZooKeeper 3.7+ refuses it (ZOOKEEPER-3863), and keeps
 * working once the quorum is back. ZooKeeper is given localSessionsEnabled=true: without it, 3.8
 * cannot create any session in read-only mode (and localSessionsUpgradingEnabled=true, for the
 * ephemeral that makes a session global).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEnsemble, type Ensemble, type Kind, type Member } from '../support/ensemble.js';
import { DIST, skipWithout, ZOOKEEPER } from '../support/requirements.js';
import { fourLetter } from '../support/servers.js';
import { OPEN_ACL } from '../zab/helpers.js';
import { RawClient } from '../zab/raw-client.js';

const NOTREADONLY = -119;
const EPHEMERAL = 1;

let ensemble: Ensemble | undefined;
afterEach(async () => {
  await ensemble?.stop();
  ensemble = undefined;
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const srvrMode = async (m: Member) => /^Mode: (\S+)/m.exec(await fourLetter(m.clientPort, 'srvr'))?.[1];
const mntrState = async (m: Member) => /^zk_server_state\t(\S+)/m.exec(await fourLetter(m.clientPort, 'mntr'))?.[1];

describe.each<Kind>(['zkts', 'zookeeper'])('read-only mode on %s', (kind) => {
  it.skipIf(skipWithout(DIST, ...(kind === 'zookeeper' ? [ZOOKEEPER] : [])))(
    'a server cut off from its quorum serves readOnly clients, refuses writes and others, and goes back to read-write',
    async () => {
      ensemble = await startEnsemble([kind, kind, kind], {
        tickTime: 1000,
        systemProperties: ['readonlymode.enabled=true'],
        zookeeperCfg: ['localSessionsEnabled=true', 'localSessionsUpgradingEnabled=true'],
      });
      await ensemble.settled(60_000);
      const [survivor, a, b] = ensemble.members as [Member, Member, Member];
      expect(await fourLetter(survivor.clientPort, 'isro')).toBe('rw');

      // State written through the quorum, and a global session (its ephemeral makes it global on ZooKeeper too).
      const writer = await RawClient.connect(survivor.clientPort, 20_000);
      expect((await writer.create('/ro', Buffer.from('before'), OPEN_ACL, 0)).err).toBe(0);
      expect((await writer.create('/ro/eph', null, OPEN_ACL, EPHEMERAL)).err).toBe(0);
      expect(await writer.sync('/')).toBe(0);
      const global = { id: writer.sessionId, passwd: writer.passwd };
      writer.drop();

      await Promise.all([a.kill(), b.kill()]);
      await until('read-only mode', async () => ((await srvrMode(survivor)) === 'read-only' ? true : undefined));
      expect(await fourLetter(survivor.clientPort, 'isro')).toBe('ro');
      expect(await mntrState(survivor)).toBe('read-only');

      // A readOnly client: reads from the last state, writes and syncs refused.
      const ro = await RawClient.connect(survivor.clientPort, 20_000, undefined, { readOnly: true });
      expect(ro.readOnly).toBe(true);
      const got = await ro.getData('/ro');
      expect(got.err).toBe(0);
      expect(got.data?.toString()).toBe('before');
      expect((await ro.getChildren('/ro')).children).toEqual(['eph']);
      expect((await ro.create('/ro/new', null, OPEN_ACL, 0)).err).toBe(NOTREADONLY);
      expect(await ro.setData('/ro', Buffer.from('during'))).toBe(NOTREADONLY);
      expect(await ro.delete('/ro/eph')).toBe(NOTREADONLY);
      expect(await ro.sync('/')).toBe(NOTREADONLY);
      expect((await ro.getData('/ro')).data?.toString()).toBe('before');

      // A client that did not ask for read-only is closed without a session.
      await expect(RawClient.connect(survivor.clientPort, 20_000)).rejects.toThrow(/closed during the handshake/);

      // The global session re-attaching read-only: zkts lets it read; ZooKeeper 3.8 closes it.
      const reattach = RawClient.connect(survivor.clientPort, 20_000, global, { readOnly: true });
      if (kind === 'zkts') {
        const g = await reattach;
        expect(g.readOnly).toBe(true);
        expect((await g.getChildren('/ro')).children).toEqual(['eph']);
        g.drop();
      } else {
        await expect(reattach).rejects.toThrow(/closed during the handshake/);
      }

      a.start();
      b.start();
      await ensemble.settled(90_000);
      // Joining the quorum ended read-only mode: its clients were closed, to find a read-write server.
      await until('the read-only client closed', async () => (ro.isClosed ? true : undefined));
      expect(await fourLetter(survivor.clientPort, 'isro')).toBe('rw');
      expect(await srvrMode(survivor)).toMatch(/^(leader|follower)$/);

      const rw = await RawClient.connect(survivor.clientPort, 20_000, undefined, { readOnly: true });
      expect(rw.readOnly).toBe(false);
      expect((await rw.create('/ro/after', null, OPEN_ACL, 0)).err).toBe(0);
      rw.drop();

      // The global session outlived read-only mode (the new leader gave it a fresh timeout), ephemeral included.
      const back = await RawClient.connect(survivor.clientPort, 20_000, global);
      expect((await back.getChildren('/ro')).children?.sort()).toEqual(['after', 'eph']);
      await back.close();
    },
    240_000,
  );

  it.skipIf(skipWithout(DIST, ...(kind === 'zookeeper' ? [ZOOKEEPER] : [])))(
    'without readonlymode.enabled a server cut off from its quorum serves nobody, and isro answers null',
    async () => {
      ensemble = await startEnsemble([kind, kind, kind], { tickTime: 1000 });
      await ensemble.settled(60_000);
      const [survivor, a, b] = ensemble.members as [Member, Member, Member];
      await Promise.all([a.kill(), b.kill()]);
      await until('the survivor to stop serving', async () => ((await fourLetter(survivor.clientPort, 'isro')) === 'null' ? true : undefined));
      // Well past ZooKeeper's read-only delay (max(2 s, tickTime)): still looking, not read-only.
      await new Promise((r) => setTimeout(r, 4000));
      expect(await fourLetter(survivor.clientPort, 'isro')).toBe('null');
      expect(await fourLetter(survivor.clientPort, 'srvr')).toBe('This ZooKeeper instance is not currently serving requests\n');
    },
    120_000,
  );
});
