/**
 * How the election and quorum ports carry their bytes: plain TCP, or TLS with sslQuorum=true
 * (ZooKeeper's QuorumX509Util and the ssl.quorum.* settings). Everything above a socket is the same
 * either way.
 */
import { connect as netConnect, createServer as netServer, type Server, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, createServer as tlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { quorumTlsOptions } from './tls.js';

export interface QuorumTransport {
  /** A listener handing over each connection once it can carry data (after the TLS handshake and checks). */
  createServer(onSocket: (socket: Socket) => void): Server;
  /** Dials; `onReady` once the connection can carry data. Failures arrive as the socket's 'error'. */
  connect(host: string, port: number, onReady: () => void): Socket;
}

export const PLAIN_TRANSPORT: QuorumTransport = {
  createServer: (onSocket) => netServer({ noDelay: true }, onSocket),
  connect(host, port, onReady) {
    const socket = netConnect({ host, port, noDelay: true });
    socket.once('connect', onReady);
    return socket;
  },
};

/** The transport the configuration asks for. Throws ConfigError on bad ssl.quorum.* settings. */
export function quorumTransport(config: ServerConfig, log: Logger): QuorumTransport {
  if (!config.sslQuorum) return PLAIN_TRANSPORT;
  const { server, client, verifyHostnames } = quorumTlsOptions(config);
  return {
    createServer(onSocket) {
      const listener = tlsServer({ ...server, handshakeTimeout: 10_000 }, (socket: TLSSocket) => {
        // ZooKeeper's ZKTrustManager checks a peer server's certificate against the address it
        // connects from (its IP address first); zkts checks the IP address.
        const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
        const err = verifyHostnames ? checkServerIdentity(address, socket.getPeerCertificate()) : undefined;
        if (err) {
          log.warn({ peer: address, err: err.message }, 'quorum TLS: the peer\'s certificate does not name its address; closing');
          socket.destroy();
          return;
        }
        socket.setNoDelay(true);
        onSocket(socket);
      });
      listener.on('tlsClientError', (err, socket) => log.warn({ peer: socket.remoteAddress, err: err.message }, 'quorum TLS handshake failed'));
      return listener;
    },
    connect(host, port, onReady) {
      const socket = tlsConnect({ ...client, host, port });
      socket.once('secureConnect', () => {
        socket.setNoDelay(true);
        onReady();
      });
      return socket;
    },
  };
}
