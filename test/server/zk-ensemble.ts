/**
 * Starts Apache ZooKeeper 3.8 (Debian's package) as members of an ensemble (QuorumPeerMain with
 * server.N lines and myid), for mixed-ensemble tests. Each server gets its own temp dir; stop() kills
 * it (SIGTERM, then SIGKILL) and removes the dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QuorumConfig } from '../../src/jute/election.js';
import { fourLetter, ZOOKEEPER_CLASSPATH } from '../support/servers.js';

export interface EnsembleZk {
  sid: number;
  clientPort: number;
  process: ChildProcess;
  output(): string;
  /** `Mode: leader|follower|...` from srvr, or null while it does not serve. */
  mode(): Promise<string | null>;
  stop(): Promise<void>;
}

export function startEnsembleZk(sid: number, config: QuorumConfig, clientPort: number): EnsembleZk {
  const dir = mkdtempSync(join(tmpdir(), `zk-ensemble-${sid}-`));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'myid'), `${sid}\n`);
  const servers = config.members.map((m) => `server.${m.sid}=${m.addresses[0]!.host}:${m.addresses[0]!.quorumPort}:${m.addresses[0]!.electionPort}`);
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    ['tickTime=2000', 'initLimit=10', 'syncLimit=5', `dataDir=${dataDir}`, `clientPort=${clientPort}`, 'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*', 'admin.enableServer=false', ...servers].join('\n') + '\n',
  );
  const log4j = join(dir, 'log4j.properties');
  writeFileSync(log4j, 'log4j.rootLogger=INFO, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.CONSOLE.layout.ConversionPattern=%d %-5p [%c{1}] %m%n\n');
  const child = spawn(
    '/usr/bin/java',
    ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', ZOOKEEPER_CLASSPATH, `-Dlog4j.configuration=file:${log4j}`, '-Dzookeeper.admin.enableServer=false', 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    sid,
    clientPort,
    process: child,
    output: () => out,
    async mode() {
      const srvr = await fourLetter(clientPort, 'srvr').catch(() => '');
      return /^Mode: (\S+)/m.exec(srvr)?.[1] ?? null;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until every server reports a mode (leader/follower); returns them in order. */
export async function waitForModes(zks: EnsembleZk[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const modes = await Promise.all(zks.map((z) => z.mode()));
    if (modes.every((m) => m === 'leader' || m === 'follower')) return modes as string[];
    if (Date.now() > deadline) throw new Error(`no quorum within ${timeoutMs} ms: modes ${JSON.stringify(modes)}\n${zks.map((z) => `--- sid ${z.sid}\n${z.output().slice(-3000)}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
