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
import { dumpLogFile, dumpSnapshotFile, purgeDataDir, RecoveryError } from '../src/zab/index.js';

// `zkts dump-log ... | head` closes our stdout early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

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

program
  .command('dump-log')
  .description('print the txns of a transaction log file (dataLogDir/version-2/log.*), one per line')
  .argument('<file>')
  .action(async (file: string) => {
    await dumpLogFile(file, (line) => console.log(line));
  });

program
  .command('dump-snapshot')
  .description('print the znodes and sessions of a snapshot file (dataDir/version-2/snapshot.*)')
  .argument('<file>')
  .action(async (file: string) => {
    await dumpSnapshotFile(file, (line) => console.log(line));
  });

program
  .command('purge')
  .description('delete old snapshots and the logs only they need, keeping the newest N snapshots')
  .option('-c, --config <file>', 'the zoo.cfg naming dataDir and dataLogDir')
  .option('-n, --count <n>', 'snapshots to keep (at least 3)', '3')
  .action(async (opts: { config?: string; count: string }) => {
    const config = opts.config ? loadZooCfg(opts.config) : defaultConfig();
    const removed = await purgeDataDir(config.dataDir, config.dataLogDir, Number(opts.count));
    for (const f of removed) console.log(`removed ${f}`);
    console.log(`${removed.length} file(s) removed`);
  });

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

await program.parseAsync(process.argv);
