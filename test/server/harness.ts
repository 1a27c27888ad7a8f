/** An in-process zkts on a free port, for server tests that need sockets but not a child process. */
import pino from 'pino';
import { defaultConfig, ZkTcpServer, type ServerConfig } from '../../src/server/index.js';

export async function startInProcess(overrides: Partial<ServerConfig> = {}): Promise<{ server: ZkTcpServer; port: number; stop(): Promise<void> }> {
  const config: ServerConfig = { ...defaultConfig(), clientPort: 0, fourLetterWords: '*', ...overrides };
  const server = new ZkTcpServer(config, pino({ level: process.env.ZKTS_TEST_LOG ?? 'silent' }));
  const { port } = await server.start();
  return { server, port, stop: () => server.stop() };
}
