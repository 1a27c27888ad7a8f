import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstSessionId, sessionPassword } from '../../src/server/session-ids.js';

const hasJava = spawnSync('java', ['-version']).status === 0;
if (!hasJava && process.env.CI === 'true') throw new Error('java is required in CI for the session id tests');

const IDS = [0n, 1n, 0x0100017f2c3e0000n, 0x03000008b93d0000n, -1n, -(1n << 63n) + 5n, 0x7fffffffffffffffn, 0xb3415c00n];
const TIMES = [0, 1, 1733370000123, 2 ** 40 + 17, 2 ** 45 + 3];

/** What the JDK computes, with ZooKeeper's own formulas (ZooKeeperServer, SessionTrackerImpl). */
function javaFigures(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-sid-'));
  const src = join(dir, 'Ids.java');
  writeFileSync(
    src,
    `public class Ids {
  public static void main(String[] a) {
    for (String s : a[0].split(",")) {
      long id = Long.parseUnsignedLong(s, 16);
      byte[] p = new byte[16];
      new java.util.Random(id ^ 0xB3415C00L).nextBytes(p);
      StringBuilder b = new StringBuilder();
      for (byte x : p) b.append(String.format("%02x", x));
      System.out.println(b);
    }
    for (String s : a[1].split(",")) {
      long t = Long.parseLong(s);
      for (long sid : new long[] {0, 1, 3, 255}) {
        long next = (t << 24) >>> 8;
        next = next | (sid << 56);
        if (next == 0x8000000000000000L) ++next;
        System.out.println(Long.toHexString(next));
      }
    }
  }
}`,
  );
  const out = execFileSync('java', [src, IDS.map((i) => BigInt.asUintN(64, i).toString(16)).join(','), TIMES.join(',')], { encoding: 'utf8' });
  return out.trim().split('\n');
}

describe.skipIf(!hasJava)('session ids and passwords match Apache ZooKeeper (computed by the JDK)', () => {
  it('passwords are java.util.Random(id ^ 0xB3415C00).nextBytes(16); first ids carry the server id and the clock', () => {
    const java = javaFigures();
    const ours = [
      ...IDS.map((id) => sessionPassword(id).toString('hex')),
      ...TIMES.flatMap((t) => [0, 1, 3, 255].map((sid) => BigInt.asUintN(64, firstSessionId(sid, t)).toString(16))),
    ];
    expect(ours).toEqual(java);
  }, 60_000);
});

describe('session ids', () => {
  it('the server id is the top byte and the low 16 bits are free to count', () => {
    const id = firstSessionId(3, 1733370000123);
    expect(BigInt.asUintN(64, id) >> 56n).toBe(3n);
    expect(id & 0xffffn).toBe(0n);
  });
});
