/**
 * The certificates of a PKCS#12 trust store, as `keytool -importcert -storetype PKCS12` writes one
 * (ZooKeeper's ssl.trustStore.type=PKCS12). Node's tls module reads a PKCS#12 file only as a key
 * and its chain (`pfx`), and refuses a store holding certificates alone; this reads those.
 *
 * Supported: certificate bags in plain data or encrypted with PBES2 (PBKDF2 + AES-CBC: what keytool
 * and OpenSSL 3 write) or with pbeWithSHAAnd3-KeyTripleDES-CBC; the store's MAC is checked, so a
 * wrong password is an error. RC2-40 encryption (old keytool/OpenSSL defaults) is not supported:
 * OpenSSL 3 no longer offers RC2.
 */
import { createDecipheriv, createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { children, DerError, expectAt, integerOf, oidOf, readDer, TAG, type DerNode } from './der.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbeSha3Des: '1.2.840.113549.1.12.1.3',
  pbeSha40Rc2: '1.2.840.113549.1.12.1.6',
} as const;

const HMAC_PRF: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const AES_CBC: Record<string, string> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
};

const DIGESTS: Record<string, { name: string; blockSize: number; size: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', blockSize: 64, size: 20 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', blockSize: 64, size: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', blockSize: 128, size: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', blockSize: 128, size: 64 },
};

export class Pkcs12Error extends Error {
  override readonly name = 'Pkcs12Error';
}

/** The X.509 certificates (DER) of a PKCS#12 file. Throws Pkcs12Error with the reason. */
export function pkcs12Certificates(file: Buffer, password: string): Buffer[] {
  try {
    return readCertificates(file, password);
  } catch (e) {
    if (e instanceof DerError) throw new Pkcs12Error(`not a PKCS#12 file (${e.message})`);
    throw e;
  }
}

function readCertificates(file: Buffer, password: string): Buffer[] {
  const pfx = children(readDer(file));
  if (integerOf(expectAt(pfx, 0, TAG.INTEGER, 'PFX version')) !== 3) throw new Pkcs12Error('not a PKCS#12 v3 file');
  const authSafe = children(expectAt(pfx, 1, TAG.SEQUENCE, 'PFX authSafe'));
  if (oidOf(authSafe[0]!) !== OID.data) throw new Pkcs12Error('public-key integrity mode is not supported');
  const authSafeBytes = octets(explicit(authSafe[1]));
  if (pfx[2]) checkMac(pfx[2], authSafeBytes, password);
  const certs: Buffer[] = [];
  for (const info of children(readDer(authSafeBytes))) {
    const [type, content] = children(info);
    const oid = oidOf(type!);
    let safeContents: Buffer;
    if (oid === OID.data) safeContents = octets(explicit(content));
    else if (oid === OID.encryptedData) safeContents = decryptContent(explicit(content), password);
    else continue; // enveloped data (public-key privacy) holds nothing a trust store uses
    for (const bag of children(readDer(safeContents))) {
      const [bagId, bagValue] = children(bag);
      if (oidOf(bagId!) !== OID.certBag) continue;
      const [certType, certValue] = children(explicit(bagValue));
      if (oidOf(certType!) === OID.x509Certificate) certs.push(Buffer.from(octets(explicit(certValue))));
    }
  }
  return certs;
}

function explicit(node: DerNode | undefined): DerNode {
  if (!node || node.tag !== TAG.CONTEXT0) throw new DerError('expected an explicit [0]');
  return readDer(node.body);
}

function octets(node: DerNode): Buffer {
  if (node.tag !== TAG.OCTET_STRING) throw new DerError('expected an OCTET STRING');
  return node.body;
}

/** EncryptedData: version, EncryptedContentInfo { contentType, algorithm, [0] IMPLICIT ciphertext }. */
function decryptContent(encryptedData: DerNode, password: string): Buffer {
  const eci = children(expectAt(children(encryptedData), 1, TAG.SEQUENCE, 'EncryptedContentInfo'));
  const algorithm = expectAt(eci, 1, TAG.SEQUENCE, 'content encryption algorithm');
  const ciphertext = expectAt(eci, 2, TAG.CONTEXT0_PRIMITIVE, 'encrypted content').body;
  return decrypt(algorithm, ciphertext, password);
}

