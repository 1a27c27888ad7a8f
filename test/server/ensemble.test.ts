/**
 * Ensembles of real server processes on loopback (test/support/ensemble.ts): zkts alone, and zkts
 * mixed with Apache ZooKeeper 3.8.0 in one ensemble, speaking ZooKeeper's own election and quorum
 * protocols. Writes on any server are read on all, sessions move between servers with their
 * ephemerals, the leader is killed and another takes over, and nothing acknowledged is lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEnsemble, type Ensemble, type Kind, type Member } from '../support/ensemble.js';
import { DIST, skipWithout, ZOOKEEPER } from '../support/requirements.js';
import { OPEN_ACL } from '../zab/helpers.js';
import { dumpViaClient, RawClient } from '../zab/raw-client.js';

const noDist = skipWithout(DIST);
const noZookeeper = skipWithout(ZOOKEEPER);

let ensemble: Ensemble | undefined;
afterEach(async () => {
  await ensemble?.stop();
  ensemble = undefined;
});

const clientsOf = (members: Member[]) => Promise.all(members.map((m) => RawClient.connect(m.clientPort, 20_000)));

/** Every server's tree, read after a sync, must be the same: paths, data, ACLs and every Stat field. */
async function expectSameTrees(members: Member[]): Promise<number> {
  const dumps: Map<string, unknown>[] = [];
  for (const m of members) {
    const c = await RawClient.connect(m.clientPort, 20_000);
    expect(await c.sync('/')).toBe(0);
    const dump = await dumpViaClient(c);
    // The config node carries each server's own view of the ensemble: not replicated data.
    dump.delete('/zookeeper/config');
    dumps.push(dump);
    await c.close();
  }
  const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v);
  for (let i = 1; i < dumps.length; i++) {
    const diffs = [...dumps[0]!.keys(), ...[...dumps[i]!.keys()].filter((k) => !dumps[0]!.has(k))]
      .filter((k) => JSON.stringify(dumps[0]!.get(k), big) !== JSON.stringify(dumps[i]!.get(k), big))
      .map((k) => `${k}: ${members[0]!.kind} ${JSON.stringify(dumps[0]!.get(k), big)} / ${members[i]!.kind} ${JSON.stringify(dumps[i]!.get(k), big)}`);
    expect(diffs, `server ${members[i]!.sid} differs from server ${members[0]!.sid}`).toEqual([]);
  }
  return dumps[0]!.size;
}

// With equal data the highest sid leads: server 3 first leads, then one of the other two.
const MIXES: Kind[][] = [
  ['zkts', 'zkts', 'zkts'],
  ['zkts', 'zookeeper', 'zookeeper'], // ZooKeeper leads zkts
  ['zkts', 'zkts', 'zookeeper'],
  ['zookeeper', 'zookeeper', 'zkts'], // zkts leads ZooKeeper
  ['zookeeper', 'zkts', 'zkts'],
];

describe.each(MIXES.map((kinds) => [kinds.join('+'), kinds] as const))('ensemble of %s', (_name, kinds) => {
  it.skipIf(noDist || (kinds.includes('zookeeper') && noZookeeper))('replicates writes from every server, moves sessions, fails over, and rejoins', async () => {
    ensemble = await startEnsemble(kinds);
    const { members } = ensemble;
    const leader = await ensemble.settled();
    expect(leader.sid).toBe(3);
    const clients = await clientsOf(members);
    // Writes through every server, read back on all of them.
    for (let i = 0; i < 30; i++) expect((await clients[i % 3]!.create(`/n${i}`, Buffer.from(`v${i}`), OPEN_ACL, 0)).err, `create /n${i} on ${members[i % 3]!.kind}`).toBe(0);
    for (const c of clients) {
      expect(await c.sync('/')).toBe(0);
      expect((await c.getChildren('/')).children?.filter((n) => n.startsWith('n')).length).toBe(30);
      expect((await c.getData('/n29')).data?.toString()).toBe('v29');
    }
    // A session with its ephemeral moves from server to server (of the other kind, when mixed): to a
    // follower (which revalidates it with the leader), then to the leader. Each time, the connection
    // it left is closed at its next write (SESSIONMOVED), as ZooKeeper does.
    const from = clients[0]!;
    expect((await from.create('/eph', Buffer.from('e'), OPEN_ACL, 1)).err).toBe(0);
    const session = { id: from.sessionId, passwd: from.passwd };
    const onFollower = await RawClient.connect(members[1]!.clientPort, 20_000, session);
    expect(onFollower.sessionId).toBe(session.id);
    expect(await from.setData('/n1', Buffer.from('stale')), 'the connection the session left is closed').toBe(-4);
    const moved = await RawClient.connect(members[2]!.clientPort, 20_000, session);
    expect(await onFollower.setData('/n1', Buffer.from('stale')), 'and again').toBe(-4);
    expect((await moved.getData('/eph')).stat?.ephemeralOwner).toBe(session.id);
    expect(await moved.setData('/n0', Buffer.from('moved'))).toBe(0);
    expect((await moved.getData('/n1')).data?.toString(), 'no write of a moved session got through').toBe('v1');
    await moved.close();
    for (const c of clients.slice(1)) {
      expect(await c.sync('/')).toBe(0);
      expect((await c.getData('/eph')).err, 'the ephemeral goes with its session').toBe(-101);
    }
    expect(await expectSameTrees(members)).toBeGreaterThan(30);

    // The leader dies; a server of another kind may take over; every acknowledged write stays.
    await leader.kill('SIGKILL');
    const survivors = members.filter((m) => m !== leader);
    const next = await ensemble.settled();
    expect(next).not.toBe(leader);
    const c = await RawClient.connect(survivors[0]!.clientPort, 20_000);
    expect((await c.create('/after-failover', null, OPEN_ACL, 0)).err).toBe(0);
    await c.close();
    leader.start();
    await ensemble.settled();
    const nodes = await expectSameTrees(members);
    for (const cl of clients.slice(1)) cl.drop();
    console.log(`${kinds.join('+')}: leader ${leader.kind} ${leader.sid} killed, ${next.kind} ${next.sid} took over, ${nodes} znodes identical on all three`);
  }, 120_000);
});
