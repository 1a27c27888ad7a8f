/**
 * Errors in the commit path and in timers are fatal, as in ZooKeeper: a txn that cannot be applied
 * (or answered) may leave the tree half-changed, and its client would wait forever for the reply.
 * The server must stop serving and report it (the CLI then exits 1), not log and go on. A malformed
 * request still closes only its own connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ZkClient } from '../../src/client/index.js';
import { KeeperError, OpCode } from '../../src/jute/index.js';
import { startInProcess } from './harness.js';

type Running = Awaited<ReturnType<typeof startInProcess>>;
const running: Running[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

async function start(overrides: Parameters<typeof startInProcess>[0] = {}): Promise<{ running: Running; fatal: Promise<Error> }> {
  const r = await startInProcess(overrides);
  running.push(r);
  const fatal = new Promise<Error>((resolve) => (r.server.onFatal = resolve));
  return { running: r, fatal };
}

/** `p`'s value, or a failure naming what did not happen within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))]);
}

/** How a request ended: its reply, or the error it was rejected with. */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('fatal errors', { timeout: 20_000 }, () => {
  it('a committed txn that fails to apply stops the server: no reply, no more requests, onFatal', async () => {
    const { running: r, fatal } = await start();
    const c = await ZkClient.connect({ port: r.port });
    await c.create('/ok', Buffer.from('v0'));
    const tree = r.server.server.tree;
    const apply = tree.apply.bind(tree);
    tree.apply = (txn, events) => {
      if (txn.body.type === OpCode.setData) throw new Error('injected apply failure');
      return apply(txn, events);
    };
    // A write that fails to apply, and a read queued behind it (it waits for the write's commit).
    const write = settle(c.setData('/ok', Buffer.from('v1')));
    const read = settle(c.getData('/ok'));
    const err = await within(fatal, 10_000, 'onFatal was not called');
    expect(err.message).toBe('injected apply failure');
    const [w, rd] = await Promise.all([write, read]);
    expect(w.ok).toBe(false);
    expect(rd.ok).toBe(false);
    // The server no longer accepts connections.
    await expect(ZkClient.connect({ port: r.port, connectTimeout: 2000 })).rejects.toThrow();
  });

  it('an error answering a read queued behind a write is fatal too', async () => {
    const { running: r, fatal } = await start();
    const c = await ZkClient.connect({ port: r.port });
    await c.create('/ok', null);
    const tree = r.server.server.tree;
    const getNode = tree.getNode.bind(tree);
    let armed = false;
    tree.getNode = (path) => {
      if (armed && path === '/ok') throw new Error('injected read failure');
      return getNode(path);
    };
    const write = settle(c.create('/other', null));
    armed = true;
    const read = settle(c.getData('/ok'));
    expect((await within(fatal, 10_000, 'onFatal was not called')).message).toBe('injected read failure');
    expect((await write).ok).toBe(true);
    expect((await read).ok).toBe(false);
  });

  it('an exception in the session expiry tick stops the server', async () => {
    const { running: r, fatal } = await start({ tickTime: 50 });
    r.server.server.tick = () => {
      throw new Error('injected tick failure');
    };
    expect((await within(fatal, 10_000, 'onFatal was not called')).message).toBe('injected tick failure');
  });

  it('an exception in the container and TTL check stops the server', async () => {
    const { running: r, fatal } = await start({ containerCheckIntervalMs: 50 });
    r.server.server.checkContainers = () => {
      throw new Error('injected container check failure');
    };
    expect((await within(fatal, 10_000, 'onFatal was not called')).message).toBe('injected container check failure');
  });

  it('a malformed request queued behind a write closes only its connection', async () => {
    const { running: r, fatal } = await start();
    let fatalCalled = false;
    void fatal.then(() => (fatalCalled = true));
    const bad = await ZkClient.connect({ port: r.port });
    const good = await ZkClient.connect({ port: r.port });
    const write = settle(bad.create('/w', null));
    // A getData whose path claims 1,000 bytes and brings 3: a JuteError when it is decoded.
    const malformed = settle(bad.request(OpCode.getData, (w) => {
      w.int(1000);
      w.raw(Buffer.from('abc'));
    }));
    expect((await write).ok).toBe(true);
    const m = await malformed;
    expect(m.ok).toBe(false);
    expect(!m.ok && m.error instanceof KeeperError).toBe(true);
    expect(await good.exists('/w')).not.toBeNull();
    expect(fatalCalled).toBe(false);
    await good.close();
  });
});
