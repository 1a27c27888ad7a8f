/**
 * The servers `zkts bench --compare` runs: zkts (the built CLI), Apache ZooKeeper 3.8 from Debian's
 * package, and the ceiling server. Each gets a temp dir with an equivalent zoo.cfg (forceSync=yes,
 * same tickTime, maxClientCnxns=0, every 4lw, no admin server) and a free port; "ready" means it
 * accepted a session (ZooKeeper drops handshakes until it has loaded its database).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZkClient } from '../client/index.js';
import { now } from './runner.js';

export type ServerKind = 'zkts' | 'zookeeper' | 'ceiling';
export const SERVER_KINDS: ServerKind[] = ['zkts', 'zookeeper', 'ceiling'];

export const ZOOKEEPER_CLASSPATH = [
  '/usr/share/java/zookeeper.jar',
  '/usr/share/java/zookeeper-jute.jar',
  '/usr/share/java/slf4j-api.jar',
  '/usr/share/java/slf4j-log4j12.jar',
  '/usr/share/java/log4j-1.2.jar',
].join(':');

export interface ServerSettings {
  tickTime: number;
  /** ZooKeeper's -Xms/-Xmx, e.g. 2g. */
  heap: string;
  /** Extra node arguments for zkts (e.g. --cpu-prof --cpu-prof-dir=...). */
  zktsNodeArgs: string[];
  /** Where temp dirs go (the data dirs, so on the disk being measured). */
  baseDir: string;
  /** Keep the temp dirs (logs, data) after stopping. */
  keep: boolean;
  /** More zoo.cfg lines (key=value), e.g. snapCount=20000 to make log rolls frequent. */
  extraConfig?: string[];
}

/** The built file `rel` (relative to the repository root's dist/), whether we run from dist or from sources. */
export function distFile(rel: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/bench -> dist; src/bench -> <root>/dist
  const root = here.includes('/dist/') ? resolve(here, '../..') : resolve(here, '../../dist');
  return join(root, rel);
}

/**
 * Where freePort looks: below Linux's ephemeral range (32768-60999), from which the kernel picks the
 * local port of every outgoing connection and of every listen on port 0. A port taken from that
 * range is free only until the server binds it; meanwhile any client connection on the machine may
 * take it (seen: a jepsen member's quorum port, EADDRINUSE, beside a run with thousands of clients).
 * 20000-21999 is left to kazoo's suite (scripts/kazoo-suite.sh), 30000 and up to fixed test ranges.
 */
const FREE_PORTS = { from: 22000, to: 29999 };
/** Ports this process handed out: not handed out again while the servers given them may not have bound them. */
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on now, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  const size = FREE_PORTS.to - FREE_PORTS.from + 1;
  if (handedOut.size > size / 2) handedOut.clear();
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = FREE_PORTS.from + Math.floor(Math.random() * size);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found in ${FREE_PORTS.from}-${FREE_PORTS.to}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Whether a TCP connection to 127.0.0.1:`port` succeeds now (the connection is closed at once). */
export function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolves once a TCP connection to 127.0.0.1:`port` succeeds, polling every `pollMs`; throws after `timeoutMs`. */
export async function portOpen(port: number, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await connects(port)) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export function zookeeperAvailable(): boolean {
  return existsSync('/usr/share/java/zookeeper.jar') && existsSync('/usr/bin/java');
}

export function javaVersion(): string {
  try {
    const r = spawnSyncText('/usr/bin/java', ['-version']);
    return r.split('\n')[0]?.trim() ?? '';
  } catch {
    return 'unknown';
  }
}

