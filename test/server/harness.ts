/** An in-process zkts on a free port, for server tests that need sockets but not a child process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig, ZkTcpServer, type ServerConfig } from '../../src/server/index.js';

export async function startInProcess(overrides: Partial<ServerConfig> = {}): Promise<{ server: ZkTcpServer; port: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-inproc-'));
  const config: ServerConfig = { ...defaultConfig(), clientPort: 0, fourLetterWords: '*', dataDir: dir, dataLogDir: dir, preAllocSize: 1 << 20, ...overrides };
  const server = new ZkTcpServer(config, pino({ level: process.env.ZKTS_TEST_LOG ?? 'silent' }));
  const { port } = await server.start();
  return {
    server,
    port,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
