/**
 * A disk that fails (EIO, ENOSPC) on a log write or fsync: the server acknowledges nothing from
 * then on, everything it did acknowledge is durable, and it stops for good (onFatal; the CLI then
 * exits non-zero).
 *
 * In-process, through the client protocol, on the simulated disk for each fault; then once end to
 * end, the built CLI whose fdatasync fails from below (a preloaded module makes node:fs's fail).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { defaultConfig, ZkTcpServer, type ServerConfig } from '../../src/server/index.js';
import { mkdirDurable, SimDisk, type FaultCode } from '../../src/storage/index.js';
import { recover } from '../../src/zab/index.js';
import { ZKTS_BIN } from '../support/servers.js';
import { isLogFilePath } from './power-load.js';

const DATA = '/zk/data';

async function startOnDisk(disk: SimDisk): Promise<{ server: ZkTcpServer; port: number; fatal: Promise<Error> }> {
  const config: ServerConfig = { ...defaultConfig(), clientPort: 0, dataDir: DATA, dataLogDir: DATA, preAllocSize: 4096 };
  const server = new ZkTcpServer(config, pino({ level: 'silent' }), disk);
  const fatal = new Promise<Error>((resolve) => (server.onFatal = resolve));
  const { port } = await server.start();
  return { server, port, fatal };
}

describe('a failing disk', () => {
  for (const op of ['write', 'sync'] as const) {
    for (const code of ['EIO', 'ENOSPC'] as FaultCode[]) {
      it(`${code} on a log ${op}: no acknowledgement from then on, every acknowledged write durable, the server stops`, async () => {
        const disk = new SimDisk();
        await mkdirDurable(disk, '/zk');
        const { server, port, fatal } = await startOnDisk(disk);
        const client = await ZkClient.connect({ port });
        const acked: string[] = [];
        for (let i = 0; i < 5; i++) acked.push(await client.create(`/before-${i}`, Buffer.from('x')).then((r) => r.path));

        disk.failNext({ op, code, path: isLogFilePath });
        // Many writes at once, so that some wait in the next group commit behind the failing one.
        const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => client.create(`/after-${i}`, null)));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toEqual([]);
        const err = await Promise.race([fatal, new Promise<undefined>((resolve) => setTimeout(resolve, 10_000))]);
        expect((err as NodeJS.ErrnoException | undefined)?.code, 'onFatal called with the disk error').toBe(code);
        // The server no longer serves.
        await expect(ZkClient.connect({ port, connectTimeout: 2000 })).rejects.toThrow();
        await client.close().catch(() => {});
        await server.stop();

        // What the disk holds after a power cut has every acknowledged write.
        const { tree } = await recover(`${DATA}/version-2`, `${DATA}/version-2`, { extendedTypesEnabled: false, storage: disk.powerCut() });
        for (const path of acked) expect(tree.getNode(path), path).toBeDefined();
      }, 30_000);
    }
  }

  it('the CLI exits non-zero when fdatasync fails, without acknowledging the write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-faults-'));
    try {
      const cfg = join(dir, 'zoo.cfg');
      writeFileSync(cfg, [`dataDir=${dir}/data`, 'clientPort=0', 'clientPortAddress=127.0.0.1', 'admin.enableServer=false', ''].join('\n'));
      const preload = new URL('./fail-datasync.mjs', import.meta.url).href;
      // Two fdatasyncs succeed: the client's createSession and its first create.
      const child = spawn(process.execPath, ['--import', preload, ZKTS_BIN, 'start', '--config', cfg], {
        env: { ...process.env, ZKTS_TEST_DATASYNCS_OK: '2' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          output += d.toString();
          const m = /"port":(\d+)[^\n]*"msg":"zkts listening"/.exec(output);
          if (m) resolve(Number(m[1]));
        });
        void exited.then((code) => reject(new Error(`zkts exited (${code}) before listening:\n${output}`)));
      });
      const client = await ZkClient.connect({ port });
      await client.create('/acked', null);
      const unacked = await Promise.allSettled([client.create('/not-durable', null)]);
      expect(unacked[0]!.status).toBe('rejected');
      expect(await exited).toBe(1);
      expect(output).toContain('transaction log failed');
      await client.close().catch(() => {});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
