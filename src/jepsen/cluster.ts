/**
 * An ensemble of real server processes on loopback (zkts, Apache ZooKeeper 3.8.0, or a mix) whose
 * every link goes through an in-process TCP proxy (see proxy.ts), so the harness can partition it.
 *
 * Server i's zoo.cfg names itself at its real quorum and election ports (ZooKeeper binds what its
 * own server.N line says) and each peer j at the ports of the proxies for the link i->j (peers'
 * lines are only dialled). Clients reach server j through its client proxy. The harness itself
 * (4lw `srvr` for the leader, final-state reads) talks to the real client ports, never cut.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { ZOOKEEPER_CLASSPATH, distFile, freePort, portOpen } from '../bench/servers.js';
import { LinkProxy } from './proxy.js';

export type ServerKind = 'zkts' | 'zookeeper';

export interface ClusterOptions {
  kinds: ServerKind[];
  /** Where data dirs, configs and server logs go. */
  dir: string;
  tickTime: number;
  initLimit: number;
  syncLimit: number;
  /** Extra environment for zkts processes (e.g. the test-only ZKTS_TEST_BROKEN switch). */
  zktsEnv?: Record<string, string>;
}

export interface ServerNode {
  sid: number;
  kind: ServerKind;
  /** The real client port (the harness's control plane). */
  clientPort: number;
  /** The port clients use: the client proxy in front of clientPort. */
  proxiedClientPort: number;
  /** For zkts: the file the fsync-fault preload reads before each fdatasync (see fsync-fault.ts). */
  fsyncControl: string;
  child: ChildProcess | undefined;
  /** Stopped with SIGSTOP and not yet continued. */
  paused: boolean;
}

const pairKey = (from: number, to: number) => `${from}->${to}`;

export class Cluster {
  readonly nodes: ServerNode[] = [];
  /** Per ordered pair of sids, the proxies for the quorum and election ports of `to` as `from` dials them. */
  private readonly peerProxies = new Map<string, { quorum: LinkProxy; election: LinkProxy }>();
  private readonly clientProxies = new Map<number, LinkProxy>();
  private readonly real = new Map<number, { quorum: number; election: number }>();

  private constructor(readonly opts: ClusterOptions) {}

