/**
 * Replicated ensembles for `zkts bench --compare --ensemble N`: N servers of one kind (zkts, or
 * Apache ZooKeeper 3.8's QuorumPeerMain) on loopback, each a ManagedServer with the same server
 * lines, its own myid and ports, tickTime as given, initLimit 10, syncLimit 5, fsync on. Clients
 * spread over every member; failover kills the leader.
 */
import { createConnection } from 'node:net';
import { now } from './runner.js';
import { ManagedServer, freePort, type ServerKind, type ServerSettings } from './servers.js';

export class BenchEnsemble {
  readonly members: ManagedServer[];

  private constructor(readonly kind: ServerKind, members: ManagedServer[]) {
    this.members = members;
  }

  /** Allocates ports and data dirs for `size` servers of `kind` (not started yet). */
  static async create(kind: 'zkts' | 'zookeeper', size: number, settings: ServerSettings, tag: string): Promise<BenchEnsemble> {
    const ports: { client: number; quorum: number; election: number }[] = [];
    for (let i = 0; i < size; i++) ports.push({ client: await freePort(), quorum: await freePort(), election: await freePort() });
    const serverLines = ports.map((p, i) => `server.${i + 1}=127.0.0.1:${p.quorum}:${p.election}:participant`);
    const members = ports.map((p, i) => new ManagedServer(kind, settings, `${tag}-${i + 1}`, { sid: i + 1, clientPort: p.client, serverLines }));
    return new BenchEnsemble(kind, members);
  }

  /** Starts every member and waits until one leads and all others follow. */
  async start(): Promise<void> {
    for (const m of this.members) await m.spawn();
    await this.settled();
  }

  get hosts(): { host: string; port: number }[] {
    return this.members.map((m) => ({ host: '127.0.0.1', port: m.port }));
  }

  get pids(): number[] {
    return this.members.map((m) => m.pid);
  }

  describe(): string {
    return `${this.members.length} x ${this.members[0]!.describe()}, initLimit=10 syncLimit=5`;
  }

  running(m: ManagedServer): boolean {
    return m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null;
  }

  /** Waits until every running member serves (srvr Mode) with exactly one leader; returns it. */
  async settled(timeoutMs = 120_000): Promise<ManagedServer> {
    const deadline = now() + timeoutMs;
    for (;;) {
      const running = this.members.filter((m) => this.running(m));
      const modes = await Promise.all(running.map((m) => serverMode(m.port)));
      const leaders = running.filter((_, i) => modes[i] === 'leader');
      if (leaders.length === 1 && modes.every((x) => x === 'leader' || x === 'follower')) return leaders[0]!;
      if (now() > deadline) throw new Error(`${this.kind} ensemble did not settle: ${running.map((m, i) => `${m.tag} ${modes[i]}`).join(', ')}\n${running.map((m) => m.tail()).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.destroy()));
  }
}

/** The Mode line of `srvr` on a client port, or null when it does not answer as a serving member. */
function serverMode(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    let out = '';
    const s = createConnection({ host: '127.0.0.1', port });
    const done = () => resolve(/^Mode: (\S+)/m.exec(out)?.[1] ?? null);
    s.setTimeout(2000, () => s.destroy());
    s.on('connect', () => s.write('srvr'));
    s.on('data', (d) => (out += d.toString()));
    s.on('error', () => {});
    s.on('close', done);
  });
}