function decrypt(algorithm: DerNode, ciphertext: Buffer, password: string): Buffer {
  const [oidNode, params] = children(algorithm);
  const oid = oidOf(oidNode!);
  try {
    if (oid === OID.pbes2) return decryptPbes2(params!, ciphertext, password);
    if (oid === OID.pbeSha3Des) {
      const [salt, iterations] = children(params!);
      const s = octets(salt!);
      const n = integerOf(iterations!);
      const key = pkcs12Kdf(password, s, n, 1, 24, 'sha1', 64, 20);
      const iv = pkcs12Kdf(password, s, n, 2, 8, 'sha1', 64, 20);
      const d = createDecipheriv('des-ede3-cbc', key, iv);
      return Buffer.concat([d.update(ciphertext), d.final()]);
    }
  } catch (e) {
    if (e instanceof Pkcs12Error || e instanceof DerError) throw e;
    throw new Pkcs12Error(`cannot decrypt the certificates (wrong password?): ${(e as Error).message}`);
  }
  if (oid === OID.pbeSha40Rc2) {
    throw new Pkcs12Error('certificates encrypted with RC2-40 (an old default) are not supported; re-create the store with a current keytool or `openssl pkcs12 -export` (OpenSSL 3)');
  }
  throw new Pkcs12Error(`unsupported encryption algorithm ${oid}`);
}

function decryptPbes2(params: DerNode, ciphertext: Buffer, password: string): Buffer {
  const [kdf, scheme] = children(params);
  const [kdfOid, kdfParams] = children(kdf!);
  if (oidOf(kdfOid!) !== OID.pbkdf2) throw new Pkcs12Error(`unsupported PBES2 key derivation ${oidOf(kdfOid!)}`);
  const p = children(kdfParams!);
  const salt = octets(p[0]!);
  const iterations = integerOf(p[1]!);
  let i = 2;
  if (p[i]?.tag === TAG.INTEGER) i++; // keyLength: implied by the cipher
  const prf = p[i] ? HMAC_PRF[oidOf(children(p[i]!)[0]!)] : 'sha1';
  if (!prf) throw new Pkcs12Error('unsupported PBKDF2 pseudo-random function');
  const [cipherOid, iv] = children(scheme!);
  const cipher = AES_CBC[oidOf(cipherOid!)];
  if (!cipher) throw new Pkcs12Error(`unsupported PBES2 cipher ${oidOf(cipherOid!)}`);
  const keyLength = Number(/aes-(\d+)/.exec(cipher)![1]) / 8;
  // PBES2 takes the password's UTF-8 bytes (the PKCS#12 KDF takes BMPString instead).
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, keyLength, prf);
  const d = createDecipheriv(cipher, key, octets(iv!));
  return Buffer.concat([d.update(ciphertext), d.final()]);
}

/** MacData { DigestInfo { algorithm, digest }, macSalt, iterations }: a wrong password fails here. */
function checkMac(macData: DerNode, content: Buffer, password: string): void {
  const [digestInfo, salt, iterations] = children(macData);
  const [alg, digest] = children(digestInfo!);
  const hash = DIGESTS[oidOf(children(alg!)[0]!)];
  if (!hash) throw new Pkcs12Error('unsupported MAC digest');
  const n = iterations ? integerOf(iterations) : 1;
  const key = pkcs12Kdf(password, octets(salt!), n, 3, hash.size, hash.name, hash.blockSize, hash.size);
  const mac = createHmac(hash.name, key).update(content).digest();
  const expected = octets(digest!);
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
    throw new Pkcs12Error('integrity check failed: wrong password (or a corrupt file)');
  }
}

/** RFC 7292 appendix B.2: the PKCS#12 key derivation, from the password as a NUL-terminated BMPString. */
function pkcs12Kdf(password: string, salt: Buffer, iterations: number, id: number, size: number, hashName: string, v: number, u: number): Buffer {
  const pw = password === '' ? Buffer.alloc(0) : Buffer.from(password + '\u0000', 'utf16le').swap16();
  const fill = (src: Buffer): Buffer => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  let I = Buffer.concat([fill(salt), fill(pw)]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < size; produced += u) {
    let A = createHash(hashName).update(Buffer.concat([D, I])).digest();
    for (let r = 1; r < iterations; r++) A = createHash(hashName).update(A).digest();
    out.push(A);
    const B = fill(A).subarray(0, v);
    const next = Buffer.alloc(I.length);
    for (let j = 0; j < I.length; j += v) {
      // I_j = (I_j + B + 1) mod 2^(8v)
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        next[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
    I = next;
  }
  return Buffer.concat(out).subarray(0, size);
}
