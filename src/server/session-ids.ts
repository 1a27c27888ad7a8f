/**
 * Session ids and passwords exactly as Apache ZooKeeper makes them, so that a session can move
 * between a zkts and a ZooKeeper server, and survive a dataDir moved between the two: ZooKeeper
 * never stores passwords, it recomputes them from the id (ZooKeeperServer.generatePasswd).
 */

const PASSWORD_SECRET = 0xb3415c00n; // ZooKeeperServer.superSecret
const PASSWORD_LENGTH = 16;

/** The password of a session: `new java.util.Random(sessionId ^ superSecret).nextBytes(16)`. */
export function sessionPassword(sessionId: bigint): Buffer {
  return new JavaRandom(sessionId ^ PASSWORD_SECRET).nextBytes(PASSWORD_LENGTH);
}

/**
 * The first session id a server hands out (SessionTrackerImpl.initializeNextSessionId): the server
 * id in the top byte, then the low 40 bits of the clock shifted up by 16, leaving 16 bits to count.
 */
export function firstSessionId(serverId: number, nowMs: number): bigint {
  const time = BigInt.asUintN(64, BigInt(Math.trunc(nowMs)) << 24n) >> 8n;
  let id = BigInt.asIntN(64, time | (BigInt(serverId) << 56n));
  // EphemeralType.CONTAINER_EPHEMERAL_OWNER (0x8000000000000000) marks containers, never a session.
  if (id === -(1n << 63n)) id += 1n;
  return id;
}

const MULTIPLIER = 0x5deece66dn;
const ADDEND = 0xbn;
const MASK48 = (1n << 48n) - 1n;

/** java.util.Random's 48-bit linear congruential generator, as far as nextBytes needs it. */
class JavaRandom {
  private seed: bigint;

  constructor(seed: bigint) {
    this.seed = (BigInt.asUintN(64, seed) ^ MULTIPLIER) & MASK48;
  }

  private nextInt(): number {
    this.seed = (this.seed * MULTIPLIER + ADDEND) & MASK48;
    return Number(BigInt.asIntN(32, this.seed >> 16n));
  }

  /** Each int fills up to four bytes, low byte first. */
  nextBytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; ) {
      let rnd = this.nextInt();
      for (let n = Math.min(length - i, 4); n-- > 0; rnd >>= 8) out[i++] = rnd & 0xff;
    }
    return out;
  }
}
