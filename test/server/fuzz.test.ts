/**
 * Bad input over raw sockets: garbage, oversized frames, unknown opcodes, requests before the
 * handshake, truncated and slow connections. Each must close (or answer) that one connection and
 * leave the server serving everyone else, with nothing lost.
 */
import fc from 'fast-check';
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JuteReader, OpCode, records, writeConnectRequest, readConnectResponse } from '../../src/jute/index.js';
import { startInProcess } from './harness.js';
import { frame } from '../support/wire.js';

let srv: Awaited<ReturnType<typeof startInProcess>>;
beforeAll(async () => {
  srv = await startInProcess({ juteMaxBuffer: 0xfffff });
});
afterAll(async () => {
  await srv.stop();
});

function connect(): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = createConnection({ port: srv.port, host: '127.0.0.1' }, () => res(s));
    s.once('error', rej);
  });
}

/** Resolves with everything the server sent once it closes the connection (or after `ms`). */
function collectUntilClose(s: Socket, ms = 3000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((res) => {
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    const timer = setTimeout(() => res({ data: Buffer.concat(chunks), closed: false }), ms);
    s.once('close', () => {
      clearTimeout(timer);
      res({ data: Buffer.concat(chunks), closed: true });
    });
    s.on('error', () => {});
  });
}

const handshake = frame((w) =>
  writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 10000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }),
);

/** Resolves with the first `count` frames (length prefix removed) the server sends on `s`. */
function frames(s: Socket, count: number): Promise<Buffer[]> {
  const replies: Buffer[] = [];
  let buf = Buffer.alloc(0);
  return new Promise((res) => {
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const len = buf.readInt32BE(0);
        replies.push(buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
      }
      if (replies.length >= count) res(replies);
    });
  });
}

/** A fresh session that creates a node and reads it back: proof the server still serves. */
async function serverStillWorks(path: string): Promise<void> {
  const s = await connect();
  const got = frames(s, 3);
  s.write(handshake);
  s.write(frame((w) => {
    records.RequestHeader.write(w, { xid: 1, type: OpCode.create });
    records.CreateRequest.write(w, { path, data: Buffer.from('ok'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 });
  }));
  s.write(frame((w) => {
    records.RequestHeader.write(w, { xid: 2, type: OpCode.getData });
    records.GetDataRequest.write(w, { path, watch: false });
  }));
  const replies = await got;
  const conn = readConnectResponse(new JuteReader(replies[0]!));
  expect(conn.timeOut).toBe(10000);
  const create = new JuteReader(replies[1]!);
  expect(records.ReplyHeader.read(create).err).toBe(0);
  const get = new JuteReader(replies[2]!);
  expect(records.ReplyHeader.read(get)).toMatchObject({ xid: 2, err: 0 });
  expect(get.buffer()?.toString()).toBe('ok');
  s.destroy();
}

describe('bad input over raw sockets', () => {
  it('closes a connection whose frame is longer than jute.maxbuffer', async () => {
    const s = await connect();
    const done = collectUntilClose(s);
    const big = Buffer.alloc(8);
    big.writeInt32BE(0x100000 + 10, 0);
    s.write(big);
    expect((await done).closed).toBe(true);
    await serverStillWorks('/after-big-frame');
  });

  it('closes a connection with a negative frame length', async () => {
    const s = await connect();
    const done = collectUntilClose(s);
    s.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]));
    expect((await done).closed).toBe(true);
  });

  it('closes a connection whose handshake is garbage', async () => {
    const s = await connect();
    const done = collectUntilClose(s);
    s.write(frame((w) => w.raw(Buffer.from([1, 2, 3]))));
    expect((await done).closed).toBe(true);
    await serverStillWorks('/after-garbage-handshake');
  });

  it('answers an unknown opcode with UNIMPLEMENTED and closes, as ZooKeeper does', async () => {
    const s = await connect();
    const done = collectUntilClose(s);
    s.write(handshake);
    s.write(frame((w) => records.RequestHeader.write(w, { xid: 7, type: 999 })));
    const { data, closed } = await done;
    expect(closed).toBe(true);
    // The connect response, then a reply header for xid 7 with UNIMPLEMENTED (-6).
    const firstLen = data.readInt32BE(0);
    const reply = new JuteReader(data, 4 + firstLen + 4);
    expect(records.ReplyHeader.read(reply)).toMatchObject({ xid: 7, err: -6 });
  });

  it('closes a connection whose request body is truncated', async () => {
    const s = await connect();
    const done = collectUntilClose(s);
    s.write(handshake);
    s.write(frame((w) => {
      records.RequestHeader.write(w, { xid: 1, type: OpCode.create });
      w.int(100); // a path length with no path after it
    }));
    expect((await done).closed).toBe(true);
    await serverStillWorks('/after-truncated');
  });

  it('closes a connection that never completes its handshake', async () => {
    const s = await connect();
    const done = collectUntilClose(s, 15_000);
    s.write(handshake.subarray(0, 10)); // half a handshake, then silence
    expect((await done).closed).toBe(true);
  }, 20_000);

  it('survives random bytes on many connections and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (bytes, afterHandshake) => {
        const s = await connect();
        const done = collectUntilClose(s, 300);
        if (afterHandshake) s.write(handshake);
        s.write(Buffer.from(bytes));
        await done;
        s.destroy();
      }),
      { numRuns: 60 },
    );
    await serverStillWorks('/after-random');
  }, 60_000);

  it('answers a stream of requests cut at random points (frames and lengths split across reads)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 40 }), async (n, cuts) => {
        const path = `/cut-${n}-${cuts.join('.')}`.slice(0, 200);
        const requests = [
          handshake,
          frame((w) => {
            records.RequestHeader.write(w, { xid: 1, type: OpCode.create });
            records.CreateRequest.write(w, { path, data: Buffer.from('v'.repeat(n * 7)), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 });
          }),
        ];
        for (let i = 0; i < n; i++) {
          requests.push(frame((w) => {
            records.RequestHeader.write(w, { xid: 2 + i, type: OpCode.getData });
            records.GetDataRequest.write(w, { path, watch: false });
          }));
        }
        const stream = Buffer.concat(requests);
        const s = await connect();
        s.setNoDelay(true);
        const got = frames(s, n + 2);
        // Each piece is written after a pause, so the server reads it on its own.
        let at = 0;
        for (const cut of cuts) {
          if (at >= stream.length) break;
          s.write(stream.subarray(at, at + cut));
          at += cut;
          await new Promise((r) => setTimeout(r, 1));
        }
        if (at < stream.length) s.write(stream.subarray(at));
        const replies = await got;
        expect(readConnectResponse(new JuteReader(replies[0]!)).timeOut).toBe(10000);
        expect(records.ReplyHeader.read(new JuteReader(replies[1]!)).err).toBe(0);
        for (let i = 0; i < n; i++) {
          const r = new JuteReader(replies[2 + i]!);
          expect(records.ReplyHeader.read(r)).toMatchObject({ xid: 2 + i, err: 0 });
          expect(r.buffer()?.toString()).toBe('v'.repeat(n * 7));
        }
        s.destroy();
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('delivers a byte-at-a-time (slow) client its replies', async () => {
    const s = await connect();
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    for (const b of handshake) {
      s.write(Buffer.from([b]));
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 200));
    const data = Buffer.concat(chunks);
    expect(data.length).toBeGreaterThan(4);
    expect(readConnectResponse(new JuteReader(data, 4, 4 + data.readInt32BE(0))).timeOut).toBe(10000);
    s.destroy();
  });
});