function spawnSyncText(cmd: string, args: string[]): string {
  // java -version writes to stderr.
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/** A server process we started; restart() keeps its data dir. */
export class ManagedServer {
  child!: ChildProcess;
  port = 0;
  readonly dir: string;
  private logFd = -1;
  /** Wall time of the last spawn. */
  spawnedAt = 0;

  /**
   * `member`: this server is one of an ensemble (src/bench/ensemble.ts): its id, its client port and
   * the ensemble's server lines, which go into its zoo.cfg with a myid file.
   */
  constructor(
    readonly kind: ServerKind,
    readonly settings: ServerSettings,
    readonly tag: string,
    readonly member?: { sid: number; clientPort: number; serverLines: string[] },
  ) {
    mkdirSync(settings.baseDir, { recursive: true });
    this.dir = mkdtempSync(join(settings.baseDir, `${kind}-${tag}-`));
    if (member) {
      this.port = member.clientPort;
      mkdirSync(join(this.dir, 'data'), { recursive: true });
      writeFileSync(join(this.dir, 'data', 'myid'), `${member.sid}\n`);
    }
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get hosts(): { host: string; port: number }[] {
    return [{ host: '127.0.0.1', port: this.port }];
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get logFile(): string {
    return join(this.dir, 'server.log');
  }

  /** What the table states about how this server was run. */
  describe(): string {
    switch (this.kind) {
      case 'zkts':
        return `node ${process.version} dist/bin/zkts.js start${this.settings.zktsNodeArgs.length ? ` (node ${this.settings.zktsNodeArgs.join(' ')})` : ''}`;
      case 'zookeeper':
        return `ZooKeeper 3.8 (Debian), java -Xms${this.settings.heap} -Xmx${this.settings.heap}`;
      case 'ceiling':
        return 'ceiling server (canned replies, no work)';
    }
  }

  private writeConfig(): string {
    const cfg = join(this.dir, 'zoo.cfg');
    writeFileSync(
      cfg,
      [
        `tickTime=${this.settings.tickTime}`,
        `dataDir=${join(this.dir, 'data')}`,
        `clientPort=${this.port}`,
        'clientPortAddress=127.0.0.1',
        'maxClientCnxns=0',
        'forceSync=yes',
        '4lw.commands.whitelist=*',
        'admin.enableServer=false',
        ...(this.member ? ['initLimit=10', 'syncLimit=5', ...this.member.serverLines] : []),
        ...(this.settings.extraConfig ?? []),
        '',
      ].join('\n'),
    );
    return cfg;
  }

  /** Spawns the process (first start or restart) without waiting for it. */
  async spawn(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const cfg = this.writeConfig();
    if (this.logFd >= 0) closeSync(this.logFd);
    this.logFd = openSync(this.logFile, 'a');
    const stdio: ['ignore', number, number] = ['ignore', this.logFd, this.logFd];
    this.spawnedAt = now();
    switch (this.kind) {
      case 'zkts':
        this.child = spawn(process.execPath, [...this.settings.zktsNodeArgs, distFile('bin/zkts.js'), 'start', '--config', cfg], {
          cwd: this.dir,
          stdio,
          env: { ...process.env, ZKTS_LOG_LEVEL: 'warn' },
        });
        break;
      case 'zookeeper': {
        const log4j = join(this.dir, 'log4j.properties');
        writeFileSync(
          log4j,
          'log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.CONSOLE.layout.ConversionPattern=%d %-5p %m%n\n',
        );
        this.child = spawn(
          '/usr/bin/java',
          [
            `-Xms${this.settings.heap}`,
            `-Xmx${this.settings.heap}`,
            '-cp',
            ZOOKEEPER_CLASSPATH,
            `-Dlog4j.configuration=file:${log4j}`,
            '-Dzookeeper.admin.enableServer=false',
            '-Dzookeeper.forceSync=yes',
            this.member ? 'org.apache.zookeeper.server.quorum.QuorumPeerMain' : 'org.apache.zookeeper.server.ZooKeeperServerMain',
            cfg,
          ],
          { cwd: this.dir, stdio },
        );
        break;
      }
      case 'ceiling':
        this.child = spawn(process.execPath, [distFile('src/bench/ceiling-server.js'), '--port', String(this.port)], { cwd: this.dir, stdio });
        break;
    }
  }

  /** Waits until the server answers a read on a new session (see waitForSession); returns the wall time it did. */
  waitReady(timeoutMs = 600_000): Promise<number> {
    return waitForSession(this.port, this.child, this.kind, () => this.tail(), timeoutMs);
  }

  async start(): Promise<void> {
    await this.spawn();
    await this.waitReady();
  }

  /** Stops the process (SIGTERM, or SIGKILL for a crash) and resolves with the ms it took to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    const child = this.child;
    const t0 = now();
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
    return now() - t0;
  }

  /** Stops it and removes its temp dir (unless --keep). */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.logFd >= 0) closeSync(this.logFd);
    this.logFd = -1;
    if (!this.settings.keep) rmSync(this.dir, { recursive: true, force: true });
  }

  tail(): string {
    try {
      const text = readFileSync(this.logFile, 'utf8');
      return text.slice(-2000);
    } catch {
      return '';
    }
  }
}

export function defaultBaseDir(): string {
  return join(tmpdir(), 'zkts-bench');
}

/**
 * Waits until the server on `port` answers a read on a new session; returns the wall time it did.
 * ZooKeeper opens its port before it serves, refusing connections or dropping handshakes until its
 * database is loaded: keep trying. Throws if `child` exits first or time runs out.
 */
export async function waitForSession(port: number, child: ChildProcess, what: string, tail: () => string, timeoutMs: number): Promise<number> {
  const deadline = now() + timeoutMs;
  let last = '';
  while (now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail()}`);
    }
    try {
      const c = await ZkClient.connect({ host: '127.0.0.1', port, connectTimeout: 2000, timeout: 10_000 });
      try {
        await c.exists('/');
        return now();
      } finally {
        await c.close().catch(() => c.disconnect());
      }
    } catch (e) {
      last = (e as Error).message;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms (${last}):\n${tail()}`);
}
