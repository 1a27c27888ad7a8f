/** How a znode's ephemeralOwner encodes its kind, as ZooKeeper's EphemeralType does. */
export const CONTAINER_OWNER = -(2n ** 63n);
const EXTENDED_MASK = BigInt.asIntN(64, 0xff00000000000000n);
const RESERVED_BITS_MASK = 0x00ffff0000000000n;
const TTL_VALUE_MASK = 0x000000ffffffffffn;
export const MAX_TTL = Number(TTL_VALUE_MASK);

export type EphemeralKind = 'void' | 'normal' | 'container' | 'ttl';

export function ephemeralKind(owner: bigint, extendedTypesEnabled: boolean): EphemeralKind {
  if (owner === 0n) return 'void'; // most nodes; the masks below would allocate BigInts
  if (extendedTypesEnabled && (owner & EXTENDED_MASK) === EXTENDED_MASK && (owner & RESERVED_BITS_MASK) === 0n) {
    return 'ttl';
  }
  if (owner === CONTAINER_OWNER) return 'container';
  return owner === 0n ? 'void' : 'normal';
}

export function ttlOwner(ttl: number): bigint {
  return EXTENDED_MASK | BigInt(ttl);
}

export function ttlOf(owner: bigint): number {
  return Number(owner & TTL_VALUE_MASK);
}

export function isValidTtl(ttl: number): boolean {
  return ttl > 0 && ttl <= MAX_TTL;
}
