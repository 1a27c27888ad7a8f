#!/usr/bin/env node
import { mkdirSync } from 'node:fs';
import { Command } from 'commander';
import {
  ConfigError,
  ZkTcpServer,
  applySystemProperties,
  createLogger,
  defaultConfig,
  loadZooCfg,
  readMyid,
} from '../src/server/index.js';
import { RecoveryError } from '../src/zab/index.js';

const program = new Command();
program.name('zkts').description('A ZooKeeper-compatible coordination server');

program
  .command('start')
  .description('run a server (standalone on 127.0.0.1:2181 with data in ./zkts-data unless a zoo.cfg says otherwise)')
  .option('-c, --config <file>', 'an Apache ZooKeeper zoo.cfg')
  .option('-D, --define <key=value>', 'a Java-style system property, e.g. -Dzookeeper.extendedTypesEnabled=true', collect, [])
  .option('-p, --port <port>', 'client port (overrides the config)')
  .action(async (opts: { config?: string; define: string[]; port?: string }) => {
    const log = createLogger();
    try {
      let config = opts.config ? loadZooCfg(opts.config) : defaultConfig();
      config = applySystemProperties(config, opts.define);
      if (opts.port !== undefined) config = { ...config, clientPort: Number(opts.port) };
      config.myid = readMyid(config.dataDir);
      for (const w of config.warnings) log.warn(w);
      mkdirSync(config.dataDir, { recursive: true });
      const server = new ZkTcpServer(config, log);
      server.onFatal = () => process.exit(1);
      await server.start();
      const shutdown = (signal: string) => {
        log.info({ signal }, 'shutting down');
        // The last snapshot of a large tree takes seconds; past this, the log alone has everything.
        const force = setTimeout(() => process.exit(0), 10_000);
        force.unref();
        server.stop().then(
          () => process.exit(0),
          () => process.exit(0),
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    } catch (e) {
      if (e instanceof ConfigError || e instanceof RecoveryError) {
        log.error(e.message);
        process.exitCode = 2;
        return;
      }
      log.error({ err: e }, 'failed to start');
      process.exitCode = 1;
    }
  });

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

await program.parseAsync(process.argv);
