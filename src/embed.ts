/**
 * zkts inside a Node project (tests above all): a standalone server in this process, or a
 * replicated ensemble of server processes that can be killed and restarted, each on ports no other
 * test file can be using, with data in a temp dir removed at stop() unless a dataDir is given.
 *
 *   const zk = await startServer();            // zk.connectString: '127.0.0.1:<free port>'
 *   const ens = await startEnsemble({ servers: 3 });
 *   const leader = await ens.settled(); await ens.kill(leader); ...; await ens.restart(leader); await ens.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { parseZooCfg } from './server/config.js';
import { ZkTcpServer } from './server/tcp-server.js';

/** zoo.cfg settings, as key and value: `{ tickTime: 500, '4lw.commands.whitelist': '*' }`. */
export type ZooCfg = Record<string, string | number | boolean>;

export interface StartServerOptions {
  /** Where snapshots and logs go; default: a new temp dir, removed by stop(). */
  dataDir?: string;
  /** Client port; default 0: a free port the OS picks, so parallel test files never collide. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Any other zoo.cfg settings (tickTime, extendedTypesEnabled, 4lw.commands.whitelist, ssl.*, ...). */
  config?: ZooCfg;
  /** A pino logger for the server's log lines; default: silent. */
  logger?: Logger;
}

export interface EmbeddedServer {
  host: string;
  port: number;
  /** `host:port`, what ZooKeeper clients take. */
  connectString: string;
  /** The TLS port, when the config has a secureClientPort (0 there picks a free one, as port 0 does). */
  securePort: number | undefined;
  dataDir: string;
  /** A clean shutdown (a last snapshot); the temp dataDir, if it was one, is removed. */
  stop(): Promise<void>;
}

/** Starts a standalone zkts server in this process. */
export async function startServer(opts: StartServerOptions = {}): Promise<EmbeddedServer> {
  const temp = opts.dataDir === undefined;
  const dataDir = resolve(opts.dataDir ?? mkdtempSync(join(tmpdir(), 'zkts-embedded-')));
  const host = opts.host ?? '127.0.0.1';
  const log = opts.logger ?? pino({ level: 'silent' });
  let server: ZkTcpServer;
  let port: number;
  let securePort: number | undefined;
  try {
    mkdirSync(dataDir, { recursive: true });
    const config = parseZooCfg(zooCfgText({ ...opts.config, dataDir, clientPort: opts.port ?? 0, clientPortAddress: host }), '(startServer options)');
    for (const w of config.warnings) log.warn(w);
    server = new ZkTcpServer(config, log);
    ({ port, securePort } = await server.start());
  } catch (e) {
    // A bad setting or a port in use: nothing is left behind.
    if (temp) rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  let stopped: Promise<void> | undefined;
  return {
    host,
    port,
    connectString: `${host}:${port}`,
    securePort,
    dataDir,
    stop: () =>
      (stopped ??= server.stop().finally(() => {
        if (temp) rmSync(dataDir, { recursive: true, force: true });
      })),
  };
}

export interface StartEnsembleOptions {
  /** How many servers; default 3. One runs standalone (as ZooKeeper with one server line), still a process to kill and restart. */
  servers?: number;
  /** Parent of the servers' dataDirs (s1, s2, ...); default: a new temp dir, removed by stop(). */
  dir?: string;
  /** tickTime of every server; default 500 ms, so that elections and session expiry are quick in tests. */
  tickTime?: number;
  /** Any other zoo.cfg settings for every server. */
  config?: ZooCfg;
  /** How long start and restart wait for a leader; default 60 s. */
  timeoutMs?: number;
}

export interface EnsembleServer {
  /** The server's id (server.N, myid). */
  id: number;
  host: string;
  port: number;
  connectString: string;
  dataDir: string;
  /** Whether its process is running. */
  readonly running: boolean;
  /** The pid of its process while it runs. */
  readonly pid: number | undefined;
  /** 'leader' or 'follower' while it serves clients ('standalone' in an ensemble of one), else null (srvr's Mode). */
  mode(): Promise<'leader' | 'follower' | 'standalone' | null>;
  /** What its process printed (the last 256 KiB): the server's JSON log lines. */
  output(): string;
}

export interface Ensemble {
  /** Every server's host:port, comma-separated: what ZooKeeper clients take. */
  connectString: string;
  servers: EnsembleServer[];
  /** Resolves once every running server serves and exactly one leads; returns the leader's id. */
  settled(timeoutMs?: number): Promise<number>;
  /** kill -9 (or `signal`) of one server; resolves when its process has exited. */
  kill(id: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a server again (stopping it first if it runs), same ports and data; resolves once it serves, if a quorum runs. */
  restart(id: number): Promise<void>;
  /** Stops every server (SIGTERM, a clean shutdown) and removes the temp dir, if it was one. */
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 256 * 1024;

/**
 * Starts a replicated ensemble of zkts server processes on loopback. Processes, not servers in
 * this process, so that kill() is a real crash (kill -9: nothing more reaches the disk) and a
 * restart recovers from what the dataDir holds.
 *
 * The quorum and election ports have to be written into every server's zoo.cfg before any starts,
 * so they cannot be port 0. They are reserved by binding them all at once (no two alike), released
 * just before the servers start, and if another process takes one in between (the server then
 * fails with EADDRINUSE), the whole ensemble is started again on new ports.
 */
export async function startEnsemble(opts: StartEnsembleOptions = {}): Promise<Ensemble> {
  const n = opts.servers ?? 3;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`servers must be a positive integer, got ${n}`);
  const temp = opts.dir === undefined;
  const root = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), 'zkts-ensemble-')));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  for (let attempt = 1; ; attempt++) {
    const ensemble = await launch(root, n, opts, temp);
    try {
      await ensemble.settled(timeoutMs);
      return ensemble;
    } catch (e) {
      await ensemble.stop(false);
      if (!(e instanceof PortTakenError) || attempt === 3) {
        if (temp) rmSync(root, { recursive: true, force: true });
        throw e;
      }
      for (let id = 1; id <= n; id++) rmSync(join(root, `s${id}`), { recursive: true, force: true });
    }
  }
}

