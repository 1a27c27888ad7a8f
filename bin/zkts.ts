#!/usr/bin/env node
import { mkdirSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import {
  ConfigError,
  EnsembleServer,
  LOG_LEVELS,
  ZkTcpServer,
  createLogger,
  defaultConfig,
  describeConfig,
  integerOption,
  isEnsemble,
  loadZooCfg,
  resolveLogLevel,
  resolveServerConfig,
} from '../src/server/index.js';
import { dumpLogFile, dumpSnapshotFile, purgeDataDir, RecoveryError } from '../src/zab/index.js';
import { CURVES, WORKLOADS, runBenchCli, type BenchCliOptions } from '../src/bench/index.js';
import { JepsenUsageError, runJepsenCli, type CliOptions as JepsenCliOptions } from '../src/jepsen/runner.js';

// `zkts dump-log ... | head` closes our stdout early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// Typed, so that program.error() (never returns) narrows like a throw.
const program: Command = new Command();
program.name('zkts').description('A ZooKeeper-compatible coordination server').version(version);

program
  .command('start')
  .description('run a server (standalone on 127.0.0.1:2181 with data in ./zkts-data unless a zoo.cfg says otherwise)')
  .option('-c, --config <file>', 'an Apache ZooKeeper zoo.cfg')
  .option('-D, --define <key=value>', 'a Java-style system property, e.g. -Dzookeeper.extendedTypesEnabled=true', collect, [])
  .option('-p, --port <port>', 'client port (overrides the config)', integerOption(0, 65535))
  .addOption(new Option('--log-level <level>', 'log level (default: $ZKTS_LOG_LEVEL, else info)').choices(LOG_LEVELS))
  .action(async (opts: { config?: string; define: string[]; port?: number; logLevel?: string }) => {
    let level: string;
    try {
      level = resolveLogLevel(opts.logLevel);
    } catch (e) {
      program.error(`error: ${(e as Error).message}`, { exitCode: 2 });
    }
    const log = createLogger(level);
    try {
      const config = resolveServerConfig(opts);
      for (const w of config.warnings) log.warn(w);
      mkdirSync(config.dataDir, { recursive: true });
      const server = isEnsemble(config) ? new EnsembleServer(config, log) : new ZkTcpServer(config, log);
      server.onFatal = () => process.exit(1);
      // Signals are handled from the start: a SIGTERM that arrives while the server starts (its
      // port may already answer) stops it once started, instead of killing it half-way.
      const started = server.start();
      const shutdown = (signal: string) => {
        log.info({ signal }, 'shutting down');
        // The last snapshot of a large tree takes seconds; past this, the log alone has everything.
        const force = setTimeout(() => process.exit(0), 10_000);
        force.unref();
        started.then(() => server.stop()).then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      await started;
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
  .command('check-config')
  .description('print the settings a server would start with and every warning; exit 2 on an error')
  .option('-c, --config <file>', 'an Apache ZooKeeper zoo.cfg')
  .option('-D, --define <key=value>', 'a Java-style system property, as for start', collect, [])
  .option('-p, --port <port>', 'client port (overrides the config)', integerOption(0, 65535))
  .action((opts: { config?: string; define: string[]; port?: number }) => {
    try {
      const config = resolveServerConfig(opts);
      for (const line of describeConfig(config)) console.log(line);
      for (const w of config.warnings) console.log(`warning: ${w}`);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      console.error(`error: ${e.message}`);
      process.exitCode = 2;
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
  .option('-n, --count <n>', 'snapshots to keep (at least 3)', integerOption(3), 3)
  .action(async (opts: { config?: string; count: number }) => {
    let config;
    try {
      config = opts.config ? loadZooCfg(opts.config) : defaultConfig();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      program.error(`error: ${e.message}`, { exitCode: 2 });
    }
    const removed = await purgeDataDir(config.dataDir, config.dataLogDir, opts.count);
    for (const f of removed) console.log(`removed ${f}`);
    console.log(`${removed.length} file(s) removed`);
  });

program
  .command('bench')
  .description('generate load against any ZooKeeper server, or compare zkts with Apache ZooKeeper and a ceiling server (docs/benchmarks.md)')
  .argument('[workloads...]', `any of ${WORKLOADS.join(', ')} (default: all); scale curves, only when named: ${CURVES.join(', ')}`)
  .option('-c, --connect <hosts>', 'connect string of the server to load (default 127.0.0.1:2181)')
  .option('--compare', 'start zkts, Apache ZooKeeper 3.8 and the ceiling server, and run every workload on each')
  .option('--servers <list>', 'servers for --compare (default zkts,zookeeper,ceiling)')
  .option('--server-pid <pid>', 'pid of the server behind --connect, for its CPU and RSS (/proc)')
  .option('-s, --sessions <n>', 'sessions (default 16)')
  .option('-o, --outstanding <n>', 'outstanding requests per session (default 100)')
  .option('-t, --threads <n>', 'spread the sessions over n worker threads (default 1: this thread)')
  .option('-d, --duration <s>', 'measured seconds per timed run (default 10)')
  .option('--warmup <s>', 'unmeasured seconds before each timed run (default 2)')
  .option('-r, --rounds <n>', 'rounds (default 3)')
  .option('--prewarm <s>', 'with --compare: seconds of each of read/write/mixed/create-delete on every server before round 1, not recorded (default 5)')
  .option('--rate <ops/s>', 'offered load of read-paced and write-paced (default: half of the read/write peak in the same round, ZooKeeper\'s when compared)')
  .option('--keys <n>', 'znodes read and written by read/write/mixed (default 10000)')
  .option('--value-size <bytes>', 'value size for read/write/mixed/create-delete/populate (default 100)')
  .option('--large-size <bytes>', 'value size for large-read/large-write (default 1000000)')
  .option('--large-sessions <n>', 'sessions for large-read/large-write (default 4)')
  .option('--large-outstanding <n>', 'outstanding per session for large-read/large-write (default 2)')
  .option('--watchers <k>', 'sessions watching one node in the watch workload (default 10000)')
  .option('--fanouts <n>', 'setData fan-outs per watch run (default 5)')
  .option('--session-count <s>', 'sessions held open in the sessions workload (default 10000)')
  .option('--session-timeout <ms>', 'requested session timeout (default 10000; pings every third of it)')
  .option('--populate <n>', 'znodes created by populate, and on disk for restart (default 1000000)')
  .option('--connect-concurrency <n>', 'handshakes in flight at once (default 64)')
  .option('--prefix <path>', 'parent znode of everything the benchmark creates (default /bench)')
  .option('--smoke', 'everything tiny: a check that it all runs, in seconds')
  .option('--json <file>', 'also append the JSON lines to this file')
  .option('--heap <size>', 'ZooKeeper -Xms/-Xmx in --compare (default 2g)')
  .option('--tick-time <ms>', 'tickTime of the servers --compare starts (default 2000)')
  .option('--zkts-node-args <args>', "extra node arguments for zkts in --compare, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'")
  .option('--dir <path>', 'where --compare puts the servers\' data (default $TMPDIR/zkts-bench)')
  .option('--keep', 'keep the servers\' data and logs')
  .option('--ensemble <n>', 'with --compare: run zkts and ZooKeeper as replicated ensembles of n servers (fsync on, clients spread over all)')
  .option('--kills <n>', 'failover: kill -9 of the leader per run (default 5)')
  .option('--chart <file.svg>', 'also draw the results as an SVG chart (a panel per workload, a bar per server)')
  .option('--session-steps <list>', 'scale-sessions: idle sessions per step (default 100,1k,10k)')
  .option('--znode-steps <list>', 'scale-znodes: znodes per step, one growing tree (default 1k,10k,100k,1M)')
  .option('--watch-steps <list>', 'scale-watches: sessions watching one node per step (default 1k,10k)')
  .option('--watch-count-steps <list>', 'scale-watch-count: data watches held by --sessions sessions per step (default 1k,10k,100k,1M)')
  .option('--rate-steps <list>', 'scale-load: offered setData/s per step, open loop (default 5k,10k,20k,40k)')
  .option('--client-addresses <n>', 'connect sessions from 127.0.0.1..127.0.0.n: one source address has ~28k ports (default 1)')
  .action(async (workloads: string[], opts: BenchCliOptions) => {
    try {
      process.exitCode = await runBenchCli(workloads, opts);
    } catch (e) {
      process.stderr.write(`zkts bench: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 2;
    }
  });

program
  .command('jepsen')
  .description('jepsen-lite: run an ensemble of real servers under faults, record a history and check it (README: jepsen-lite)')
  .option('--servers <kind>', 'zkts, zookeeper (Apache ZooKeeper 3.8) or mix', 'zkts')
  .option('--nodes <n>', 'servers in the ensemble: 3 or 5', integerOption(3, 5), 3)
  .option('--workload <name>', 'register, set, lock, session, or all (one after another)', 'register')
  .option('--nemesis <list>', 'comma-separated faults: kill, kill-leader, pause, partition-one, partition-leader, partition-majority, bridge, clients, fsync; or all', 'all')
  .option('--time <s>', 'seconds of faults and load per workload', integerOption(1, 1_000_000), 60)
  .option('--seed <n>', 'seed of the schedule (default: random, printed)', integerOption(0, 0x7fffffff))
  .option('--clients <n>', 'concurrent clients', integerOption(1, 1000), 6)
  .option('--out <dir>', 'where the history, logs and report go', 'jepsen-out')
  .action(async (opts: JepsenCliOptions) => {
    try {
      process.exitCode = await runJepsenCli(opts, (line) => console.log(line));
    } catch (e) {
      process.stderr.write(`zkts jepsen: ${e instanceof JepsenUsageError ? e.message : ((e as Error).stack ?? e)}\n`);
      process.exitCode = 2;
    }
    // Sockets of clients that gave up may linger; the verdict is in.
    process.exit();
  });

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

await program.parseAsync(process.argv);
