import { createConnection, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PeerState,
  decodeElectionFrame,
  decodeInitialMessage,
  decodeNotification,
  encodeElectionFrame,
  encodeInitialMessage,
  encodeNotification,
  type QuorumConfig,
} from '../../src/jute/election.js';
import { ElectionRunner } from '../../src/server/election-runner.js';
import { freePort } from '../support/servers.js';

async function ensemble(n: number): Promise<QuorumConfig> {
  const members = [];
  for (let sid = 1; sid <= n; sid++) {
    members.push({ sid, role: 'participant' as const, addresses: [{ host: '127.0.0.1', quorumPort: await freePort(), electionPort: await freePort() }] });
  }
  return { members, version: 0 };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function runner(myId: number, config: QuorumConfig): ElectionRunner {
  const r = new ElectionRunner({ myId, config });
  cleanup.push(() => r.stop());
  return r;
}

/** Collects bytes from a socket until `take` finds what it wants. */
function reader(sock: Socket) {
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  return async function take<T>(parse: (b: Buffer) => { value: T; used: number } | null): Promise<T> {
    for (;;) {
      const r = parse(buf);
      if (r) {
        buf = buf.subarray(r.used);
        return r.value;
      }
      await new Promise<void>((res) => (wake = res));
    }
  };
}

describe('election over TCP (zkts peers only)', () => {
  it('3 runners elect sid 3 and agree on the round', async () => {
    const cfg = await ensemble(3);
    const peers = [1, 2, 3].map((sid) => runner(sid, cfg));
    for (const p of peers) await p.listen();
    const decisions = await Promise.all(peers.map((p) => p.elect(0, 0)));
    expect(decisions.map((d) => [d!.state, d!.leader, d!.electionEpoch, d!.peerEpoch])).toEqual([
      [PeerState.FOLLOWING, 3, 1, 0],
      [PeerState.FOLLOWING, 3, 1, 0],
      [PeerState.LEADING, 3, 1, 0],
    ]);
  });

  it('stop() ends an election under way undecided (a server stopping while it looks for a quorum)', async () => {
    const cfg = await ensemble(3);
    const alone = runner(1, cfg);
    await alone.listen();
    const electing = alone.elect(0, 0);
    await new Promise((r) => setTimeout(r, 200));
    await alone.stop();
    await expect(electing).resolves.toBeUndefined();
  });

  it('a peer started after the others have decided learns their leader from their answers', async () => {
    const cfg = await ensemble(3);
    const [p1, p2, p3] = [1, 2, 3].map((sid) => runner(sid, cfg)) as [ElectionRunner, ElectionRunner, ElectionRunner];
    await p2.listen();
    await p3.listen();
    const [d2, d3] = await Promise.all([p2.elect(0x100000004, 1), p3.elect(0x100000002, 1)]);
    expect([d2!.leader, d3!.leader]).toEqual([2, 2]);
    await p1.listen();
    // Our zxid is the best, yet the established leader stays.
    const d1 = await p1.elect(0x100000009, 1);
    expect(d1).toMatchObject({ state: PeerState.FOLLOWING, leader: 2, electionEpoch: 1 });
  });

  it('hangs up on a lower-sid initiator and dials it back at the address it announced', async () => {
    const cfg = await ensemble(2);
    // Play sid 1 with a raw socket; listen where sid 1 lives so the dial-back reaches us.
    const me = cfg.members[0]!.addresses[0]!;
    const dialBack = new Promise<Socket>((resolve) => {
      const srv = createServer(resolve);
      srv.listen(me.electionPort, '127.0.0.1');
      cleanup.push(() => new Promise<void>((r) => srv.close(() => r())));
    });
    const r2 = runner(2, cfg);
    await r2.listen();
    const out = createConnection({ host: '127.0.0.1', port: cfg.members[1]!.addresses[0]!.electionPort });
    cleanup.push(() => void out.destroy());
    await new Promise((r) => out.once('connect', r));
    out.write(encodeInitialMessage(1, { host: '127.0.0.1', port: me.electionPort }));
    await new Promise((r) => out.once('close', r));
    const back = await dialBack;
    cleanup.push(() => void back.destroy());
    const take = reader(back);
    const hello = await take((b) => {
      const m = decodeInitialMessage(b);
      return m && { value: m.message, used: m.length };
    });
    expect(hello).toEqual({ protocolVersion: -65536, sid: 2, addresses: [{ host: '127.0.0.1', port: cfg.members[1]!.addresses[0]!.electionPort }] });
    // It starts electing: its vote arrives on the connection it kept, the one it opened.
    const electing = r2.elect(0, 0);
    const first = await take((b) => {
      const f = decodeElectionFrame(b);
      return f && { value: decodeNotification(f.payload), used: f.next };
    });
    expect(first).toMatchObject({ state: PeerState.LOOKING, leader: 2, electionEpoch: 1 });
    // We vote for 2 as well: with every voter agreeing it decides at once.
    back.write(encodeElectionFrame(encodeNotification({ state: PeerState.LOOKING, leader: 2, zxid: 0, electionEpoch: 1, peerEpoch: 0, config: first.config })));
    await expect(electing).resolves.toMatchObject({ state: PeerState.LEADING, leader: 2 });
  });

  it('sends its last message again when a peer reconnects', async () => {
    const cfg = await ensemble(3);
    // No notification timer within the test: what arrives again is the resent last message.
    const r1 = new ElectionRunner({ myId: 1, config: cfg, minNotificationIntervalMs: 600_000, maxNotificationIntervalMs: 600_000 });
    cleanup.push(() => r1.stop());
    await r1.listen();
    void r1.elect(0x100000002, 1);
    // Play sid 3 (higher: we dial, and our connection is the one kept).
    const connectAsThree = async () => {
      const s = createConnection({ host: '127.0.0.1', port: cfg.members[0]!.addresses[0]!.electionPort });
      cleanup.push(() => void s.destroy());
      await new Promise((r) => s.once('connect', r));
      s.write(encodeInitialMessage(3, { host: '127.0.0.1', port: cfg.members[2]!.addresses[0]!.electionPort }));
      const take = reader(s);
      const vote = await take((b) => {
        const f = decodeElectionFrame(b);
        return f && { value: decodeNotification(f.payload), used: f.next };
      });
      return { s, vote };
    };
    const first = await connectAsThree();
    expect(first.vote).toMatchObject({ state: PeerState.LOOKING, leader: 1, zxid: 0x100000002, electionEpoch: 1, peerEpoch: 1 });
    first.s.destroy();
    // Nothing new to say: the last message comes again.
    const second = await connectAsThree();
    expect(second.vote).toMatchObject({ state: PeerState.LOOKING, leader: 1, electionEpoch: 1 });
  });

  it('closes a connection with a bad initial message or a bad frame, and keeps serving', async () => {
    const cfg = await ensemble(2);
    const r1 = runner(1, cfg);
    await r1.listen();
    const port = cfg.members[0]!.addresses[0]!.electionPort;
    for (const bytes of [
      Buffer.from('ffffffffffff0000000000000000000200000000', 'hex'), // address length 0
      Buffer.concat([encodeInitialMessage(2, { host: '127.0.0.1', port: 1 }), Buffer.from('00000000', 'hex')]), // frame length 0
    ]) {
      const s = createConnection({ host: '127.0.0.1', port });
      cleanup.push(() => void s.destroy());
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      s.write(bytes);
      await new Promise((r) => s.once('close', r));
    }
    // Still listening and answering.
    const s = createConnection({ host: '127.0.0.1', port });
    cleanup.push(() => void s.destroy());
    await new Promise((r) => s.once('connect', r));
    s.write(encodeInitialMessage(2, { host: '127.0.0.1', port: 1 }));
    expect(s.destroyed).toBe(false);
  });
});