  static async create(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts);
    await c.setUp();
    return c;
  }

  get sids(): number[] {
    return this.nodes.map((n) => n.sid);
  }

  node(sid: number): ServerNode {
    const n = this.nodes.find((x) => x.sid === sid);
    if (!n) throw new Error(`no server ${sid}`);
    return n;
  }

  /** host:port pairs clients use, one per server (through the client proxies). */
  clientAddresses(): { sid: number; host: string; port: number }[] {
    return this.nodes.map((n) => ({ sid: n.sid, host: '127.0.0.1', port: n.proxiedClientPort }));
  }

  private async setUp(): Promise<void> {
    const n = this.opts.kinds.length;
    for (let sid = 1; sid <= n; sid++) this.real.set(sid, { quorum: await freePort(), election: await freePort() });
    for (let from = 1; from <= n; from++) {
      for (let to = 1; to <= n; to++) {
        if (from === to) continue;
        const quorum = new LinkProxy({ name: `quorum ${pairKey(from, to)}`, targetPort: this.real.get(to)!.quorum });
        await quorum.listen();
        const election = new LinkProxy({ name: `election ${pairKey(from, to)}`, targetPort: this.real.get(to)!.election });
        await election.listen();
        this.peerProxies.set(pairKey(from, to), { quorum, election });
      }
    }
    // An initiator's election handshake must name the proxy its peer dials back through.
    for (const [key, p] of this.peerProxies) {
      const [from, to] = key.split('->').map(Number) as [number, number];
      p.election.opts.rewriteElectionAddress = `127.0.0.1:${this.peerProxies.get(pairKey(to, from))!.election.port}`;
    }
    for (let sid = 1; sid <= n; sid++) {
      const clientPort = await freePort();
      const proxy = new LinkProxy({ name: `client ->${sid}`, targetPort: clientPort });
      await proxy.listen();
      this.clientProxies.set(sid, proxy);
      const dir = join(this.opts.dir, `s${sid}`);
      mkdirSync(join(dir, 'data'), { recursive: true });
      writeFileSync(join(dir, 'data', 'myid'), `${sid}\n`);
      this.nodes.push({ sid, kind: this.opts.kinds[sid - 1]!, clientPort, proxiedClientPort: proxy.port, fsyncControl: join(dir, 'fsync-control'), child: undefined, paused: false });
    }
  }

  /** Server `sid`'s zoo.cfg: itself at its real ports, each peer at the proxies of the link sid->peer. */
  zooCfg(sid: number): string {
    const node = this.node(sid);
    const lines = [
      `tickTime=${this.opts.tickTime}`,
      `initLimit=${this.opts.initLimit}`,
      `syncLimit=${this.opts.syncLimit}`,
      `dataDir=${join(this.opts.dir, `s${sid}`, 'data')}`,
      `clientPort=${node.clientPort}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      '4lw.commands.whitelist=*',
      'admin.enableServer=false',
    ];
    for (const peer of this.sids) {
      const ports = peer === sid ? this.real.get(sid)! : { quorum: this.peerProxies.get(pairKey(sid, peer))!.quorum.port, election: this.peerProxies.get(pairKey(sid, peer))!.election.port };
      lines.push(`server.${peer}=127.0.0.1:${ports.quorum}:${ports.election}:participant`);
    }
    return lines.join('\n') + '\n';
  }

  logFile(sid: number): string {
    return join(this.opts.dir, `s${sid}`, 'server.log');
  }

  running(sid: number): boolean {
    const c = this.node(sid).child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Spawns server `sid` (first start or restart, same data dir) without waiting for it to serve. */
  start(sid: number): void {
    const node = this.node(sid);
    if (this.running(sid)) return;
    const dir = join(this.opts.dir, `s${sid}`);
    const cfg = join(dir, 'zoo.cfg');
    // ZooKeeper moves the server lines of zoo.cfg into zoo.cfg.dynamic.* at start: write it every time.
    writeFileSync(cfg, this.zooCfg(sid));
    const fd = openSync(this.logFile(sid), 'a');
    writeSync(fd, `=== ${new Date().toISOString()} starting ${node.kind} server ${sid}\n`);
    if (node.kind === 'zkts') {
      writeFileSync(node.fsyncControl, '');
      node.child = spawn(process.execPath, ['--import', distFile('src/jepsen/fsync-fault.js'), distFile('bin/zkts.js'), 'start', '--config', cfg], {
        cwd: dir,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ZKTS_LOG_LEVEL: 'info', ZKTS_JEPSEN_FSYNC_CONTROL: node.fsyncControl, ...this.opts.zktsEnv },
      });
    } else {
      const log4j = join(dir, 'log4j.properties');
      writeFileSync(log4j, 'log4j.rootLogger=INFO, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.CONSOLE.layout.ConversionPattern=%d %-5p [%c{1}] %m%n\n');
      node.child = spawn(
        '/usr/bin/java',
        ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', ZOOKEEPER_CLASSPATH, `-Dlog4j.configuration=file:${log4j}`, '-Dzookeeper.admin.enableServer=false', 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg],
        { cwd: dir, stdio: ['ignore', fd, fd] },
      );
    }
    closeSync(fd);
    node.paused = false;
  }

  /** Starts every server, the highest sid first (as test/support/ensemble.ts: a slow JVM would otherwise be elected around). */
  async startAll(): Promise<void> {
    const last = this.sids.at(-1)!;
    this.start(last);
    await portOpen(this.real.get(last)!.election, 60_000);
    for (const sid of this.sids) this.start(sid);
  }

  async kill(sid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.node(sid);
    const c = node.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    if (node.paused) c.kill('SIGCONT');
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    node.paused = false;
  }

  pause(sid: number): void {
    const node = this.node(sid);
    if (!this.running(sid) || node.paused) return;
    node.child!.kill('SIGSTOP');
    node.paused = true;
  }

  resume(sid: number): void {
    const node = this.node(sid);
    if (!node.paused) return;
    if (this.running(sid)) node.child!.kill('SIGCONT');
    node.paused = false;
  }

  /** srvr's Mode ('leader', 'follower', 'standalone'), or null when it does not answer or serve. */
  async mode(sid: number): Promise<string | null> {
    if (!this.running(sid) || this.node(sid).paused) return null;
    const srvr = await fourLetter(this.node(sid).clientPort, 'srvr', 2000).catch(() => '');
    return /^Mode: (\S+)/m.exec(srvr)?.[1] ?? null;
  }

  /** The sid whose srvr says leader (the first if a deposed leader has not noticed yet), or null. */
  async leader(): Promise<number | null> {
    const modes = await Promise.all(this.sids.map((sid) => this.mode(sid)));
    const i = modes.indexOf('leader');
    return i === -1 ? null : this.sids[i]!;
  }

  /** Waits until every running server serves and exactly one leads. */
  async settled(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const up = this.sids.filter((sid) => this.running(sid));
      const modes = await Promise.all(up.map((sid) => this.mode(sid)));
      const leaders = up.filter((_, i) => modes[i] === 'leader');
      if (leaders.length === 1 && modes.every((m) => m === 'leader' || m === 'follower')) return leaders[0]!;
      if (Date.now() > deadline) throw new Error(`ensemble did not settle within ${timeoutMs} ms: ${up.map((sid, i) => `${sid}: ${modes[i]}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Cuts the server-to-server links between a and b: `reject` (connections dropped, new ones
   * refused), `drop` (packets dropped both ways, which TCP sees as a stall: connections stay and
   * bytes wait for the heal), or `drop-from-a` (only a's bytes to b wait).
   */
  cutPeers(a: number, b: number, how: 'reject' | 'drop' | 'drop-from-a' = 'reject'): void {
    const ab = this.peerProxies.get(pairKey(a, b))!;
    const ba = this.peerProxies.get(pairKey(b, a))!;
    const all = [ab.quorum, ab.election, ba.quorum, ba.election];
    if (how === 'reject') for (const p of all) p.set({ forward: false, backward: false, reject: true });
    else if (how === 'drop') for (const p of all) p.set({ forward: false, backward: false, reject: false });
    else {
      // a->b proxies carry a's bytes forward; b->a proxies carry them backward.
      for (const p of [ab.quorum, ab.election]) p.set({ ...p.cut, forward: false });
      for (const p of [ba.quorum, ba.election]) p.set({ ...p.cut, backward: false });
    }
  }

  /** Cuts clients off server `sid` (its client proxy drops connections and refuses new ones). */
  cutClients(sid: number): void {
    this.clientProxies.get(sid)!.set({ forward: false, backward: false, reject: true });
  }

  /** Every link whole again. */
  healAll(): void {
    for (const p of this.peerProxies.values()) {
      p.quorum.heal();
      p.election.heal();
    }
    for (const p of this.clientProxies.values()) p.heal();
  }

  setFsyncFault(sid: number, mode: string): void {
    writeFileSync(this.node(sid).fsyncControl, mode);
  }

  async stop(): Promise<void> {
    await Promise.all(this.sids.map((sid) => this.kill(sid)));
    for (const p of this.peerProxies.values()) {
      await p.quorum.close();
      await p.election.close();
    }
    for (const p of this.clientProxies.values()) await p.close();
  }
}

/** A four-letter word's answer (the server closes the connection after it). */
export function fourLetter(port: number, cmd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.setTimeout(timeoutMs, () => {
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
