import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { records } from '../jute/index.js';
import { digestId } from './auth.js';
import type { ServerConfig } from './config.js';
import { Connection, type ConnectionHost } from './connection.js';
import { answerFourLetter } from './four-letter-commands.js';
import { SaslAuthenticator } from './sasl.js';
import { ZkServer } from './zk-server.js';

/** The runtime around ZkServer: the TCP listener, per-IP connection limits, timers, auth. */
export class ZkTcpServer implements ConnectionHost {
  readonly server: ZkServer;
  private readonly listener: Server;
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly sasl: SaslAuthenticator;
  private tickTimer: NodeJS.Timeout | undefined;
  private containerTimer: NodeJS.Timeout | undefined;

  constructor(readonly config: ServerConfig, readonly log: Logger) {
    this.server = new ZkServer(config, log);
    const jaasText = config.jaasConfigFile ? readJaas(config.jaasConfigFile, log) : '';
    this.sasl = new SaslAuthenticator(jaasText);
    this.listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener.on('error', (err) => log.error({ err: err.message }, 'listener error'));
  }

  async start(): Promise<{ address: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(this.config.clientPort, this.config.clientPortAddress, () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    const addr = this.listener.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.config.clientPort;
    this.scheduleTick();
    this.containerTimer = setInterval(() => this.server.checkContainers(), this.config.containerCheckIntervalMs);
    this.containerTimer.unref();
    this.log.info({ address: this.config.clientPortAddress, port }, 'zkts listening');
    return { address: this.config.clientPortAddress, port };
  }

  private scheduleTick(): void {
    this.tickTimer = setTimeout(() => {
      this.server.tick();
      this.scheduleTick();
    }, Math.max(10, this.server.msUntilNextTick()));
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    const count = this.perIp.get(ip) ?? 0;
    if (this.config.maxClientCnxns > 0 && count >= this.config.maxClientCnxns) {
      this.log.warn({ ip, limit: this.config.maxClientCnxns }, 'too many connections from one address (maxClientCnxns)');
      socket.destroy();
      return;
    }
    this.perIp.set(ip, count + 1);
    socket.once('close', () => {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    });
    const conn = new Connection(socket, this, this.config.juteMaxBuffer);
    this.connections.add(conn);
    conn.handshakeTimeout(10_000);
  }

  forget(conn: Connection): void {
    this.connections.delete(conn);
  }

  fourLetter(word: string): string {
    return answerFourLetter(word, {
      server: this.server,
      config: this.config,
      connections: this.connections,
      resetServerStats: () => Object.assign(this.server.stats, { minLatency: 0, maxLatency: 0, totalLatency: 0, count: 0 }),
      resetConnectionStats: () => {
        for (const c of this.connections) {
          c.packetsReceived = 0;
          c.packetsSent = 0;
        }
      },
    });
  }

  /** addauth: digest (and super through superDigest) or ip; any other scheme fails and closes. */
  onAuth(conn: Connection, xid: number, packet: records.AuthPacket): void {
    const auth = packet.auth ?? Buffer.alloc(0);
    if (packet.scheme === 'digest') {
      const id = digestId(auth.toString('utf8'));
      if (this.config.superDigest !== undefined && id === this.config.superDigest) addId(conn, 'super', '');
      addId(conn, 'digest', id);
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

  async stop(): Promise<void> {
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.containerTimer) clearInterval(this.containerTimer);
    for (const c of this.connections) c.close('server shutting down');
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }
}

function addId(conn: Connection, scheme: string, id: string): void {
  if (!conn.ids.some((x) => x.scheme === scheme && x.id === id)) conn.ids.push({ scheme, id });
}

function readJaas(file: string, log: Logger): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    log.warn({ file, err: (e as Error).message }, 'cannot read JAAS config; SASL logins will fail');
    return '';
  }
}
