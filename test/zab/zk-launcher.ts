/**
 * Runs Apache ZooKeeper 3.8 (Debian's package) on a data dir the test owns, so that its files
 * survive stops and restarts and can be prepared beforehand. ZooKeeper keeps its files in
 * <dataDir>/version-2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fourLetter, freePort, ZOOKEEPER_CLASSPATH } from '../support/servers.js';

export interface Zk {
  port: number;
  process: ChildProcess;
  output(): string;
  /** SIGKILL (a crash) or SIGTERM (an orderly stop). */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** A four-letter word's answer. */
  fourLetter(cmd: string): Promise<string>;
}

export async function startZk(workDir: string, dataDir: string, props: string[] = []): Promise<Zk> {
  const port = await freePort();
  const cfg = join(workDir, `zoo-${port}.cfg`);
  writeFileSync(
    cfg,
    [`tickTime=2000`, `dataDir=${dataDir}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'maxClientCnxns=0', '4lw.commands.whitelist=*', 'admin.enableServer=false', 'maxSessionTimeout=600000'].join('\n') + '\n',
  );
  const log4j = join(workDir, 'log4j.properties');
  writeFileSync(log4j, 'log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.CONSOLE.layout.ConversionPattern=%d %-5p [%c{1}] %m%n\n');
  const child = spawn(
    '/usr/bin/java',
    ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', ZOOKEEPER_CLASSPATH, `-Dlog4j.configuration=file:${log4j}`, ...props.map((p) => `-D${p}`), 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg],
    { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ZooKeeper exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ZooKeeper did not start:\n${out}`);
    }
    // Listening is not enough (the port opens before the database is loaded): wait until srvr
    // reports a running server.
    const srvr = await fourLetter(port, 'srvr').catch(() => '');
    if (srvr.startsWith('Zookeeper version')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    process: child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    fourLetter: (cmd) => fourLetter(port, cmd),
  };
}
