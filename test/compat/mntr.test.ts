/**
 * mntr against Apache ZooKeeper 3.8: after the same requests, zkts's measured counters move as
 * ZooKeeper's do, and every key zkts prints is one ZooKeeper prints. The built zkts (dist/) runs as
 * its own process here, so its descriptor figures can be checked from outside it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { startServer, type RunningServer } from '../support/servers.js';
import { serverSkipReason } from './client-helpers.js';

async function mntr(port: number): Promise<Map<string, string>> {
  const text = await new Promise<string>((res, rej) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => s.write('mntr'));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => res(out));
    s.on('error', rej);
  });
  return new Map(text.trim().split('\n').map((l) => l.split('\t') as [string, string]));
}

/** The requests both servers get: writes (one failing), reads (one failing), sync, in one session. */
async function workload(port: number): Promise<void> {
  const client = await ZkClient.connect({ port, timeout: 30_000 });
  try {
    await client.create('/mntr', null);
    for (let i = 0; i < 20; i++) await client.setData('/mntr', Buffer.from(String(i)));
    for (let i = 0; i < 10; i++) await client.getData('/mntr');
    await expect(client.getData('/missing')).rejects.toThrow();
    await expect(client.setData('/missing', null)).rejects.toThrow();
    await client.sync('/');
    await client.exists('/mntr');
  } finally {
    await client.close();
  }
}

/** Counters that the workload moves the same way on both servers (packets sent differ: ZooKeeper counts each 2 KB of a four-letter answer). */
const COUNTERS = [
  'zk_packets_received',
  'zk_cnt_updatelatency',
  'zk_cnt_readlatency',
  'zk_cnt_fsynctime',
  'zk_cnt_sync_processor_batch_size',
  'zk_sum_sync_processor_batch_size',
];

async function countersMoved(port: number): Promise<{ moved: Record<string, number>; keys: string[] }> {
  const before = await mntr(port);
  await workload(port);
  const after = await mntr(port);
  return { moved: Object.fromEntries(COUNTERS.map((k) => [k, Number(after.get(k)) - Number(before.get(k))])), keys: [...after.keys()] };
}

const skip = serverSkipReason('zkts') ?? serverSkipReason('zookeeper');

describe.skipIf(skip !== null)(`mntr: zkts vs Apache ZooKeeper 3.8${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let zkts: RunningServer;
  let zookeeper: RunningServer;
  beforeAll(async () => {
    [zkts, zookeeper] = await Promise.all([startServer('zkts'), startServer('zookeeper')]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([zkts?.stop(), zookeeper?.stop()]);
  });

  it('moves the packet, latency, fsync and batch counters as ZooKeeper does, under ZooKeeper\'s key names', async () => {
    const ours = await countersMoved(zkts.port);
    const theirs = await countersMoved(zookeeper.port);
    expect(ours.moved).toEqual(theirs.moved);
    // createSession, create, 20 setData, the failing setData, closeSession
    expect(ours.moved['zk_cnt_updatelatency']).toBe(24);
    expect(ours.keys.filter((k) => !theirs.keys.includes(k))).toEqual([]);
  }, 60_000);

  it('reports the descriptors the kernel shows for the zkts process', async () => {
    const pid = zkts.process.pid!;
    const fdsOfServer = () => readdirSync(`/proc/${pid}/fd`).length;
    const before = Number((await mntr(zkts.port)).get('zk_open_file_descriptor_count'));
    // The server's count includes the socket of the mntr query, closed a moment later.
    expect(Math.abs(before - fdsOfServer())).toBeLessThanOrEqual(2);
    const k = 10;
    const clients = await Promise.all(Array.from({ length: k }, () => ZkClient.connect({ port: zkts.port, timeout: 30_000 })));
    let during: number;
    try {
      during = Number((await mntr(zkts.port)).get('zk_open_file_descriptor_count'));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    expect(during - before).toBeGreaterThanOrEqual(k);
    expect(during - before).toBeLessThanOrEqual(k + 2);
    const soft = execFileSync('prlimit', ['--pid', String(pid), '--nofile', '--output', 'SOFT', '--noheadings']).toString().trim();
    expect((await mntr(zkts.port)).get('zk_max_file_descriptor_count')).toBe(soft);
  }, 60_000);
});
