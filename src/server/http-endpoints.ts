/**
 * The HTTP side of a server, each on when configured: ZooKeeper's AdminServer
 * (admin.enableServer) and the Prometheus metrics endpoint (metricsProvider.className).
 */
import type { Logger } from 'pino';
import { startAdminServer, type HttpEndpoint } from './admin/admin-server.js';
import type { AdminContext } from './admin/commands.js';
import type { ServerConfig } from './config.js';
import { startPrometheus } from './metrics/prometheus.js';
import type { ServerStats } from './server-stats.js';

export class HttpEndpoints {
  private constructor(
    readonly admin: HttpEndpoint | undefined,
    readonly metrics: (HttpEndpoint & { attach(stats: ServerStats): void; scrape(): Promise<string> }) | undefined,
  ) {}

  /** Starts what `config` turns on; if one fails to start, the other is closed and the error thrown. */
  static async start(config: ServerConfig, log: Logger, context: () => AdminContext): Promise<HttpEndpoints> {
    const admin = config.adminEnableServer ? await startAdminServer(config, log, context) : undefined;
    try {
      const metrics = config.prometheus ? await startPrometheus(config, log, context) : undefined;
      return new HttpEndpoints(admin, metrics);
    } catch (e) {
      await admin?.close();
      throw e;
    }
  }

  /** A quorum peer serves through a new server at each role: its figures feed the metrics from now on. */
  attach(stats: ServerStats): void {
    this.metrics?.attach(stats);
  }

  async close(): Promise<void> {
    await Promise.all([this.admin?.close(), this.metrics?.close()]);
  }
}
