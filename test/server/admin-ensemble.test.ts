/**
 * The admin server in an ensemble, beside Apache ZooKeeper 3.8.0 in the same ensemble: a ZooKeeper
 * follower and a zkts follower of the same zkts leader answer leader, voting_view and zabstate
 * alike (zabstate less the socket addresses zkts leaves out), and the leader says it leads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { startEnsemble, type Ensemble, type Member } from '../support/ensemble.js';
import { JETTY, httpGet } from '../support/operability.js';
import { DIST, JAVA, ZOOKEEPER, skipWithout } from '../support/requirements.js';

type Answer = Record<string, unknown>;

describe.skipIf(skipWithout(DIST, JAVA, ZOOKEEPER, JETTY))('admin server in an ensemble with ZooKeeper', () => {
  let ensemble: Ensemble;
  let zkFollower: Member;
  let zktsFollower: Member;
  let leader: Member;

  const ask = async (m: Member, command: string): Promise<Answer> => {
    const r = await httpGet(`http://127.0.0.1:${m.adminPort}/commands/${command}`);
    expect(r.status).toBe(200);
    return JSON.parse(r.body) as Answer;
  };

  beforeAll(async () => {
    // sid 3 starts first and leads: a zkts leader, a ZooKeeper and a zkts follower.
    ensemble = await startEnsemble(['zookeeper', 'zkts', 'zkts'], { admin: true, metrics: true });
    leader = await ensemble.settled(90_000);
    [zkFollower, zktsFollower] = ensemble.members;
  }, 120_000);

  afterAll(async () => {
    await ensemble?.stop();
  });

  it('the followers agree on leader and voting_view; the leader leads', async () => {
    expect(leader.kind).toBe('zkts');
    expect(await ask(zktsFollower, 'leader')).toEqual(await ask(zkFollower, 'leader'));
    // Each lists the ensemble; only its own entry has a client address (from clientPortAddress and clientPort).
    const view = async (m: Member) => {
      const v = (await ask(m, 'voting_view')).current_config as Record<string, Answer>;
      expect(v[String(m.sid)]!.client_address, `${m.kind} ${m.sid}`).toBe(`127.0.0.1:${m.clientPort}`);
      v[String(m.sid)]!.client_address = '(self)';
      return v;
    };
    expect(await view(zktsFollower)).toEqual(Object.fromEntries(Object.entries(await view(zkFollower)).map(([id, e]) => [id, { ...e, client_address: id === '2' ? '(self)' : '' }])));
    const lead = await ask(leader, 'leader');
    expect(lead).toMatchObject({ is_leader: true, leader_id: 3, error: null });
    expect((await ask(zkFollower, 'leader')).leader_id).toBe(3);
  });

  it('zabstate: the same keys and values, less the quorum and election addresses', async () => {
    const [theirs, ours] = [await ask(zkFollower, 'zabstate'), await ask(zktsFollower, 'zabstate')];
    const own = ['quorum_address', 'election_address', 'client_address', 'myid'];
    const drop = (a: Answer) => Object.fromEntries(Object.entries(a).filter(([k]) => !own.includes(k)));
    expect(drop(ours)).toEqual(drop(theirs));
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).filter((k) => k !== 'quorum_address' && k !== 'election_address').sort());
    expect(ours).toMatchObject({ myid: 2, client_address: `127.0.0.1:${zktsFollower.clientPort}` });
    expect(theirs).toMatchObject({ myid: 1, client_address: `127.0.0.1:${zkFollower.clientPort}` });
  });

  it('server_stats says follower, as srvr does', async () => {
    const [theirs, ours] = [await ask(zkFollower, 'server_stats'), await ask(zktsFollower, 'server_stats')];
    expect((ours.server_stats as Answer).server_state).toBe('follower');
    expect((theirs.server_stats as Answer).server_state).toBe('follower');
  });

  it('monitor: a follower has ZooKeeper follower keys; the leader counts its learners', async () => {
    const [theirs, ours] = [await ask(zkFollower, 'monitor'), await ask(zktsFollower, 'monitor')];
    expect(Object.keys(ours).filter((k) => !(k in theirs))).toEqual([]);
    for (const k of ['server_state', 'znode_count', 'global_sessions', 'synced_observers']) expect(ours[k], k).toBe(theirs[k]);
    const lead = await ask(leader, 'monitor');
    expect(lead).toMatchObject({ server_state: 'leader', learners: 2, synced_followers: 2, synced_non_voting_followers: 0, synced_observers: 0, pending_syncs: 0 });
  });

  it('Prometheus: quorum gauges, and a follower counts the reads it answers', async () => {
    const scrape = async (m: Member) => (await httpGet(`http://127.0.0.1:${m.metricsPort}/metrics`)).body;
    const sample = (text: string, name: string) => {
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const leaderPage = await scrape(leader);
    expect(sample(leaderPage, 'quorum_size')).toBe(3);
    expect(sample(leaderPage, 'learners')).toBe(2);
    expect(sample(leaderPage, 'synced_followers')).toBe(2);
    const before = sample(await scrape(zktsFollower), 'readlatency_count') ?? 0;
    const client = await ZkClient.connect({ port: zktsFollower.clientPort, timeout: 30_000 });
    try {
      for (let i = 0; i < 5; i++) await client.getData('/');
    } finally {
      await client.close();
    }
    const followerPage = await scrape(zktsFollower);
    expect(sample(followerPage, 'quorum_size')).toBe(3);
    // A follower has no learners: no sample, rather than an invented 0.
    expect(sample(followerPage, 'learners')).toBeUndefined();
    expect(sample(followerPage, 'readlatency_count')).toBe(before + 5);
  });
});
