/**
 * Runs an ensemble of real server processes on loopback, each zkts (the built CLI) or Apache
 * ZooKeeper 3.8.0 (Debian's QuorumPeerMain), from the same zoo.cfg lines: server.N, myid, ports
 * picked free. Members can be killed (SIGKILL or SIGTERM) and started again on the same dataDir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZOOKEEPER_ADMIN_CLASSPATH } from './operability.js';
import { portOpen } from '../../src/bench/servers.js';
import { fourLetter, freePort, ZKTS_BIN, ZOOKEEPER_CLASSPATH } from './servers.js';

export type Kind = 'zkts' | 'zookeeper';

export interface Member {
  sid: number;
  kind: Kind;
  clientPort: number;
  dataDir: string;
  /** The admin server's port, when started with `admin: true`. */
  adminPort?: number;
  /** A zkts member's Prometheus port, when started with `metrics: true`. */
  metricsPort?: number;
  /** Everything the current (or last) process wrote. */
  output(): string;
  running(): boolean;
  /** `leader`, `follower` (srvr's Mode), or null while it does not serve. */
  mode(): Promise<string | null>;
  /**
   * Starts the process; with `as`, as that kind from now on (the same sid, zoo.cfg lines, myid and
   * dataDir: one step of a rolling migration). With `keepConfig`, zoo.cfg is left as the last process
   * left it (ZooKeeper with reconfigEnabled moves its server lines into zoo.cfg.dynamic.*).
   */
  start(as?: Kind, keepConfig?: boolean): void;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface Ensemble {
  members: Member[];
  /** Waits until every running member serves and exactly one leads; returns the leader. */
  settled(timeoutMs?: number): Promise<Member>;
  stop(): Promise<void>;
}

export interface EnsembleOptions {
  tickTime?: number;
  initLimit?: number;
  syncLimit?: number;
  /** Each member runs its admin server on 127.0.0.1 (ZooKeeper with the Jetty jars it needs). */
  admin?: boolean;
  /** Each zkts member serves Prometheus metrics on 127.0.0.1 (Debian's ZooKeeper has no provider jar). */
  metrics?: boolean;
  /** Java system properties (key=value) for every member: -D on the java or zkts command line. */
  systemProperties?: string[];
  /** zoo.cfg lines for the Apache ZooKeeper members only. */
  zookeeperCfg?: string[];
  /** Each member's role in the server lines (default: all participants); observers get peerType=observer too. */
  roles?: ('participant' | 'observer')[];
  /** More zoo.cfg lines for every member (e.g. sslQuorum and ssl.quorum.*). */
  cfg?: string[];
}

