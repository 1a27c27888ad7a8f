/**
 * ZooKeeper's AdminServer (JettyAdminServer) on Node's http module: GET <commandURL> lists the
 * commands, GET <commandURL>/<name>?key=value runs one and answers its JSON. Settings:
 * admin.enableServer, admin.serverAddress, admin.serverPort, admin.commandURL, admin.idleTimeout.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import { Console } from '../console/console-api.js';
import { PRIMARY_NAMES, runCommand, type AdminContext } from './commands.js';
import { writeJson } from './json.js';

/** An HTTP listener started with the server and closed with it. */
export interface HttpEndpoint {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port; a port in use is an error naming what failed, as ZooKeeper's start fails then. */
export async function listenHttp(server: Server, host: string, port: number, what: string): Promise<HttpEndpoint> {
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(new Error(`cannot start the ${what} on ${host}:${port}: ${err.message}`));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const addr = server.address();
  return {
    address: typeof addr === 'object' && addr ? addr.address : host,
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function startAdminServer(config: ServerConfig, log: Logger, context: () => AdminContext): Promise<HttpEndpoint> {
  const base = config.adminCommandUrl === '/' ? '' : config.adminCommandUrl;
  const webConsole = config.consoleEnabled ? new Console(context) : undefined;
  const server = createServer((req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://admin');
      if (webConsole && url.pathname === '/' && base !== '') {
        res.writeHead(302, { location: '/console' }).end();
        return;
      }
      if (webConsole?.handle(req, res, url)) return;
      handle(req, res, url, base, context);
    } catch (e) {
      log.error({ err: e, url: req.url }, 'admin server: command failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(writeJson({ error: 'internal error; see the server log' }));
    }
  });
  server.keepAliveTimeout = config.adminIdleTimeout;
  server.setTimeout(config.adminIdleTimeout, (socket) => socket.destroy());
  const endpoint = await listenHttp(server, config.adminServerAddress, config.adminServerPort, 'AdminServer');
  log.info({ address: endpoint.address, port: endpoint.port, commandURL: config.adminCommandUrl, console: webConsole ? '/console' : 'off' }, 'admin server started');
  return {
    ...endpoint,
    close: async () => {
      webConsole?.close();
      await endpoint.close();
    },
  };
}

function handle(req: IncomingMessage, res: ServerResponse, url: URL, base: string, context: () => AdminContext): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  const path = url.pathname;
  if (path === base || path === `${base}/`) {
    // No command named: links to all of them, as ZooKeeper's CommandServlet prints them.
    const links = PRIMARY_NAMES.map((n) => `<a href="${base}/${n}">${n}</a>\n<br/>\n`).join('');
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' }).end(links);
    return;
  }
  if (!path.startsWith(`${base}/`)) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const name = decodeName(path.substring(base.length + 1));
  const answer = runCommand(name, context(), url.searchParams);
  res.writeHead(200, { 'content-type': 'application/json' }).end(writeJson(answer));
}

/** A command name from the URL; a malformed %-escape is kept as written (and answered as an unknown command). */
function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
