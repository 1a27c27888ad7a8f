import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { records } from '../jute/index.js';
import { addAuthId, digestId, registerAuthProvider, skipAclChecks } from './auth.js';
import type { ServerConfig } from './config.js';
import { Connection, normalizeAddress, type ConnectionHost } from './connection.js';
import { answerFourLetter } from './four-letter-commands.js';
import { FOUR_LETTER_CODES } from './four-letter.js';
import { join } from 'node:path';
import { Persistence } from '../zab/index.js';
import { nodeStorage, type Storage } from '../storage/storage.js';
import { SaslAuthenticator } from './sasl.js';
import type { AdminContext } from './admin/commands.js';
import { HttpEndpoints } from './http-endpoints.js';
import { ZkServer } from './zk-server.js';
import { securePortOptions, type SecurePortOptions } from './tls.js';
import { x509Identity, x509Provider } from './x509-auth.js';
import { recoveryProgress } from './progress.js';
import { elapsedMs } from './server-stats.js';

/** How often every connection's idle and handshake deadlines are checked (Connection.sweep). */
const SWEEP_INTERVAL_MS = 500;

/** The runtime around ZkServer: the TCP listener, per-IP connection limits, timers, auth. */
export class ZkTcpServer implements ConnectionHost {
  /** Set by start(), once the data is recovered. */
  server!: ZkServer;
  private persistence: Persistence | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private readonly listener: Server;
  /** The secure client port (secureClientPort), serving the same protocol over TLS. */
  private readonly secureListener: Server | undefined;
  private readonly secure: SecurePortOptions | undefined;
  /** Identities a TLS client's certificate gave it, added to its connection once accepted. */
  private readonly certificateIds = new WeakMap<Socket, records.Id[]>();
  /** The port secureClientPort listens on, once listening (conf's secureClientPort). */
  securePort: number | undefined;
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly sasl: SaslAuthenticator;
  private tickTimer: NodeJS.Timeout | undefined;
  private containerTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private failing = false;
  /** The admin server and the metrics endpoint, when configured (started with the client port). */
  endpoints: HttpEndpoints | undefined;
  private clientEndpoint: { host: string; port: number } | undefined;

  /** In an ensemble, clients are served only while this server leads or follows (see serve()). */
  private serving = true;
  /**
   * Connections accepted while not serving, unread until serve(), each with the listener that
   * watches for a four-letter word meanwhile (removed before the connection is handed over).
   */
  private readonly waiting = new Map<Socket, (chunk: Buffer) => void>();

  /** Called when the log fails (a write or fsync error) or a commit or timer throws: the server has stopped serving. */
  onFatal: (err: Error) => void = () => {};

