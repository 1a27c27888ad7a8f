import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import type { Txn } from '../../src/datatree/index.js';
import type { TxnLog } from '../../src/zab/index.js';
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

describe('four-letter words', () => {
  let all: Awaited<ReturnType<typeof startInProcess>>;
  let restricted: Awaited<ReturnType<typeof startInProcess>>;
  beforeAll(async () => {
    all = await startInProcess({ fourLetterWords: '*' });
    restricted = await startInProcess({ fourLetterWords: new Set(['srvr']) });
  });
  afterAll(async () => {
    await all.stop();
    await restricted.stop();
  });

  it('answers ruok and isro', async () => {
    expect(await ask(all.port, 'ruok')).toBe('imok');
    expect(await ask(all.port, 'isro')).toBe('rw');
  });

  it('reports a 3.8 version on the second line of envi, as kazoo reads it', async () => {
    const lines = (await ask(all.port, 'envi')).split('\n');
    expect(lines[0]).toBe('Environment:');
    expect(lines[1]).toMatch(/^zookeeper\.version=3\.8\.\d+/);
  });

  it('lays out srvr as ZooKeeper does', async () => {
    const text = await ask(all.port, 'srvr');
    expect(text).toMatch(
      /^Zookeeper version: 3\.8\.0\S*, built on .+\nLatency min\/avg\/max: \d+\/[\d.]+\/\d+\nReceived: \d+\nSent: \d+\nConnections: \d+\nOutstanding: \d+\nZxid: 0x[0-9a-f]+\nMode: standalone\nNode count: 5\n$/,
    );
  });

  it('counts the requests outstanding: a write waiting for the disk and a read queued behind it, then none', async () => {
    // A slow disk: appended txns become durable only when the test says so.
    const log = (all.server as unknown as { persistence: TxnLog }).persistence;
    const append = log.append.bind(log);
    const held: [Txn, () => void][] = [];
    const client = await ZkClient.connect({ port: all.port });
    try {
      await client.create('/outstanding', null);
      log.append = (txn, durable) => void held.push([txn, durable]);
      const write = client.setData('/outstanding', Buffer.from('x'));
      const read = client.getData('/outstanding');
      const outstanding = async () => {
        const srvr = /^Outstanding: (\d+)$/m.exec(await ask(all.port, 'srvr'))?.[1];
        const mntr = /^zk_outstanding_requests\t(\d+)$/m.exec(await ask(all.port, 'mntr'))?.[1];
        return [Number(srvr), Number(mntr)];
      };
      while (held.length === 0) await new Promise((r) => setTimeout(r, 10));
      expect(await outstanding()).toEqual([2, 2]);
      log.append = append;
      for (const [txn, durable] of held) append(txn, durable);
      expect((await write).version).toBe(1);
      expect((await read).data).toEqual(Buffer.from('x'));
      expect(await outstanding()).toEqual([0, 0]);
      await client.delete('/outstanding');
    } finally {
      log.append = append;
      client.disconnect();
    }
  });

  it('lists keys and values in mntr, tab separated', async () => {
    const rows = new Map((await ask(all.port, 'mntr')).trim().split('\n').map((l) => l.split('\t') as [string, string]));
    expect(rows.get('zk_server_state')).toBe('standalone');
    expect(rows.get('zk_znode_count')).toBe('5');
  });

  it('refuses words outside 4lw.commands.whitelist', async () => {
    expect(await ask(restricted.port, 'ruok')).toBe('ruok is not executed because it is not in the whitelist.\n');
    expect(await ask(restricted.port, 'srvr')).toMatch(/^Zookeeper version/);
  });
});
