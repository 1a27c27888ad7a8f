/**
 * mntr on ensemble members: the rows a leader and a follower add (peer state, quorum size,
 * elections, the leader's learners and proposals, a follower's received proposals and commits)
 * carry ZooKeeper 3.8's names, and their values are what happened. Each ensemble mixes zkts with
 * Apache ZooKeeper so that the same rows of a real ZooKeeper in the same role are at hand.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEnsemble, type Ensemble, type Member } from '../support/ensemble.js';
import { DIST, skipWithout, ZOOKEEPER } from '../support/requirements.js';
import { fourLetter } from '../support/servers.js';
import { OPEN_ACL } from '../zab/helpers.js';
import { RawClient } from '../zab/raw-client.js';

const skip = skipWithout(DIST) || skipWithout(ZOOKEEPER);

let ensemble: Ensemble | undefined;
afterEach(async () => {
  await ensemble?.stop();
  ensemble = undefined;
});

async function mntr(m: Member): Promise<Map<string, string>> {
  const text = await fourLetter(m.clientPort, 'mntr');
  return new Map(text.trim().split('\n').map((line) => line.split('\t') as [string, string]));
}

/** The rows only ensemble members show (standalone servers have none of them). */
const ENSEMBLE_ROW = /^zk_(peer_state|quorum_size|looking_count|(avg|min|max|cnt|sum)_election_time|learners|synced_|pending_syncs|leader_uptime|proposal_count|(last|min|max)_proposal_size|learner_)/;

/** Writes through every member, so that proposals and commits flow to all. */
async function writeEverywhere(members: Member[], perServer: number): Promise<void> {
  for (const m of members) {
    const c = await RawClient.connect(m.clientPort, 20_000).catch((e: Error) => {
      throw new Error(`${m.kind} ${m.sid} (running: ${m.running()}): ${e.message}\n${m.output().slice(-3000)}`);
    });
    for (let i = 0; i < perServer; i++) expect((await c.create(`/s${m.sid}-${i}`, Buffer.alloc(10 * (i + 1)), OPEN_ACL, 0)).err).toBe(0);
    await c.close();
  }
}

describe('mntr on an ensemble', () => {
  it.skipIf(skip)('a zkts leader and follower show ZooKeeper\'s ensemble rows, with the figures of what happened', async () => {
    // zkts leads (highest sid), one zkts and one ZooKeeper follow.
    ensemble = await startEnsemble(['zookeeper', 'zkts', 'zkts']);
    const leader = await ensemble.settled();
    expect(leader.kind).toBe('zkts');
    const [zkFollower, zktsFollower] = ensemble.members;
    await writeEverywhere(ensemble.members, 5);

    const lead = await mntr(leader);
    expect(lead.get('zk_server_state')).toBe('leader');
    expect(lead.get('zk_peer_state')).toBe('leading - broadcast');
    expect(lead.get('zk_quorum_size')).toBe('3');
    expect(lead.get('zk_learners')).toBe('2');
    expect(lead.get('zk_synced_followers')).toBe('2');
    expect(lead.get('zk_pending_syncs')).toBe('0');
    // 15 creates, and a createSession and a closeSession for each of the 3 clients.
    expect(Number(lead.get('zk_proposal_count'))).toBe(21);
    expect(Number(lead.get('zk_min_proposal_size'))).toBeGreaterThan(0);
    expect(Number(lead.get('zk_max_proposal_size'))).toBeGreaterThan(Number(lead.get('zk_min_proposal_size')) + 40); // 50 vs 10 byte values
    expect(Number(lead.get('zk_cnt_election_time'))).toBeGreaterThanOrEqual(1);
    expect(Number(lead.get('zk_looking_count'))).toBe(Number(lead.get('zk_cnt_election_time')));

    const follow = await mntr(zktsFollower!);
    expect(follow.get('zk_server_state')).toBe('follower');
    expect(follow.get('zk_peer_state')).toBe('following - broadcast');
    expect(follow.get('zk_learners'), 'leader-only rows stay on the leader').toBeUndefined();
    expect(Number(follow.get('zk_learner_proposal_received_count'))).toBe(21);
    expect(Number(follow.get('zk_learner_commit_received_count'))).toBe(21);

    // Every ensemble row zkts prints for a follower, a real ZooKeeper follower prints too; and it
    // counts the same proposals and commits.
    const zk = await mntr(zkFollower!);
    const followerRows = [...follow.keys()].filter((k) => ENSEMBLE_ROW.test(k));
    expect(followerRows.length).toBeGreaterThan(5);
    expect(followerRows.filter((k) => !zk.has(k))).toEqual([]);
    expect(zk.get('zk_learner_proposal_received_count')).toBe('21');
    expect(zk.get('zk_learner_commit_received_count')).toBe('21');
  }, 120_000);

  it.skipIf(skip)('the leader rows zkts prints are the ones a ZooKeeper leader prints', async () => {
    // ZooKeeper leads (highest sid), two zkts follow.
    ensemble = await startEnsemble(['zkts', 'zkts', 'zookeeper']);
    const zkLeader = await ensemble.settled();
    expect(zkLeader.kind).toBe('zookeeper');
    await writeEverywhere(ensemble.members, 2);
    const zk = await mntr(zkLeader);
    // Kill the ZooKeeper leader: zkts server 2 takes over and must show what ZooKeeper showed.
    await zkLeader.kill('SIGKILL');
    const leader = await ensemble.settled();
    expect(leader.kind).toBe('zkts');
    const lead = await mntr(leader);
    const leaderRows = [...lead.keys()].filter((k) => ENSEMBLE_ROW.test(k));
    expect(leaderRows.filter((k) => !zk.has(k))).toEqual([]);
    for (const k of ['zk_learners', 'zk_synced_followers', 'zk_pending_syncs', 'zk_proposal_count', 'zk_last_proposal_size', 'zk_peer_state', 'zk_quorum_size']) {
      expect(lead.has(k), k).toBe(true);
    }
    expect(lead.get('zk_learners')).toBe('1');
    expect(lead.get('zk_quorum_size')).toBe(zk.get('zk_quorum_size'));
    expect(lead.get('zk_last_proposal_size')).toBe('-1'); // nothing proposed since it leads
  }, 120_000);
});