  constructor(readonly config: ServerConfig, readonly log: Logger, private readonly storage: Storage = nodeStorage) {
    const jaasText = config.jaasConfigFile ? readJaas(config.jaasConfigFile, log) : '';
    this.sasl = new SaslAuthenticator(jaasText, Object.values(config.superUsers));
    skipAclChecks(config.skipAcl);
    if (config.skipAcl) log.warn('zookeeper.skipACL=yes: ACL checks are skipped');
    this.listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener.on('error', (err) => log.error({ err: err.message }, 'listener error'));
    if (config.x509AuthProvider) registerAuthProvider('x509', x509Provider(config.x509SuperUser));
    if (config.secureClientPort !== undefined) {
      const secure = securePortOptions(config);
      this.secure = secure;
      this.secureListener = createTlsServer({ ...secure.tls, handshakeTimeout: 10_000 }, (socket) => this.acceptSecure(socket, secure));
      this.secureListener.on('error', (err) => log.error({ err: err.message }, 'secure listener error'));
      // A failed handshake (no or untrusted certificate with ssl.clientAuth=need, no common protocol or cipher).
      this.secureListener.on('tlsClientError', (err, socket) => log.warn({ client: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'TLS handshake failed'));
    }
  }

  async start(): Promise<{ address: string; port: number; securePort?: number }> {
    const c = this.config;
    const t0 = performance.now();
    const startupSnapshots: number[] = [];
    const { persistence, recovered } = await Persistence.open({
      dataDir: c.dataDir,
      dataLogDir: c.dataLogDir,
      forceSync: c.forceSync,
      snapCount: c.snapCount,
      extendedTypesEnabled: c.extendedTypesEnabled,
      snapRetainCount: c.autopurgeSnapRetainCount,
      preAllocSize: c.preAllocSize,
      log: this.log,
      onFailure: (err) => this.fail(err, 'transaction log failed; shutting down'),
      storage: this.storage,
      progress: recoveryProgress({ log: this.log }),
      // Txns reach the log only once the server below exists.
      logMetrics: {
        fsynced: (ms) => this.server.stats.fsyncTime.add(ms),
        flushed: (txns) => this.server.stats.batchSize.add(txns),
      },
      // The snapshot of an empty dataDir is written before the server exists: counted once it does (as ZooKeeper counts it).
      snapshotted: (ms) => {
        const server = this.server as ZkServer | undefined;
        if (server) server.stats.snapshotTime.add(ms);
        else startupSnapshots.push(ms);
      },
    });
    this.persistence = persistence;
    this.log.info(
      {
        dataDir: join(c.dataDir, 'version-2'),
        snapshot: recovered.snapshotFile ?? null,
        replayed: recovered.replayed,
        znodes: recovered.tree.nodeCount,
        sessions: recovered.tree.sessions.size,
        zxid: '0x' + recovered.tree.lastProcessedZxid.toString(16),
        ms: Math.round(performance.now() - t0),
      },
      'data recovered',
    );
    this.server = new ZkServer(c, this.log, persistence, recovered.tree);
    for (const ms of startupSnapshots) this.server.stats.snapshotTime.add(ms);
    this.server.onFatal = (err) => this.fail(err, 'internal error in the commit path; shutting down');
    if (c.autopurgePurgeInterval > 0) {
      this.purgeTimer = setInterval(() => void this.purge(), c.autopurgePurgeInterval * 3600_000);
      this.purgeTimer.unref();
    }
    const listening = await this.listen();
    this.startTimers();
    return listening;
  }

  /** Opens the client port. A quorum peer opens it at start and serves through it only while it has a role. */
  async listen(): Promise<{ address: string; port: number; securePort?: number }> {
    // The HTTP endpoints first: once the client port answers, the admin and metrics ports do too
    // (a test or a supervisor that waits for the client port may query them at once).
    this.endpoints = await HttpEndpoints.start(this.config, this.log, () => this.commandContext());
    try {
      return await this.listenForClients();
    } catch (e) {
      await Promise.all([this.closeListeners(), this.endpoints.close()]);
      this.endpoints = undefined;
      throw e;
    }
  }

  private async listenForClients(): Promise<{ address: string; port: number; securePort?: number }> {
    const c = this.config;
    // clientPort -1: secureClientPort alone (config-check.ts), as ZooKeeper without a clientPort.
    const plain = c.clientPort >= 0 ? await listenOn(this.listener, c.clientPort, c.clientPortAddress) : undefined;
    if (plain) {
      this.log.info(plain, 'zkts listening');
      // A wildcard listener is reached on loopback.
      const a = plain.address;
      this.clientEndpoint = { host: a === '0.0.0.0' || a === '' ? '127.0.0.1' : a === '::' ? '::1' : a, port: plain.port };
    }
    let secure: { address: string; port: number } | undefined;
    if (this.secureListener) {
      secure = await listenOn(this.secureListener, c.secureClientPort!, c.secureClientPortAddress);
      this.securePort = secure.port;
      this.log.info({ ...secure, clientAuth: this.secure!.clientAuth }, 'zkts listening for TLS clients (secureClientPort)');
    }
    if (!plain) return { ...secure!, securePort: secure!.port };
    return { ...plain, ...(this.securePort !== undefined ? { securePort: this.securePort } : {}) };
  }

  private async closeListeners(): Promise<void> {
    await Promise.all([this.listener, this.secureListener].map((l) => (l?.listening ? new Promise<void>((resolve) => l.close(() => resolve())) : undefined)));
  }

  /** A TLS client after its handshake: its certificate decides its identities, or its disconnection. */
  private acceptSecure(socket: TLSSocket, secure: SecurePortOptions): void {
    const outcome = x509Identity(socket, secure, this.config);
    const client = `${socket.remoteAddress}:${socket.remotePort}`;
    if (!outcome.ok) {
      this.log.error({ client, reason: outcome.reason }, 'TLS client authentication failed; closing the connection');
      socket.destroy();
      return;
    }
    for (const id of outcome.ids) this.log.info({ client, scheme: id.scheme, id: id.id }, 'authenticated a TLS client by its certificate');
    if (outcome.ids.length > 0) this.certificateIds.set(socket, outcome.ids);
    this.accept(socket);
  }

  private startTimers(): void {
    this.scheduleTick();
    this.containerTimer = setInterval(() => this.guardedTimer('container and TTL check', () => this.server.checkContainers()), this.config.containerCheckIntervalMs);
    this.containerTimer.unref();
    this.sweepTimer = setInterval(() => this.guardedTimer('connection sweep', () => this.sweepConnections()), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  private stopTimers(): void {
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.containerTimer) clearInterval(this.containerTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.tickTimer = this.containerTimer = this.sweepTimer = undefined;
  }

  private sweepConnections(): void {
    const now = elapsedMs();
    for (const c of this.connections) c.sweep(now);
  }

  /** A quorum peer now leads or follows: clients are served by `server`. */
  serve(server: ZkServer): void {
    this.server = server;
    this.server.onFatal = (err) => this.fail(err, 'internal error in the commit path; shutting down');
    this.serving = true;
    this.endpoints?.attach(server.stats);
    this.startTimers();
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const [socket, firstData] of waiting) {
      // Left on a socket that had sent nothing yet, it would put the first chunk back after the
      // connection read it, and the connection would answer that handshake twice (kazoo then
      // reads the second ConnectResponse as the reply to its first request: "xids do not match").
      socket.off('data', firstData);
      socket.setTimeout(0);
      if (socket.destroyed) continue;
      this.accept(socket);
      socket.resume();
    }
  }

  /** The peer lost its role: clients are disconnected (they move to another server) and refused until it has one again. */
  unserve(reason: string): void {
    this.serving = false;
    this.stopTimers();
    for (const c of this.connections) c.close(reason);
  }

  private scheduleTick(): void {
    this.tickTimer = setTimeout(() => {
      if (this.guardedTimer('session expiry tick', () => this.server.tick())) this.scheduleTick();
    }, Math.max(10, this.server.msUntilNextTick()));
  }

  /**
   * Runs a timer's work; an exception there is a bug that may leave sessions or znodes half-handled,
   * so it stops the server as a failed commit does (ZooKeeper's critical threads do the same).
   * Returns whether the work completed.
   */
  private guardedTimer(what: string, work: () => void): boolean {
    try {
      work();
      return true;
    } catch (e) {
      this.fail(e as Error, `internal error in the ${what}; shutting down`);
      return false;
    }
  }

  private accept(socket: Socket): void {
    if (!this.serving) {
      // A quorum peer looking for a leader has no server to hand the connection to yet. Rather than
      // refuse it (ZooKeeper closes it, and the client backs off before trying again), it waits,
      // unread, until this peer serves (or for the handshake timeout).
      socket.on('error', () => {});
      socket.once('close', () => this.waiting.delete(socket));
      socket.setTimeout(10_000, () => socket.destroy());
      // A four-letter word is answered at once, as ZooKeeper answers it while it has no server.
      const firstData = (chunk: Buffer) => {
        socket.off('data', firstData);
        socket.pause();
        if (chunk.length >= 4 && FOUR_LETTER_CODES.has(chunk.readInt32BE(0))) {
          this.waiting.delete(socket);
          // isro has its own answer then (ZooKeeper's IsroCommand): neither rw nor ro.
          if (FOUR_LETTER_CODES.get(chunk.readInt32BE(0)) === 'isro') return void socket.end('null');
          socket.end('This ZooKeeper instance is not currently serving requests\n');
          return;
        }
        socket.unshift(chunk);
      };
      this.waiting.set(socket, firstData);
      socket.on('data', firstData);
      return;
    }
    const ip = normalizeAddress(socket.remoteAddress ?? '');
    const count = this.perIp.get(ip) ?? 0;
    if (this.config.maxClientCnxns > 0 && count >= this.config.maxClientCnxns) {
      this.log.warn({ ip, limit: this.config.maxClientCnxns }, 'too many connections from one address (maxClientCnxns)');
      socket.destroy();
      return;
    }
    // Counted down by forget(), when the connection closes (its remoteAddress is this `ip`).
    this.perIp.set(ip, count + 1);
    const conn = new Connection(socket, this, this.config.juteMaxBuffer);
    for (const id of this.certificateIds.get(socket) ?? []) addAuthId(conn.ids, id.scheme, id.id);
    this.connections.add(conn);
  }

  forget(conn: Connection): void {
    this.connections.delete(conn);
    const n = (this.perIp.get(conn.remoteAddress) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(conn.remoteAddress);
    else this.perIp.set(conn.remoteAddress, n);
  }

  fourLetter(word: string): string {
    return answerFourLetter(word, { ...this.commandContext(), server: this.server });
  }

  /** What the four-letter words and the admin server read; no server while a quorum peer has no role. */
  private commandContext(): AdminContext {
    return {
      server: this.serving ? (this.server as ZkServer | undefined) : undefined,
      config: this.config,
      secureClientPort: this.securePort,
      connections: this.connections,
      clientEndpoint: this.clientEndpoint,
      resetServerStats: () => this.server.stats.reset(),
      resetConnectionStats: () => {
        for (const c of this.connections) c.resetStats();
      },
    };
  }

  /** addauth: digest (and super through superDigest) or ip; any other scheme fails and closes. */
  onAuth(conn: Connection, xid: number, packet: records.AuthPacket): void {
    const auth = packet.auth ?? Buffer.alloc(0);
    if (packet.scheme === 'digest') {
      const id = digestId(auth.toString('utf8'));
      if (this.config.superDigest !== undefined && id === this.config.superDigest) addAuthId(conn.ids, 'super', '');
      addAuthId(conn.ids, 'digest', id);
      conn.authResult(xid, true);
    } else if (packet.scheme === 'ip') {
      conn.authResult(xid, true);
    } else {
      this.log.warn({ client: conn.describe(), scheme: packet.scheme }, 'no authentication provider for scheme');
      conn.authResult(xid, false);
    }
  }

  onSasl(conn: Connection, xid: number, token: Buffer | null): void {
    this.sasl.step(conn, xid, token ?? Buffer.alloc(0), this.server.zxid, this.log);
  }

  private async purge(): Promise<void> {
    try {
      const removed = (await this.persistence?.purge()) ?? [];
      if (removed.length > 0) this.log.info({ removed }, 'autopurge removed old snapshots and logs');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'autopurge failed');
    }
  }

  /**
   * The log cannot make txns durable, or a commit or timer failed: stop serving rather than
   * acknowledge what is not on disk or answer from a tree that may be half-changed.
   */
  private fail(err: Error, reason: string): void {
    if (this.failing) return;
    this.failing = true;
    this.log.error({ err }, reason);
    void this.stopServing().then(() => this.onFatal(err));
  }

  private async stopServing(): Promise<void> {
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.containerTimer) clearInterval(this.containerTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    for (const c of this.connections) c.close('server shutting down');
    for (const socket of this.waiting.keys()) socket.destroy();
    await this.endpoints?.close();
    this.endpoints = undefined;
    await this.closeListeners();
  }

  /** Clean shutdown: no more clients, everything logged made durable, a last snapshot. */
  async stop(): Promise<void> {
    await this.stopServing();
    await this.persistence?.close();
  }
}

/** Listens on port and address (undefined: every interface); resolves with the address and port bound. */
async function listenOn(server: Server, port: number, host: string | undefined): Promise<{ address: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  // Without an address configured, the wildcard Node chose (:: or 0.0.0.0).
  return typeof addr === 'object' && addr ? { address: addr.address, port: addr.port } : { address: host ?? '', port };
}

function readJaas(file: string, log: Logger): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    log.warn({ file, err: (e as Error).message }, 'cannot read JAAS config; SASL logins will fail');
    return '';
  }
}