class PortTakenError extends Error {}

interface Member extends EnsembleServer {
  start(): void;
  kill(signal: NodeJS.Signals): Promise<void>;
}

async function launch(root: string, n: number, opts: StartEnsembleOptions, temp: boolean): Promise<Ensemble & { stop(removeDir?: boolean): Promise<void> }> {
  const ports = await reservePorts(n * 3);
  const host = '127.0.0.1';
  const serverLines: ZooCfg = {};
  for (let id = 1; id <= n; id++) serverLines[`server.${id}`] = `${host}:${ports[(id - 1) * 3 + 1]}:${ports[(id - 1) * 3 + 2]}`;
  const members: Member[] = [];
  for (let id = 1; id <= n; id++) {
    const dataDir = join(root, `s${id}`, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), `${id}\n`);
    const cfg = join(root, `s${id}`, 'zoo.cfg');
    writeFileSync(
      cfg,
      zooCfgText({
        tickTime: opts.tickTime ?? 500,
        initLimit: 10,
        syncLimit: 5,
        '4lw.commands.whitelist': 'srvr,ruok,mntr,conf,stat',
        ...opts.config,
        dataDir,
        clientPort: ports[(id - 1) * 3]!,
        clientPortAddress: host,
        ...serverLines,
      }),
    );
    members.push(member(id, host, ports[(id - 1) * 3]!, dataDir, cfg));
  }
  for (const m of members) m.start();
  const byId = (id: number): Member => {
    const m = members.find((x) => x.id === id);
    if (!m) throw new RangeError(`no server ${id} in this ensemble (1..${n})`);
    return m;
  };
  const ensemble = {
    connectString: members.map((m) => m.connectString).join(','),
    servers: members as EnsembleServer[],
    async settled(timeoutMs = 60_000): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const m of members) {
          if (!m.running && /EADDRINUSE/.test(m.output())) throw new PortTakenError(`server ${m.id}: a port was taken by another process`);
        }
        const running = members.filter((m) => m.running);
        const modes = await Promise.all(running.map((m) => m.mode()));
        const leaders = running.filter((_, i) => modes[i] === 'leader' || modes[i] === 'standalone');
        if (running.length > 0 && leaders.length === 1 && modes.every((x) => x !== null)) return leaders[0]!.id;
        if (Date.now() > deadline) {
          throw new Error(`the ensemble did not settle in ${timeoutMs} ms: ${running.map((m, i) => `server ${m.id}: ${modes[i] ?? 'not serving'}`).join(', ')}\n` + members.map((m) => `--- server ${m.id}\n${m.output().slice(-4000)}`).join('\n'));
        }
        await sleep(100);
      }
    },
    async kill(id: number, signal: NodeJS.Signals = 'SIGKILL') {
      await byId(id).kill(signal);
    },
    async restart(id: number) {
      const m = byId(id);
      await m.kill('SIGTERM');
      m.start();
      const quorum = members.filter((x) => x.running).length > n / 2;
      if (quorum) await ensemble.settled(opts.timeoutMs ?? 60_000);
    },
    async stop(removeDir = true) {
      await Promise.all(members.map((m) => m.kill('SIGTERM')));
      if (removeDir && temp) rmSync(root, { recursive: true, force: true });
    },
  };
  return ensemble;
}

