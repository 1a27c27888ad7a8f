/**
 * Just enough DER (ASN.1) to read what TLS needs beyond Node's tls module: the subject of a client
 * certificate (for the x509 auth scheme) and the certificates of a PKCS#12 trust store.
 */

export interface DerNode {
  /** The identifier octet: class, constructed bit and tag number (tags above 30 are not used here). */
  tag: number;
  /** The whole encoding (identifier, length and contents). */
  raw: Buffer;
  /** The contents octets. */
  body: Buffer;
}

export class DerError extends Error {
  override readonly name = 'DerError';
}

export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [0] constructed (EXPLICIT), as PKCS#12 wraps its contents. */
  CONTEXT0: 0xa0,
  /** [0] primitive (IMPLICIT OCTET STRING), as EncryptedContentInfo holds its ciphertext. */
  CONTEXT0_PRIMITIVE: 0x80,
} as const;

/** The DER element at `offset` of `buf`. */
export function readDer(buf: Buffer, offset = 0): DerNode {
  if (offset + 2 > buf.length) throw new DerError('truncated DER element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('DER tags above 30 are not supported');
  let length = buf[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw new DerError('bad DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[start + i]!;
    start += n;
  }
  if (start + length > buf.length) throw new DerError('truncated DER element');
  return { tag, raw: buf.subarray(offset, start + length), body: buf.subarray(start, start + length) };
}

/** The elements inside a constructed node (SEQUENCE, SET, [n]). */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let off = 0; off < node.body.length; ) {
    const child = readDer(node.body, off);
    out.push(child);
    off += child.raw.length;
  }
  return out;
}

/** The element of `nodes` at `i`, checked to carry `tag`. */
export function expectAt(nodes: DerNode[], i: number, tag: number, what: string): DerNode {
  const n = nodes[i];
  if (!n || n.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got ${n ? '0x' + n.tag.toString(16) : 'nothing'}`);
  return n;
}

export function oidOf(node: DerNode): string {
  if (node.tag !== TAG.OID) throw new DerError('expected an OBJECT IDENTIFIER');
  const b = node.body;
  if (b.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const parts: number[] = [];
  let value = 0;
  for (const byte of b) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - a * 40, ...parts].join('.');
}

export function integerOf(node: DerNode): number {
  if (node.tag !== TAG.INTEGER) throw new DerError('expected an INTEGER');
  let v = 0;
  for (const byte of node.body) v = v * 256 + byte;
  return v;
}