export async function startEnsemble(kinds: Kind[], opts: EnsembleOptions = {}): Promise<Ensemble> {
  const root = mkdtempSync(join(tmpdir(), 'zkts-ensemble-'));
  const ports: { client: number; quorum: number; election: number; admin?: number; metrics?: number }[] = [];
  for (let i = 0; i < kinds.length; i++) {
    ports.push({
      client: await freePort(),
      quorum: await freePort(),
      election: await freePort(),
      admin: opts.admin ? await freePort() : undefined,
      metrics: opts.metrics && kinds[i] === 'zkts' ? await freePort() : undefined,
    });
  }
  const serverLines = ports.map((p, i) => `server.${i + 1}=127.0.0.1:${p.quorum}:${p.election}:${opts.roles?.[i] ?? 'participant'}`);
  const members = kinds.map((kind, i) => makeMember(root, i + 1, kind, ports[i]!.client, serverLines, opts, ports[i]!.admin, ports[i]!.metrics));
  // The highest sid first, and the others once it takes part in elections: with equal data it then
  // leads whatever its kind (a JVM starting slowly would otherwise let the others elect without it).
  members.at(-1)!.start();
  await portOpen(ports.at(-1)!.election, 30_000, 50);
  for (const m of members.slice(0, -1)) m.start();
  const ensemble: Ensemble = {
    members,
    async settled(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const running = members.filter((m) => m.running());
        const modes = await Promise.all(running.map((m) => m.mode()));
        const leaders = running.filter((_, i) => modes[i] === 'leader');
        if (leaders.length === 1 && modes.every((x) => x === 'leader' || x === 'follower' || x === 'observer')) return leaders[0]!;
        if (Date.now() > deadline) {
          throw new Error(`ensemble did not settle: ${running.map((m, i) => `${m.kind} ${m.sid}: ${modes[i]}`).join(', ')}\n${members.map((m) => `--- ${m.kind} ${m.sid}\n${m.output().slice(-3000)}`).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await Promise.all(members.map((m) => m.kill('SIGKILL')));
      // KEEP_ENSEMBLE_DIRS=1 keeps every member's dataDir and logs for a post-mortem (long kill runs).
      if (process.env.KEEP_ENSEMBLE_DIRS) console.log(`ensemble dirs kept in ${root}`);
      else rmSync(root, { recursive: true, force: true });
    },
  };
  return ensemble;
}

function makeMember(root: string, sid: number, kind: Kind, clientPort: number, serverLines: string[], opts: EnsembleOptions, adminPort?: number, metricsPort?: number): Member {
  const dir = join(root, `s${sid}`);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'myid'), `${sid}\n`);
  const cfg = join(dir, 'zoo.cfg');
  const cfgText = [
    `tickTime=${opts.tickTime ?? 500}`,
    `initLimit=${opts.initLimit ?? 10}`,
    `syncLimit=${opts.syncLimit ?? 5}`,
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=0',
    '4lw.commands.whitelist=*',
    ...(adminPort === undefined ? ['admin.enableServer=false'] : ['admin.enableServer=true', 'admin.serverAddress=127.0.0.1', `admin.serverPort=${adminPort}`]),
    ...(metricsPort === undefined
      ? []
      : ['metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider', 'metricsProvider.httpHost=127.0.0.1', `metricsProvider.httpPort=${metricsPort}`]),
    ...(kind === 'zookeeper' ? (opts.zookeeperCfg ?? []) : []),
    ...(opts.roles?.[sid - 1] === 'observer' ? ['peerType=observer'] : []),
    ...(opts.cfg ?? []),
    ...serverLines,
  ].join('\n');
  const defines = (opts.systemProperties ?? []).map((p) => `-D${p}`);
  const log4j = join(dir, 'log4j.properties');
  writeFileSync(log4j, 'log4j.rootLogger=INFO, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.CONSOLE.layout.ConversionPattern=%d %-5p [%c{1}] %m%n\n');
  let child: ChildProcess | undefined;
  let out = '';
  const member: Member = {
    sid,
    kind,
    clientPort,
    dataDir,
    adminPort,
    metricsPort,
    output: () => out,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async mode() {
      const srvr = await fourLetter(clientPort, 'srvr').catch(() => '');
      return /^Mode: (\S+)/m.exec(srvr)?.[1] ?? null;
    },
    start(as, keepConfig = false) {
      if (as) member.kind = as;
      const kind = member.kind;
      // ZooKeeper rewrites zoo.cfg at start (server lines into zoo.cfg.dynamic.*): write it every time.
      if (!keepConfig) writeFileSync(cfg, cfgText + '\n');
      out = '';
      child =
        kind === 'zkts'
          ? spawn(process.execPath, [ZKTS_BIN, 'start', '--config', cfg, ...defines], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
          : spawn(
              '/usr/bin/java',
              ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', adminPort === undefined ? ZOOKEEPER_CLASSPATH : ZOOKEEPER_ADMIN_CLASSPATH, `-Dlog4j.configuration=file:${log4j}`, `-Dzookeeper.admin.enableServer=${adminPort !== undefined}`, ...defines, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg],
              { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
            );
      // With KEEP_ENSEMBLE_DIRS, every run's output is kept too (out holds only the last run's).
      const keep = process.env.KEEP_ENSEMBLE_DIRS ? join(dir, 'server.out') : undefined;
      const take = (d: Buffer) => {
        out += d.toString();
        if (keep) appendFileSync(keep, d);
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
    },
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return member;
}
