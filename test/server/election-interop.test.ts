/**
 * zkts's election peer in one ensemble with Apache ZooKeeper 3.8.0 servers (Debian's package): the
 * same votes, rounds and epochs on the wire. zkts runs the election only (no ZAB yet), so it never
 * joins the quorum port; the ZooKeeper servers form their quorum among themselves.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerState, type Notification, type QuorumConfig } from '../../src/jute/election.js';
import { ElectionRunner } from '../../src/server/election-runner.js';
import { ZOOKEEPER, skipWithout } from '../support/requirements.js';
import { freePort } from '../support/servers.js';
import { startEnsembleZk, waitForModes, type EnsembleZk } from './zk-ensemble.js';

async function ensemble(): Promise<QuorumConfig> {
  const members = [];
  for (const sid of [1, 2, 3]) {
    members.push({ sid, role: 'participant' as const, addresses: [{ host: '127.0.0.1', quorumPort: await freePort(), electionPort: await freePort() }] });
  }
  return { members, version: 0 };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function zookeepers(sids: number[], cfg: QuorumConfig): Promise<EnsembleZk[]> {
  const zks: EnsembleZk[] = [];
  for (const sid of sids) {
    const zk = startEnsembleZk(sid, cfg, await freePort());
    cleanup.push(() => zk.stop());
    zks.push(zk);
  }
  return zks;
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function zktsPeer(sid: number, cfg: QuorumConfig, received: { from: number; n: Notification }[]): ElectionRunner {
  const r = new ElectionRunner({ myId: sid, config: cfg, onNotification: (from, n) => received.push({ from, n }) });
  cleanup.push(() => r.stop());
  return r;
}

describe.skipIf(skipWithout(ZOOKEEPER))('election with Apache ZooKeeper 3.8.0 (1 zkts + 2 ZooKeeper)', () => {
  it('A: all start together: ZooKeeper elects 3 among itself and zkts (sid 1) follows 3 in the same round and epoch', async () => {
    const cfg = await ensemble();
    const received: { from: number; n: Notification }[] = [];
    const zkts = zktsPeer(1, cfg, received);
    await zkts.listen();
    const decided = zkts.elect(0, 0);
    // JVMs start at their own pace; with sid 2 first, zkts and 2 would elect 2 before 3 is up (a valid
    // outcome, not the one under test). So 3 joins our round first, then 2.
    const [zk3] = await zookeepers([3], cfg);
    await until(() => received.some((r) => r.from === 3), 60_000);
    const [zk2] = await zookeepers([2], cfg);
    const zks = [zk2!, zk3!];
    const decision = (await decided)!;
    expect(decision).toMatchObject({ state: PeerState.FOLLOWING, leader: 3 });
    expect(await waitForModes(zks, 60_000)).toEqual(['follower', 'leader']);
    // The votes ZooKeeper sent in the deciding round carry exactly our decision's round and epoch.
    const lastVote = (sid: number) => received.filter((r) => r.from === sid && r.n.state === PeerState.LOOKING).at(-1)?.n;
    for (const sid of [2, 3]) {
      expect(lastVote(sid)).toMatchObject({ leader: 3, zxid: decision.zxid, electionEpoch: decision.electionEpoch, peerEpoch: decision.peerEpoch, version: 2 });
    }
    expect(lastVote(3)!.config).toContain('server.1=127.0.0.1:');
  }, 120_000);

  it('B: zkts (sid 1) started after the ZooKeeper pair established learns the leader out of election', async () => {
    const cfg = await ensemble();
    const zks = await zookeepers([2, 3], cfg);
    expect(await waitForModes(zks, 60_000)).toEqual(['follower', 'leader']);
    const received: { from: number; n: Notification }[] = [];
    const zkts = zktsPeer(1, cfg, received);
    await zkts.listen();
    // Their queued round-1 LOOKING votes reach us first (QuorumCnxManager sends the last message again
    // on connecting), so this first decision may come from those: leader 3 either way.
    expect(await zkts.elect(0, 0)).toMatchObject({ state: PeerState.FOLLOWING, leader: 3, electionEpoch: 1 });
    // Looking again (as after failing to reach the leader) puts us in round 2, ahead of theirs: only
    // their FOLLOWING/LEADING answers, kept out of election, can tell us the leader now.
    received.length = 0;
    const decision = (await zkts.elect(0, 0))!;
    expect(decision).toEqual({ state: PeerState.FOLLOWING, leader: 3, zxid: 0, electionEpoch: 1, peerEpoch: 1 });
    expect(zkts.core.round).toBe(1);
    const answers = received.filter((r) => r.n.state !== PeerState.LOOKING);
    expect(answers.find((r) => r.from === 3)?.n).toMatchObject({ state: PeerState.LEADING, leader: 3, electionEpoch: 1, peerEpoch: 1 });
    expect(answers.find((r) => r.from === 2)?.n).toMatchObject({ state: PeerState.FOLLOWING, leader: 3, electionEpoch: 1, peerEpoch: 1 });
    // They still lead and follow.
    expect(await waitForModes(zks, 10_000)).toEqual(['follower', 'leader']);
  }, 120_000);

  it('C: zkts as sid 3 holds the best vote: zkts decides LEADING and both ZooKeeper servers follow it', async () => {
    const cfg = await ensemble();
    const received: { from: number; n: Notification }[] = [];
    const zkts = zktsPeer(3, cfg, received);
    await zkts.listen();
    // Something must accept on sid 3's quorum port, or the followers give up within ~0.5 s and elect
    // among themselves before the second JVM is up. This stub reads each learner's first packet:
    // FOLLOWERINFO (type 11) whose LearnerInfo starts with the learner's sid.
    const followerInfo = new Map<number, number>();
    const quorumPort3 = cfg.members[2]!.addresses[0]!.quorumPort;
    const stub = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('error', () => {});
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 24) followerInfo.set(Number(buf.readBigInt64BE(16)), buf.readInt32BE(0));
      });
    });
    await new Promise<void>((r) => stub.listen(quorumPort3, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => stub.close(() => r())));
    const decided = zkts.elect(0, 0);
    const [zk2] = await zookeepers([2], cfg);
    await until(() => received.some((r) => r.from === 2), 60_000);
    const [zk1] = await zookeepers([1], cfg);
    expect(await decided).toMatchObject({ state: PeerState.LEADING, leader: 3, electionEpoch: 1, peerEpoch: 0 });
    // 2 voted for us in our round; then both ZooKeeper servers follow sid 3 and introduce themselves.
    expect(received.some((r) => r.from === 2 && r.n.state === PeerState.LOOKING && r.n.leader === 3 && r.n.electionEpoch === 1)).toBe(true);
    await until(() => followerInfo.size === 2, 60_000).catch((e) => {
      console.log(zk1!.output(), '=========', zk2!.output());
      throw e;
    });
    expect([...followerInfo.entries()].sort()).toEqual([
      [1, 11],
      [2, 11],
    ]);
    console.log(`zkts (sid 3) received:\n${received.map((r) => `  from ${r.from}: ${PeerState[r.n.state]} leader ${r.n.leader} round ${r.n.electionEpoch} peerEpoch ${r.n.peerEpoch}`).join('\n')}`);
  }, 120_000);
});
