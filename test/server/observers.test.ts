/**
 * Observers (server.N=...:observer, peerType=observer), in mixed ensembles: a zkts observer in an
 * Apache ZooKeeper 3.8.0 ensemble, a ZooKeeper observer in a zkts ensemble, and zkts throughout.
 * The observer (sid 1) learns the leader without voting (OBSERVERINFO, then INFORMs), serves reads,
 * forwards writes and session creation to the leader; a write through it is read on every member,
 * and a write elsewhere is read on it. It counts in no quorum: with two of the three participants
 * gone, the third does not serve although the observer is up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEnsemble, type Ensemble, type Kind, type Member } from '../support/ensemble.js';
import { DIST, skipWithout, ZOOKEEPER } from '../support/requirements.js';
import { httpGet } from '../support/operability.js';
import { fourLetter } from '../support/servers.js';
import { OPEN_ACL } from '../zab/helpers.js';
import { RawClient } from '../zab/raw-client.js';

let ensemble: Ensemble | undefined;
afterEach(async () => {
  await ensemble?.stop();
  ensemble = undefined;
});

const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests\n';
const srvrMode = async (m: Member) => /^Mode: (\S+)/m.exec(await fourLetter(m.clientPort, 'srvr'))?.[1];

/** The data of `path` as `m` has it once it caught up with the leader (sync first). */
async function readAt(m: Member, path: string): Promise<string | undefined> {
  const c = await RawClient.connect(m.clientPort, 20_000);
  try {
    expect(await c.sync(path)).toBe(0);
    const r = await c.getData(path);
    return r.err === 0 ? (r.data?.toString() ?? '') : `err ${r.err}`;
  } finally {
    await c.close();
  }
}

const cases: [string, Kind, Kind][] = [
  ['a zkts observer in an Apache ZooKeeper ensemble', 'zkts', 'zookeeper'],
  ['an Apache ZooKeeper observer in a zkts ensemble', 'zookeeper', 'zkts'],
  ['a zkts observer in a zkts ensemble', 'zkts', 'zkts'],
];

describe.each(cases)('%s', (_name, observerKind, participantKind) => {
  const needsZk = observerKind === 'zookeeper' || participantKind === 'zookeeper';
  it.skipIf(skipWithout(DIST, ...(needsZk ? [ZOOKEEPER] : [])))(
    'the observer serves reads, forwards writes, sees every write, and never votes',
    async () => {
      // The admin server on the all-zkts ensemble (ZooKeeper's needs Jetty jars it is tested with elsewhere).
      const admin = observerKind === 'zkts' && participantKind === 'zkts';
      ensemble = await startEnsemble([observerKind, participantKind, participantKind, participantKind], {
        tickTime: 1000,
        admin,
        roles: ['observer', 'participant', 'participant', 'participant'],
      });
      const leader = await ensemble.settled(90_000);
      const [observer, ...participants] = ensemble.members as [Member, Member, Member, Member];
      expect(leader.sid).not.toBe(1);
      expect(await srvrMode(observer)).toBe('observer');

      // A write (and the session that makes it) through the observer, read on every member.
      const viaObserver = await RawClient.connect(observer.clientPort, 20_000);
      expect((await viaObserver.create('/through-observer', Buffer.from('o'), OPEN_ACL, 0)).err).toBe(0);
      expect((await viaObserver.create('/through-observer/eph', null, OPEN_ACL, 1)).err).toBe(0);
      for (const m of ensemble.members) expect(await readAt(m, '/through-observer')).toBe('o');

      // A write at the leader reaches the observer (INFORM).
      const atLeader = await RawClient.connect(leader.clientPort, 20_000);
      expect((await atLeader.create('/at-leader', Buffer.from('l'), OPEN_ACL, 0)).err).toBe(0);
      await atLeader.close();
      expect(await readAt(observer, '/at-leader')).toBe('l');
      // The observer's session is known to the leader: its ephemeral is there, and goes with the session.
      const seer = await RawClient.connect(leader.clientPort, 20_000);
      expect((await seer.getChildren('/through-observer')).children).toEqual(['eph']);
      await seer.close();
      await viaObserver.close();
      expect(await readAt(leader, '/through-observer/eph')).toBe('err -101');

      const mntr = await fourLetter(leader.clientPort, 'mntr');
      expect(/^zk_synced_observers\t(\d+)/m.exec(mntr)?.[1]).toBe('1');
      if (admin) {
        const ask = async (m: Member, command: string) => JSON.parse((await httpGet(`http://127.0.0.1:${m.adminPort}/commands/${command}`)).body) as Record<string, unknown>;
        expect(await ask(leader, 'observers')).toMatchObject({ synced_observers: 1, observers: [{ sid: 1 }] });
        expect(await ask(observer, 'zabstate')).toMatchObject({ voting: false, is_leader: false });
        expect(await ask(leader, 'zabstate')).toMatchObject({ voting: true, is_leader: true });
      }

      // No vote: two participants gone, the third and the observer (2 of 4 servers) do not serve.
      const [first, ...others] = participants.filter((m) => m !== leader).concat([leader]);
      await Promise.all(others.map((m) => m.kill()));
      const deadline = Date.now() + 30_000;
      while ((await fourLetter(first!.clientPort, 'srvr').catch(() => '')) !== NOT_SERVING && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 3000));
      expect(await fourLetter(first!.clientPort, 'srvr')).toBe(NOT_SERVING);
      expect(await fourLetter(observer.clientPort, 'srvr')).toBe(NOT_SERVING);
    },
    240_000,
  );
});