function member(id: number, host: string, port: number, dataDir: string, cfg: string): Member {
  let child: ChildProcess | undefined;
  let out = '';
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    id,
    host,
    port,
    connectString: `${host}:${port}`,
    dataDir,
    get running() {
      return running();
    },
    get pid() {
      return running() ? child!.pid : undefined;
    },
    output: () => out,
    async mode() {
      if (!running()) return null;
      const srvr = await fourLetterWord(host, port, 'srvr').catch(() => '');
      const mode = /^Mode: (\S+)/m.exec(srvr)?.[1];
      return mode === 'leader' || mode === 'follower' || mode === 'standalone' ? mode : null;
    },
    start() {
      out = '';
      const c = spawn(process.execPath, [cliPath(), 'start', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      liveChildren.add(c);
      c.once('exit', () => liveChildren.delete(c));
      if (liveChildren.size === 1) process.on('exit', killLiveChildren);
      const keep = (d: Buffer) => {
        out += d.toString();
        if (out.length > OUTPUT_LIMIT) out = out.slice(-OUTPUT_LIMIT);
      };
      c.stdout!.on('data', keep);
      c.stderr!.on('data', keep);
    },
    async kill(signal: NodeJS.Signals) {
      const c = child;
      if (!c || !running()) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      // A clean shutdown that hangs is ended by force.
      const force = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** Server processes still running: killed if this process exits without stopping its ensembles. */
const liveChildren = new Set<ChildProcess>();

function killLiveChildren(): void {
  for (const c of liveChildren) c.kill('SIGKILL');
}

/** The zkts CLI next to this module: dist/bin/zkts.js from dist/src/embed.js (or from src/ when run from source). */
function cliPath(): string {
  for (const rel of ['../bin/zkts.js', '../dist/bin/zkts.js']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('cannot find the zkts CLI (dist/bin/zkts.js): run `npm run build`');
}

/** `count` distinct free ports, held at once so that none is handed out twice, then released. */
async function reservePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => res());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

function zooCfgText(cfg: ZooCfg): string {
  return (
    Object.entries(cfg)
      .map(([k, v]) => {
        if (/[\r\n=]/.test(k) || /[\r\n]/.test(String(v))) throw new TypeError(`config: a key or value holds a line break or a key an '=': ${JSON.stringify(k)}`);
        return `${k}=${v}`;
      })
      .join('\n') + '\n'
  );
}

function fourLetterWord(host: string, port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let data = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('no answer')));
    socket.on('connect', () => socket.write(word));
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
