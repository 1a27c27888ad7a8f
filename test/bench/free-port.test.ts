/**
 * freePort hands out ports below the kernel's ephemeral range, so that no client connection on the
 * machine can take one before the server it is meant for binds it, and never the same port twice.
 */
import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { freePort } from '../../src/bench/servers.js';

it('ports are free, outside the ephemeral range and kazoo\'s ports, and never handed out twice', async () => {
  const ports = [];
  for (let i = 0; i < 50; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
  for (const p of ports) {
    expect(p).toBeGreaterThanOrEqual(22000);
    expect(p).toBeLessThan(30000);
  }
  // Each can be listened on.
  for (const p of ports.slice(0, 5)) {
    await new Promise<void>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => s.close(() => resolve()));
    });
  }
});
