/**
 * Starts servers for tests: zkts (the built CLI, dist/bin/zkts.js) and Apache ZooKeeper 3.8 from
 * Debian's `zookeeper` package (the reference). Each gets a fresh temp dir and a free port, and is
 * killed by stop(). Build first: `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ZOOKEEPER_CLASSPATH, connects, freePort, waitForSession } from '../../src/bench/servers.js';

// The benchmark's server launcher (src/bench/servers.ts) defines these; tests use the same ones.
export { ZOOKEEPER_CLASSPATH, freePort, zookeeperAvailable } from '../../src/bench/servers.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const ZKTS_BIN = join(REPO_ROOT, 'dist/bin/zkts.js');

export interface RunningServer {
  kind: 'zkts' | 'zookeeper';
  port: number;
  dir: string;
  connectString: string;
  process: ChildProcess;
  /** Output so far (stdout + stderr), for assertions and failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Extra zoo.cfg lines, e.g. ['extendedTypesEnabled=true']. */
  cfg?: string[];
  /** Extra -D system properties, e.g. ['zookeeper.DigestAuthenticationProvider.superDigest=super:...']. */
  props?: string[];
  tickTime?: number;
  /** Extra jars on Apache ZooKeeper's class path, e.g. the Netty ones its TLS needs (NETTY_JARS). */
  classpath?: string[];
}

/** Jars Netty's TLS needs that Debian's zookeeper.jar does not list in its manifest. */
export const NETTY_JARS = ['/usr/share/java/netty-codec.jar', '/usr/share/java/netty-resolver.jar'];

async function waitForPort(port: number, child: ChildProcess, out: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out()}`);
    if (await connects(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not listen on ${port} within ${timeoutMs} ms:\n${out()}`);
}

export async function startServer(kind: 'zkts' | 'zookeeper', opts: ServerOptions = {}): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), `${kind}-test-`));
  const port = await freePort();
  const cfgLines = [
    `tickTime=${opts.tickTime ?? 2000}`,
    `dataDir=${join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=0',
    '4lw.commands.whitelist=*',
    'admin.enableServer=false',
    ...(opts.cfg ?? []),
  ];
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, cfgLines.join('\n') + '\n');
  const props = (opts.props ?? []).map((p) => `-D${p}`);
  let child: ChildProcess;
  if (kind === 'zkts') {
    child = spawn(process.execPath, [ZKTS_BIN, 'start', '--config', cfg, ...props], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    writeFileSync(join(dir, 'log4j.properties'), 'log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.CONSOLE.layout.ConversionPattern=%d %-5p %m%n\n');
    child = spawn(
      '/usr/bin/java',
      [
        '-Xmx512m',
        '-cp',
        [ZOOKEEPER_CLASSPATH, ...(opts.classpath ?? [])].join(':'),
        `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
        '-Dzookeeper.admin.enableServer=false',
        ...props,
        'org.apache.zookeeper.server.ZooKeeperServerMain',
        cfg,
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const out = () => output;
  try {
    await waitForPort(port, child, out, kind === 'zookeeper' ? 30_000 : 10_000);
    // ZooKeeper's port opens before it serves sessions (it drops handshakes until its database is
    // loaded); a client that connects then may wait long on a loaded machine.
    if (kind === 'zookeeper') await waitForSession(port, child, kind, out, 60_000);
  } catch (e) {
    // Nobody gets a handle to stop a server that never served: stop it here.
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    kind,
    port,
    dir,
    connectString: `127.0.0.1:${port}`,
    process: child,
    output: out,
    async stop() {
      if (child.exitCode === null) {
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

/** A four-letter word's answer (the server closes the connection after it); rejects after 3 s of silence. */
export function fourLetter(port: number, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.setTimeout(3000, () => {
      sock.destroy();
      reject(new Error(`${cmd}: no answer`));
    });
    let data = '';
    sock.on('connect', () => sock.write(cmd));
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}
