/**
 * The figures srvr, mntr and cons print are measured, and agree with what clients and the
 * operating system observe: packets, request latencies, open and maximum file descriptors, and the
 * txn log's fsync times and batch sizes.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { OpCode } from '../../src/jute/index.js';
import type { ZkServer } from '../../src/server/zk-server.js';
import { startInProcess } from './harness.js';

async function ask(port: number, word: string): Promise<string> {
  return new Promise((res, rej) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => s.write(word));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => res(out));
    s.on('error', rej);
  });
}

async function mntr(port: number): Promise<Map<string, string>> {
  const text = await ask(port, 'mntr');
  return new Map(text.trim().split('\n').map((l) => l.split('\t') as [string, string]));
}

function num(rows: Map<string, string>, key: string): number {
  const v = rows.get(key);
  if (v === undefined) throw new Error(`mntr has no ${key}`);
  return Number(v);
}

/** srvr's "Latency min/avg/max", "Received" and "Sent" lines. */
async function srvr(port: number): Promise<{ min: number; avg: number; max: number; received: number; sent: number }> {
  const text = await ask(port, 'srvr');
  const lat = /^Latency min\/avg\/max: (\d+)\/([\d.E-]+)\/(\d+)$/m.exec(text);
  const received = /^Received: (\d+)$/m.exec(text);
  const sent = /^Sent: (\d+)$/m.exec(text);
  if (!lat || !received || !sent) throw new Error(`unexpected srvr output:\n${text}`);
  return { min: Number(lat[1]), avg: Number(lat[2]), max: Number(lat[3]), received: Number(received[1]), sent: Number(sent[1]) };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The soft RLIMIT_NOFILE of this process, asked of the kernel by another program. */
function softFdLimitOf(pid: number): number {
  try {
    return Number(execFileSync('prlimit', ['--pid', String(pid), '--nofile', '--output', 'SOFT', '--noheadings']).toString().trim());
  } catch {
    // Without util-linux's prlimit: a child shell inherits this process's limit.
    return Number(execFileSync('sh', ['-c', 'ulimit -Sn']).toString().trim());
  }
}

/** Runs `body` with a new session (30 s timeout: no pings during a test), closed whatever happens. */
async function withClient(port: number, body: (client: ZkClient) => Promise<void>): Promise<void> {
  const client = await ZkClient.connect({ port, timeout: 30_000 });
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('measured figures in srvr, mntr and cons', () => {
  let zk: Awaited<ReturnType<typeof startInProcess>>;
  beforeAll(async () => {
    zk = await startInProcess({ forceSync: true });
  });
  afterAll(async () => {
    await zk.stop();
  });

  it('counts every packet received and sent, server-wide, also after the client has gone', { timeout: 30_000 }, async () => {
    const before = await mntr(zk.port);
    const n = 30;
    const client = await ZkClient.connect({ port: zk.port, timeout: 30_000 });
    await client.create('/packets', Buffer.from('x'));
    for (let i = 0; i < n; i++) await client.getData('/packets');
    await client.close();
    await until('the connection to go', async () => num(await mntr(zk.port), 'zk_num_alive_connections') === 1);
    const after = await mntr(zk.port);
    // connect + create + n reads + closeSession, and the four-letter words in between
    expect(num(after, 'zk_packets_received') - num(before, 'zk_packets_received')).toBeGreaterThanOrEqual(n + 3);
    expect(num(after, 'zk_packets_sent') - num(before, 'zk_packets_sent')).toBeGreaterThanOrEqual(n + 3);
    const s = await srvr(zk.port);
    expect(s.received).toBeGreaterThan(num(after, 'zk_packets_received'));
    expect(s.sent).toBeGreaterThanOrEqual(num(after, 'zk_packets_sent'));
  });

  it('measures request latency from arrival to reply: min <= avg <= max, within what the client observes', async () => {
    const server: ZkServer = zk.server.server;
    await withClient(zk.port, async (client) => {
      await client.create('/latency', null);
      expect(await ask(zk.port, 'srst')).toBe('Server stats reset.\n');
      // A slow step between a write's arrival and its commit: its latency must include it.
      const handleRequest = server.handleRequest.bind(server);
      server.handleRequest = (c, xid, type, r, arrivedAt) => {
        handleRequest(c, xid, type, r, arrivedAt);
        if (type === OpCode.setData) busyWait(5);
      };
      const writes = 8;
      const reads = 20;
      let clientMax = 0;
      try {
        for (let i = 0; i < writes; i++) {
          const t0 = performance.now();
          await client.setData('/latency', Buffer.from(String(i)));
          clientMax = Math.max(clientMax, performance.now() - t0);
        }
        // A read sent right behind a write waits for it: from its own arrival, not from when it runs.
        const t0 = performance.now();
        await Promise.all([client.setData('/latency', null), client.getData('/latency')]);
        clientMax = Math.max(clientMax, performance.now() - t0);
      } finally {
        server.handleRequest = handleRequest;
      }
      for (let i = 0; i < reads; i++) await client.getData('/latency');

      const s = await srvr(zk.port);
      expect(s.max).toBeGreaterThanOrEqual(5);
      expect(s.min).toBeLessThanOrEqual(s.avg);
      expect(s.avg).toBeLessThanOrEqual(s.max);
      expect(s.avg).toBeGreaterThan(0);
      // Whole-millisecond clock readings: at most 1 ms above the true latency, which the client's
      // round trip contains.
      expect(s.max).toBeLessThanOrEqual(Math.ceil(clientMax) + 1);

      const m = await mntr(zk.port);
      expect(num(m, 'zk_max_latency')).toBe(s.max);
      expect(num(m, 'zk_min_latency')).toBe(s.min);
      expect(num(m, 'zk_avg_latency')).toBe(s.avg);
      // Writes went through the log; reads (and any ping) did not.
      expect(num(m, 'zk_cnt_updatelatency')).toBe(writes + 1);
      expect(num(m, 'zk_min_updatelatency')).toBeGreaterThanOrEqual(5);
      expect(num(m, 'zk_cnt_readlatency')).toBeGreaterThanOrEqual(reads + 1);
      expect(num(m, 'zk_max_readlatency')).toBeGreaterThanOrEqual(5);
      const p = ['p50', 'p95', 'p99', 'p999'].map((q) => num(m, `zk_${q}_updatelatency`));
      expect([...p].sort((a, b) => a - b)).toEqual(p);
      expect(p[0]).toBeGreaterThanOrEqual(num(m, 'zk_min_updatelatency'));
      expect(p[3]).toBeLessThanOrEqual(num(m, 'zk_max_updatelatency'));

      // The connection's own figures in cons (ZooKeeper's ServerCnxn layout).
      const cons = await ask(zk.port, 'cons');
      const line = cons.split('\n').find((l) => l.includes(`sid=0x${client.sessionId.toString(16)}`));
      const f = /,to=(\d+),lcxid=0x([0-9a-f]+),lzxid=0x[0-9a-f]+,lresp=\d+,llat=(\d+),minlat=(\d+),avglat=(\d+),maxlat=(\d+)\)$/.exec(line ?? '');
      expect(f, cons).not.toBeNull();
      // ConnectRequest, create, the writes and the reads, each answered (the ConnectResponse too).
      const requests = 2 + writes + 2 + reads;
      expect(line).toContain(`(queued=0,recved=${requests},sent=${requests},sid=`);
      const [to, lcxid, , minlat, avglat, maxlat] = f!.slice(1).map((x, i) => (i === 1 ? parseInt(x, 16) : Number(x)));
      expect(to).toBe(client.timeout);
      expect(lcxid).toBeGreaterThanOrEqual(requests - 1);
      expect(maxlat).toBeGreaterThanOrEqual(5);
      expect(minlat!).toBeLessThanOrEqual(avglat!);
      expect(avglat!).toBeLessThanOrEqual(maxlat!);
    });
  });

  it('lays out stat\'s clients briefly and counts a four-letter word as a packet of its connection, as ZooKeeper', async () => {
    await withClient(zk.port, async (client) => {
      await client.exists('/');
      const text = await ask(zk.port, 'stat');
      const clients = text.split('\n\n')[0]!.split('\n').slice(2);
      expect(clients).toHaveLength(2);
      for (const line of clients) expect(line).toMatch(/^ \/127\.0\.0\.1:\d+\[[01]\]\(queued=\d+,recved=\d+,sent=\d+\)$/);
      // The session's connection (ConnectRequest and exists, both answered) and stat's own.
      expect(clients.filter((l) => l.includes('[1](queued=0,recved=2,sent=2)'))).toHaveLength(1);
      expect(clients.filter((l) => l.includes('[0](queued=0,recved=1,sent=0)'))).toHaveLength(1);
    });
  });

  it('srst resets the packet counters, the latencies and the log summaries', async () => {
    await withClient(zk.port, async (client) => {
      await client.create('/reset', null);
      for (let i = 0; i < 20; i++) await client.setData('/reset', Buffer.from(String(i)));
      expect((await srvr(zk.port)).received).toBeGreaterThan(20);
      expect(await ask(zk.port, 'srst')).toBe('Server stats reset.\n');
      const s = await srvr(zk.port);
      // srvr's own packet, srst's answer (and at most one ping of the idle client).
      expect(s.received).toBeLessThanOrEqual(2);
      expect(s.sent).toBeLessThanOrEqual(2);
      const m = await mntr(zk.port);
      expect(num(m, 'zk_cnt_fsynctime')).toBe(0);
      expect(num(m, 'zk_cnt_updatelatency')).toBe(0);
      expect(num(m, 'zk_max_latency')).toBeLessThanOrEqual(1);
    });
  });

  it('reports the open file descriptors of the process, tracking connections as they open and close', { timeout: 30_000 }, async () => {
    const fdsNow = () => readdirSync('/proc/self/fd').length - 1;
    await until('connections from earlier tests to go', async () => num(await mntr(zk.port), 'zk_num_alive_connections') === 1);
    const before = num(await mntr(zk.port), 'zk_open_file_descriptor_count');
    // The server runs in this process: its figure is this process's, give or take the sockets of the query.
    expect(Math.abs(before - fdsNow())).toBeLessThanOrEqual(4);
    const k = 12;
    const clients = await Promise.all(Array.from({ length: k }, () => ZkClient.connect({ port: zk.port, timeout: 30_000 })));
    let during: number;
    try {
      during = num(await mntr(zk.port), 'zk_open_file_descriptor_count');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    // Two descriptors per connection here: the client's socket and the server's.
    expect(during - before).toBeGreaterThanOrEqual(2 * k);
    await until('the descriptors to be closed', async () => num(await mntr(zk.port), 'zk_open_file_descriptor_count') <= before + 2);
  });

  it('reports the soft RLIMIT_NOFILE as the maximum file descriptor count', async () => {
    expect(num(await mntr(zk.port), 'zk_max_file_descriptor_count')).toBe(softFdLimitOf(process.pid));
  });

  it('times each fsync of the txn log and counts the txns each write of the log carried', async () => {
    await withClient(zk.port, async (client) => {
      await client.create('/fsync', null);
      expect(await ask(zk.port, 'srst')).toBe('Server stats reset.\n');
      const sequential = 10;
      for (let i = 0; i < sequential; i++) await client.setData('/fsync', Buffer.from(String(i)));
      // Each write waited for its own fsync: one batch of one txn each.
      let m = await mntr(zk.port);
      expect(num(m, 'zk_cnt_fsynctime')).toBe(sequential);
      expect(num(m, 'zk_cnt_sync_processor_batch_size')).toBe(sequential);
      expect(num(m, 'zk_sum_sync_processor_batch_size')).toBe(sequential);
      expect(num(m, 'zk_max_sync_processor_batch_size')).toBe(1);

      const pipelined = 200;
      await Promise.all(Array.from({ length: pipelined }, (_, i) => client.setData('/fsync', Buffer.from(String(i)))));
      m = await mntr(zk.port);
      const batches = num(m, 'zk_cnt_sync_processor_batch_size') - sequential;
      expect(batches).toBeGreaterThanOrEqual(1);
      expect(batches).toBeLessThanOrEqual(pipelined);
      expect(num(m, 'zk_sum_sync_processor_batch_size')).toBe(sequential + pipelined);
      expect(num(m, 'zk_cnt_fsynctime')).toBe(sequential + batches);
      const [min, avg, max, sum] = ['min', 'avg', 'max', 'sum'].map((s) => num(m, `zk_${s}_fsynctime`));
      expect(min).toBeLessThanOrEqual(avg!);
      expect(avg).toBeLessThanOrEqual(max!);
      expect(sum).toBeGreaterThanOrEqual(max!);
    });
  });
});

describe('fsync figures with forceSync=no', () => {
  it('counts the log writes but no fsync', async () => {
    const zk = await startInProcess({ forceSync: false });
    try {
      const client = await ZkClient.connect({ port: zk.port, timeout: 30_000 });
      for (let i = 0; i < 5; i++) await client.create(`/n${i}`, null);
      await client.close();
      const m = await mntr(zk.port);
      expect(num(m, 'zk_cnt_fsynctime')).toBe(0);
      // the session's createSession and closeSession, and the 5 creates
      expect(num(m, 'zk_sum_sync_processor_batch_size')).toBe(7);
    } finally {
      await zk.stop();
    }
  });
});
