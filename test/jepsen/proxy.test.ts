/**
 * The pieces of jepsen-lite's network and schedule that need no server: the election-handshake
 * rewrite, the link proxy's cuts (reject, blackhole, one way), and the seeded PRNG.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkProxy, rewriteInitialMessage } from '../../src/jepsen/proxy.js';
import { Rng } from '../../src/jepsen/rng.js';

function initialMessage(sid: bigint, address: string): Buffer {
  const addr = Buffer.from(address);
  const b = Buffer.alloc(20 + addr.length);
  b.writeBigInt64BE(-65536n, 0);
  b.writeBigInt64BE(sid, 8);
  b.writeInt32BE(addr.length, 16);
  addr.copy(b, 20);
  return b;
}

describe('rewriteInitialMessage', () => {
  it('replaces the address of a protocol-version-1 message and keeps what follows', () => {
    const frame = Buffer.from([0, 0, 0, 1, 7]);
    const out = rewriteInitialMessage(Buffer.concat([initialMessage(3n, '127.0.0.1:40001'), frame]), '127.0.0.1:5')!;
    expect(out.readBigInt64BE(0)).toBe(-65536n);
    expect(out.readBigInt64BE(8)).toBe(3n);
    expect(out.readInt32BE(16)).toBe('127.0.0.1:5'.length);
    expect(out.subarray(20, 31).toString()).toBe('127.0.0.1:5');
    expect(out.subarray(31)).toEqual(frame);
  });

  it('waits for a whole message, and passes other forms unchanged', () => {
    const msg = initialMessage(2n, '127.0.0.1:40001');
    expect(rewriteInitialMessage(msg.subarray(0, 7), 'x:1')).toBeUndefined();
    expect(rewriteInitialMessage(msg.subarray(0, msg.length - 1), 'x:1')).toBeUndefined();
    const bareSid = Buffer.alloc(8);
    bareSid.writeBigInt64BE(5n);
    expect(rewriteInitialMessage(bareSid, 'x:1')).toBe(bareSid);
  });
});

describe('LinkProxy', () => {
  let echo: Server;
  let proxy: LinkProxy;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await proxy?.close();
    await new Promise((r) => echo?.close(r));
  });

  async function setUp(): Promise<void> {
    echo = createServer((s) => s.on('data', (d) => s.write(d)));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const port = (echo.address() as { port: number }).port;
    proxy = new LinkProxy({ name: 'test', targetPort: port });
    await proxy.listen();
  }

  async function open(): Promise<Socket> {
    const s = connect({ host: '127.0.0.1', port: proxy.port });
    sockets.push(s);
    await once(s, 'connect');
    return s;
  }

  const reply = (s: Socket, ms: number) =>
    new Promise<string | null>((resolve) => {
      const t = setTimeout(() => resolve(null), ms);
      s.once('data', (d) => {
        clearTimeout(t);
        resolve(d.toString());
      });
    });

  it('forwards both ways, stalls one direction when cut, and delivers what waited, in order, when healed', async () => {
    await setUp();
    const s = await open();
    s.write('a');
    expect(await reply(s, 2000)).toBe('a');
    proxy.set({ forward: false, backward: true, reject: false });
    s.write('b');
    expect(await reply(s, 300)).toBeNull();
    expect(s.destroyed).toBe(false);
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    proxy.heal();
    s.write('c');
    const deadline = Date.now() + 2000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(got).toBe('bc');
  });

  it('stalls the way back too: replies wait while the backward direction is cut', async () => {
    await setUp();
    const s = await open();
    proxy.set({ forward: true, backward: false, reject: false });
    s.write('x');
    expect(await reply(s, 300)).toBeNull();
    const later = reply(s, 2000);
    proxy.heal();
    expect(await later).toBe('x');
  });

  it('rejecting drops current connections and closes new ones at once', async () => {
    await setUp();
    const s = await open();
    const closed = once(s, 'close');
    proxy.set({ forward: false, backward: false, reject: true });
    await closed;
    const t = connect({ host: '127.0.0.1', port: proxy.port });
    sockets.push(t);
    t.on('error', () => {});
    await once(t, 'close');
    proxy.heal();
    const u = await open();
    u.write('d');
    expect(await reply(u, 2000)).toBe('d');
  });

  it('rewrites the election handshake when configured to', async () => {
    echo = createServer((s) => s.on('data', (d) => s.write(d)));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    proxy = new LinkProxy({ name: 'election', targetPort: (echo.address() as { port: number }).port, rewriteElectionAddress: '127.0.0.1:9' });
    await proxy.listen();
    const s = await open();
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    const msg = initialMessage(1n, '127.0.0.1:40001');
    s.write(msg.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    s.write(msg.subarray(10));
    const deadline = Date.now() + 2000;
    while (Buffer.concat(got).length < 31 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(got).subarray(20).toString()).toBe('127.0.0.1:9');
  });
});

describe('Rng', () => {
  it('repeats its sequence for a seed, and forks repeat too', () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      const f = r.fork();
      return [r.int(1000), r.next(), f.int(1000), r.shuffle([1, 2, 3, 4, 5]).join('')];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });
});
