/**
 * Idle connections are closed by one sweep of the server over all of them, not by a Node timer per
 * socket (a timer, its listener and their closures were about 0.6 KB of every idle session). The
 * sweep must keep ZooKeeper's rule: a connection that neither sends nor receives anything for its
 * session timeout is closed; one that pings is not.
 */
import { EventEmitter, once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { OpCode, Xid, writeConnectRequest } from '../../src/jute/index.js';
import pino from 'pino';
import { Connection, HANDSHAKE_TIMEOUT_MS, type ConnectionHost } from '../../src/server/connection.js';
import { defaultConfig } from '../../src/server/index.js';
import { elapsedMs } from '../../src/server/server-stats.js';
import type { ZkServer } from '../../src/server/zk-server.js';
import { startInProcess } from './harness.js';
import { frame } from '../support/wire.js';

let stop: (() => Promise<void>) | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await stop?.();
  stop = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw client that sent its ConnectRequest and got the ConnectResponse (the session is open). */
async function openSession(port: number, timeOut: number): Promise<Socket> {
  const socket = createConnection({ port, host: '127.0.0.1' });
  sockets.push(socket);
  await once(socket, 'connect');
  socket.write(frame((w) => writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false })));
  await once(socket, 'data');
  return socket;
}

/**
 * A socket that records what the connection does to it, and a host whose server opens every session
 * at once with a 1 s timeout: Connection.sweep is driven with made-up times, no clock involved
 * (session expiry, which also closes a silent client's connection, is not in play here).
 */
class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 5000;
  destroyed = false;
  ended = false;
  writableLength = 0;
  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  cork(): void {}
  uncork(): void {}
  write(_data: Buffer, cb?: (err?: Error | null) => void): boolean {
    cb?.(null);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

function fakeConnection(): { conn: Connection; socket: FakeSocket } {
  const socket = new FakeSocket();
  const server = {
    config: defaultConfig(),
    zxid: 0,
    readOnly: false,
    outstandingRequests: 0,
    stats: { packetsReceived: 0, packetsSent: 0 },
    connect: (_c: unknown, _req: unknown, done: (o: { ok: boolean; sessionId: bigint; timeout: number; passwd: Buffer }) => void) =>
      done({ ok: true, sessionId: 1n, timeout: 1000, passwd: Buffer.alloc(16) }),
  } as unknown as ZkServer;
  const host: ConnectionHost = { server, log: pino({ level: 'silent' }), fourLetter: () => '', onAuth: () => {}, onSasl: () => {}, forget: () => {} };
  const conn = new Connection(socket as unknown as Socket, host, 1 << 20);
  return { conn, socket };
}

it('the sweep closes a connection without a handshake after HANDSHAKE_TIMEOUT_MS, not before', () => {
  const { conn, socket } = fakeConnection();
  conn.sweep(elapsedMs() + HANDSHAKE_TIMEOUT_MS - 1000);
  expect(socket.ended).toBe(false);
  conn.sweep(elapsedMs() + HANDSHAKE_TIMEOUT_MS);
  expect(socket.ended).toBe(true);
});

it('the sweep closes an open connection after its session timeout without reads or writes; traffic restarts the count', () => {
  const { conn, socket } = fakeConnection();
  socket.emit('data', frame((w) => writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 1000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false })));
  expect(conn.isOpen).toBe(true);
  const t = elapsedMs() + 100_000;
  conn.sweep(t); // sees the handshake's traffic: idle from t
  conn.sweep(t + 900);
  expect(socket.ended).toBe(false);
  socket.emit('data', Buffer.from([0])); // a byte of a frame still counts as traffic
  conn.sweep(t + 1500); // idle from t + 1500
  conn.sweep(t + 2400);
  expect(socket.ended).toBe(false);
  conn.sweep(t + 2500);
  expect(socket.ended).toBe(true);
});

const ping = frame((w) => {
  w.int(Xid.ping);
  w.int(OpCode.ping);
});

it('an open idle connection has no timer or timeout listener of its own', async () => {
  const started = await startInProcess();
  stop = started.stop;
  for (let i = 0; i < 5; i++) await openSession(started.port, 30_000);
  const connections = [...started.server['connections']] as Connection[];
  expect(connections).toHaveLength(5);
  for (const c of connections) {
    const socket = c['socket'] as Socket;
    expect(socket.timeout).toBeUndefined();
    expect(socket.listenerCount('timeout')).toBe(0);
  }
});

it('closes a connection silent for its session timeout, not before, and keeps one that pings', async () => {
  // tickTime 200: session timeouts from 400 ms (2 ticks) to 4 s (20 ticks); the client asks for 1 s.
  const started = await startInProcess({ tickTime: 200 });
  stop = started.stop;
  const silent = await openSession(started.port, 1000);
  const opened = Date.now();
  const pinging = await openSession(started.port, 1000);
  const pinger = setInterval(() => pinging.write(ping), 100);
  try {
    let pingerClosed = false;
    pinging.on('close', () => (pingerClosed = true));
    await once(silent, 'close');
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1000);
    // Twice the timeout and more: the pinging client is still connected.
    await sleep(1500);
    expect(pingerClosed).toBe(false);
    expect(pinging.destroyed).toBe(false);
  } finally {
    clearInterval(pinger);
  }
});
