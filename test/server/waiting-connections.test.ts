/**
 * A quorum peer with no role holds new client connections unread until it serves again. A client
 * that connected in that window but had not sent its handshake yet must get exactly one answer to
 * it: CI's kazoo run on 3-server ensembles read a second ConnectResponse as the reply to its first
 * request ("xids do not match, expected 1 received 0").
 */
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { JuteReader, OpCode, records, writeConnectRequest } from '../../src/jute/index.js';
import { startInProcess } from './harness.js';
import { frame } from '../support/wire.js';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a connection accepted while not serving, silent until the server serves, is answered once', async () => {
  const started = await startInProcess();
  stop = started.stop;
  const { server, port } = started;
  const zk = server.server;
  server.unserve('looking for a leader (test)');

  const socket = createConnection({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  // Long enough for the server to have accepted the socket into its waiting set.
  await sleep(200);
  server.serve(zk);

  const frames: Buffer[] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      frames.push(buffered.subarray(4, 4 + buffered.readInt32BE(0)));
      buffered = buffered.subarray(4 + buffered.readInt32BE(0));
    }
  });
  socket.write(
    frame((w) => writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 30_000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false })),
  );
  socket.write(
    frame((w) => {
      w.int(1);
      w.int(OpCode.exists);
      records.ExistsRequest.write(w, { path: '/', watch: false });
    }),
  );
  // The answers come at once; the wait is for a duplicate that would follow them.
  await sleep(500);
  socket.destroy();

  expect(frames).toHaveLength(2);
  expect(records.ConnectResponseBase.read(new JuteReader(frames[0]!)).sessionId).not.toBe(0n);
  const reply = records.ReplyHeader.read(new JuteReader(frames[1]!));
  expect(reply).toMatchObject({ xid: 1, err: 0 });
});
