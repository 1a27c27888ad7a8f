/**
 * The promise client against a zkts server started in this process (no build needed). The same client
 * runs against Apache ZooKeeper in test/compat/differential.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, ZkClient, type WatchEvent } from '../../src/client/index.js';
import { AddWatchMode, CreateFlag, ErrorCode, EventType, JuteWriter, KeeperError, KeeperState, OpCode, WatcherType, records, writeConnectResponse } from '../../src/jute/index.js';
import { ZkTcpServer, createLogger, defaultConfig } from '../../src/server/index.js';

let server: ZkTcpServer;
let port: number;
let dir: string;
const clients: ZkClient[] = [];

async function client(opts: { timeout?: number; trace?: boolean } = {}): Promise<ZkClient> {
  const c = await ZkClient.connect({ port, ...opts });
  clients.push(c);
  return c;
}

/** The KeeperError code a promise rejects with (fails the test if it resolves or throws anything else). */
async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeeperError) return e.code;
    throw e;
  }
  throw new Error('expected a KeeperError');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zkts-client-test-'));
  const config = { ...defaultConfig(), tickTime: 100, clientPort: 0, dataDir: dir, dataLogDir: dir, extendedTypesEnabled: true, maxClientCnxns: 0 };
  server = new ZkTcpServer(config, createLogger('silent'));
  port = (await server.start()).port;
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('ZkClient', () => {
  test('handshake: a new session with a negotiated timeout', async () => {
    const c = await client({ timeout: 100_000 });
    expect(c.sessionId).not.toBe(0n);
    expect(c.sessionPasswd.length).toBe(16);
    // tickTime 100: the server caps the timeout at 20 ticks.
    expect(c.timeout).toBe(2000);
    expect(c.readOnly).toBe(false);
    const other = await client();
    expect(other.sessionId).not.toBe(c.sessionId);
  });

  test('create, getData, setData, delete, with Stats and error codes', async () => {
    const c = await client();
    const created = await c.create('/crud', Buffer.from('v0'), OPEN_ACL_UNSAFE, CreateFlag.PERSISTENT);
    expect(created.path).toBe('/crud');
    expect(created.stat).toMatchObject({ version: 0, dataLength: 2, numChildren: 0, ephemeralOwner: 0n });
    expect(created.stat.czxid).toBe(created.stat.mzxid);

    const got = await c.getData('/crud');
    expect(got.data?.toString()).toBe('v0');
    expect(got.stat).toEqual(created.stat);

    const set = await c.setData('/crud', Buffer.from('v1'), 0);
    expect(set.version).toBe(1);
    expect(set.mzxid).toBeGreaterThan(set.czxid);
    expect(await codeOf(c.setData('/crud', null, 0))).toBe(ErrorCode.BADVERSION);
    expect(await codeOf(c.create('/crud', null))).toBe(ErrorCode.NODEEXISTS);
    expect(await codeOf(c.getData('/nope'))).toBe(ErrorCode.NONODE);
    expect(await codeOf(c.create('/nope/child', null))).toBe(ErrorCode.NONODE);
    expect(await codeOf(c.create('bad', null))).toBe(ErrorCode.BADARGUMENTS);

    expect(await c.exists('/crud')).toMatchObject({ version: 1 });
    await c.delete('/crud', 1);
    expect(await c.exists('/crud')).toBeNull();

    // The error carries the code and names it.
    const e = await c.delete('/crud').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KeeperError);
    expect((e as KeeperError).code).toBe(ErrorCode.NONODE);
    expect((e as Error).message).toContain('NONODE');
  });

  test('create modes: sequential names, ephemeral owner, container and TTL opcodes', async () => {
    const c = await client();
    await c.create('/modes', null);
    const s1 = await c.create('/modes/q-', null, OPEN_ACL_UNSAFE, CreateFlag.PERSISTENT_SEQUENTIAL);
    const s2 = await c.create('/modes/q-', null, OPEN_ACL_UNSAFE, CreateFlag.EPHEMERAL_SEQUENTIAL);
    expect(s1.path).toBe('/modes/q-0000000000');
    expect(s2.path).toBe('/modes/q-0000000001');
    expect(s2.stat.ephemeralOwner).toBe(c.sessionId);
    expect(await c.getEphemerals('/modes')).toEqual(['/modes/q-0000000001']);
    await c.create('/modes/c', null, OPEN_ACL_UNSAFE, CreateFlag.CONTAINER);
    await c.create('/modes/t', null, OPEN_ACL_UNSAFE, CreateFlag.PERSISTENT_WITH_TTL, 60_000);
    expect(await codeOf(c.create('/modes/t2', null, OPEN_ACL_UNSAFE, CreateFlag.PERSISTENT_WITH_TTL, 0))).toBe(ErrorCode.BADARGUMENTS);
    const kids = await c.getChildren2('/modes');
    expect(kids.children.sort()).toEqual(['c', 'q-0000000000', 'q-0000000001', 't']);
    expect(kids.stat.numChildren).toBe(4);
    expect(await c.getAllChildrenNumber('/modes')).toBe(4);
  });

  test('pipelining: many outstanding requests complete in order', async () => {
    const c = await client({ trace: true });
    await c.create('/pipe', null);
    const n = 300;
    const creates = Array.from({ length: n }, (_, i) => c.create(`/pipe/n${i}`, Buffer.from(String(i))));
    const reads = Array.from({ length: n }, (_, i) => c.getData(`/pipe/n${i}`));
    const created = await Promise.all(creates);
    const read = await Promise.all(reads);
    expect(created.map((r) => r.path)).toEqual(Array.from({ length: n }, (_, i) => `/pipe/n${i}`));
    expect(read.map((r) => r.data?.toString())).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    // Zxids of the creates increase in send order, and every read saw its create.
    const zxids = created.map((r) => r.stat.czxid);
    expect([...zxids].sort((a, b) => a - b)).toEqual(zxids);
    const replies = c.trace!.filter((e) => e.kind === 'reply');
    expect(replies.map((e) => (e.kind === 'reply' ? e.xid : 0))).toEqual(replies.map((_, i) => i + 1));
    expect(await c.getAllChildrenNumber('/pipe')).toBe(n);
  });

  test('large values come back whole, in order with the small replies around them', async () => {
    const c = await client();
    const big = Buffer.alloc(900_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
    await c.create('/large', big);
    await c.create('/small', Buffer.from('s'));
    // Several large replies and small ones in one turn: they share one write to the socket.
    const replies = await Promise.all([
      c.getData('/small'),
      c.getData('/large'),
      c.getData('/small'),
      c.getData('/large'),
      c.getData('/large'),
      c.exists('/small'),
    ]);
    expect(replies[0]).toMatchObject({ data: Buffer.from('s') });
    for (const i of [1, 3, 4]) {
      const r = replies[i] as { data: Buffer; stat: records.Stat };
      expect(r.data.equals(big)).toBe(true);
      expect(r.stat.dataLength).toBe(big.length);
    }
    expect((replies[2] as { data: Buffer }).data.toString()).toBe('s');
    expect((replies[5] as records.Stat).dataLength).toBe(1);
  });

  test('pipelined reads between writes see exactly the writes sent before them', async () => {
    const c = await client({ trace: true });
    const other = await client();
    await c.create('/interleave', Buffer.from('v0'));
    // setData, getData, getData, setData, ...: the writes are all in the log before the reads run.
    const reads: Promise<{ data: Buffer | null; stat: records.Stat }>[] = [];
    const writes: Promise<records.Stat>[] = [];
    for (let i = 1; i <= 50; i++) {
      writes.push(c.setData('/interleave', Buffer.from(`v${i}`)));
      reads.push(c.getData('/interleave'));
      reads.push(c.getData('/interleave'));
      // Another session's writes in between must not reorder this session's replies.
      void other.setData('/interleave', Buffer.from('x')).catch(() => {});
    }
    const seen = await Promise.all(reads);
    await Promise.all(writes);
    // Each read reflects this session's write just before it (other's writes may land in between).
    for (let i = 0; i < seen.length; i++) {
      const mine = Math.floor(i / 2) + 1;
      const data = seen[i]!.data!.toString();
      expect(data === `v${mine}` || data === 'x').toBe(true);
      expect(seen[i]!.stat.mzxid).toBeGreaterThanOrEqual((await writes[mine - 1]!).mzxid);
      if (mine < 50) expect(seen[i]!.stat.mzxid).toBeLessThan((await writes[mine]!).mzxid);
    }
    const replies = c.trace!.filter((e) => e.kind === 'reply');
    expect(replies.map((e) => (e.kind === 'reply' ? e.xid : 0))).toEqual(replies.map((_, i) => i + 1));
  });

  test('a watch event arrives before the reply that reflects the change', async () => {
    const c = await client({ trace: true });
    const events: WatchEvent[] = [];
    c.onEvent((e) => events.push(e));
    await c.create('/w', null);
    await c.getData('/w', true);
    const before = c.trace!.length;
    await c.setData('/w', Buffer.from('x'));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path: '/w' });
    const after = c.trace!.slice(before);
    expect(after.map((e) => e.kind)).toEqual(['event', 'reply']);
    expect(after[1]).toMatchObject({ kind: 'reply', type: OpCode.setData, err: 0 });
    expect(events[0]!.seq).toBe(after[0]!.seq);
    expect(events[0]!.seq).toBeLessThan(after[1]!.seq);

    // Another session's change: the event precedes this session's next reply.
    const other = await client();
    await c.exists('/w', true);
    await c.getChildren('/w', true);
    await other.create('/w/kid', null);
    await other.delete('/w/kid');
    await other.delete('/w');
    await c.sync('/');
    expect(events.slice(1).map((e) => [e.type, e.path])).toEqual([
      [EventType.NodeChildrenChanged, '/w'],
      [EventType.NodeDeleted, '/w'],
    ]);
  });

  test('multi and multiRead', async () => {
    const c = await client();
    await c.create('/m', null);
    const ok = await c.multi([
      { type: OpCode.create, req: { path: '/m/a', data: Buffer.from('a'), acl: OPEN_ACL_UNSAFE, flags: 0 } },
      { type: OpCode.check, req: { path: '/m/a', version: 0 } },
      { type: OpCode.setData, req: { path: '/m/a', data: Buffer.from('b'), version: 0 } },
    ]);
    expect(ok.map((r) => r.type)).toEqual([OpCode.create, OpCode.check, OpCode.setData]);
    expect(ok[0]).toEqual({ type: OpCode.create, path: '/m/a' });

    const failed = await c.multi([
      { type: OpCode.check, req: { path: '/m', version: 0 } },
      { type: OpCode.check, req: { path: '/m/a', version: 7 } },
      { type: OpCode.create, req: { path: '/m/b', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 } },
    ]);
    expect(failed).toEqual([
      { type: OpCode.error, err: 0 },
      { type: OpCode.error, err: ErrorCode.BADVERSION },
      { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
    ]);
    expect(await c.exists('/m/a')).not.toBeNull();

    const read = await c.multiRead([
      { type: OpCode.getData, req: { path: '/m/a', watch: false } },
      { type: OpCode.getChildren, req: { path: '/m', watch: false } },
      { type: OpCode.getData, req: { path: '/m/zz', watch: false } },
    ]);
    expect(read[0]).toMatchObject({ type: OpCode.getData, data: Buffer.from('b') });
    expect(read[1]).toEqual({ type: OpCode.getChildren, children: ['a'] });
    expect(read[2]).toEqual({ type: OpCode.error, err: ErrorCode.NONODE });
  });

  test('addAuth, ACLs, whoAmI', async () => {
    const owner = await client();
    const stranger = await client();
    await owner.addAuth('digest', 'alice:secret');
    const ids = await owner.whoAmI();
    expect(ids.map((i) => i.authScheme).sort()).toEqual(['digest', 'ip']);
    await owner.create('/acl', Buffer.from('private'), CREATOR_ALL_ACL);
    const { acl, stat } = await owner.getACL('/acl');
    expect(acl).toHaveLength(1);
    expect(acl[0]!.id.scheme).toBe('digest');
    expect(acl[0]!.id.id.startsWith('alice:')).toBe(true);
    expect(stat.aversion).toBe(0);
    expect(await codeOf(stranger.getData('/acl'))).toBe(ErrorCode.NOAUTH);
    expect(await codeOf(stranger.create('/nope', null, CREATOR_ALL_ACL))).toBe(ErrorCode.INVALIDACL);
    const set = await owner.setACL('/acl', READ_ACL_UNSAFE, 0);
    expect(set.aversion).toBe(1);
    expect((await stranger.getData('/acl')).data?.toString()).toBe('private');
    expect(await codeOf(stranger.setData('/acl', null))).toBe(ErrorCode.NOAUTH);
  });

  test('persistent watches, checkWatches and removeWatches', async () => {
    const c = await client();
    const writer = await client();
    const events: WatchEvent[] = [];
    c.onEvent((e) => events.push(e));
    await writer.create('/pw', null);
    await c.addWatch('/pw', AddWatchMode.PERSISTENT_RECURSIVE);
    await writer.create('/pw/a', null);
    await writer.setData('/pw/a', Buffer.from('1'));
    await writer.delete('/pw/a');
    await c.sync();
    expect(events.map((e) => [e.type, e.path])).toEqual([
      [EventType.NodeCreated, '/pw/a'],
      [EventType.NodeDataChanged, '/pw/a'],
      [EventType.NodeDeleted, '/pw/a'],
    ]);

    await writer.create('/one-shot', null);
    await c.exists('/one-shot', true);
    await c.checkWatches('/one-shot', WatcherType.Data);
    expect(await codeOf(c.checkWatches('/one-shot', WatcherType.Children))).toBe(ErrorCode.NOWATCHER);
    await c.removeWatches('/one-shot', WatcherType.Data);
    expect(await codeOf(c.checkWatches('/one-shot', WatcherType.Data))).toBe(ErrorCode.NOWATCHER);
    expect(await codeOf(c.removeWatches('/one-shot', WatcherType.Any))).toBe(ErrorCode.NOWATCHER);
  });

  test('close ends the session: ephemerals go and watchers hear of it', async () => {
    const c = await client();
    const watcher = await client();
    const events: WatchEvent[] = [];
    watcher.onEvent((e) => events.push(e));
    await c.create('/eph', null, OPEN_ACL_UNSAFE, CreateFlag.EPHEMERAL);
    expect(await watcher.exists('/eph', true)).not.toBeNull();
    let closedReason = '';
    c.onClose((r) => (closedReason = r));
    await c.close();
    expect(c.isClosed).toBe(true);
    expect(closedReason).toBe('closed by the client');
    await watcher.sync();
    expect(events).toEqual([expect.objectContaining({ type: EventType.NodeDeleted, path: '/eph' })]);
    expect(await watcher.exists('/eph')).toBeNull();
    expect(await codeOf(c.getData('/'))).toBe(ErrorCode.CONNECTIONLOSS);
  });

  test('raw request: any opcode, the header is returned whatever its error', async () => {
    const c = await client();
    const missing = await c.request(OpCode.exists, (w) => records.ExistsRequest.write(w, { path: '/raw-missing', watch: false }));
    expect(missing.header.err).toBe(ErrorCode.NONODE);
    const root = await c.request(OpCode.getChildren2, (w) => records.GetChildren2Request.write(w, { path: '/', watch: false }));
    expect(root.header.err).toBe(0);
    expect(records.GetChildren2Response.read(root.reader).children).toContain('zookeeper');
  });

  test('a connection the server drops fails every outstanding request with CONNECTIONLOSS', async () => {
    const c = await client();
    const auth = c.addAuth('no-such-scheme', 'x');
    const pending = c.getData('/');
    expect(await codeOf(auth)).toBe(ErrorCode.AUTHFAILED);
    expect(await codeOf(pending)).toBe(ErrorCode.CONNECTIONLOSS);
    expect(c.isClosed).toBe(true);
  });

  test('a reply out of order fails every outstanding request with CONNECTIONLOSS, the oldest too', async () => {
    // A server that completes the handshake, then answers the second request of a pipeline first.
    const sockets: Socket[] = [];
    const fake = createServer((sock) => {
      sockets.push(sock);
      let handshaken = false;
      sock.on('data', (chunk: Buffer) => {
        const w = new JuteWriter(64);
        const start = w.startFrame();
        if (!handshaken) {
          handshaken = true;
          writeConnectResponse(w, { protocolVersion: 0, timeOut: 30_000, sessionId: 1n, passwd: Buffer.alloc(16), readOnly: false });
        } else {
          const firstXid = chunk.readInt32BE(4);
          w.int(firstXid + 1); // ReplyHeader: xid, zxid, err
          w.longNumber(0);
          w.int(0);
        }
        w.finishFrame(start);
        sock.write(w.bytes());
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const c = await ZkClient.connect({ port: (fake.address() as AddressInfo).port });
      const first = codeOf(c.getData('/a'));
      const second = codeOf(c.getData('/b'));
      expect(await first).toBe(ErrorCode.CONNECTIONLOSS);
      expect(await second).toBe(ErrorCode.CONNECTIONLOSS);
      expect(c.isClosed).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      fake.close();
    }
  });

  test('pings keep an idle session alive', async () => {
    // tickTime 100: the smallest timeout is 200 ms; stay idle for many timeouts.
    const c = await client({ timeout: 300 });
    expect(c.timeout).toBe(300);
    await new Promise((r) => setTimeout(r, 1500));
    expect(c.isClosed).toBe(false);
    expect((await c.getData('/')).stat).toBeDefined();
  });
});
